// OpenSSL's AVX-512 IFMA code (its Poly1305 in base 2^52) masked for a
// program, by the documented OPENSSL_ia32cap variable. Measured on an
// AVX-512 IFMA Xeon (README, "Small frames"): that Poly1305 costs more to
// set up than it saves below a few KiB, so a 64-byte message's seal + open
// took 1.34 us with it and 0.79 us without, a 1400-byte one 2.2 and 1.8 us,
// while 16 KiB ran the same. Interactive traffic is small frames.
#ifndef REFLEX_OPENSSL_CPU_MASK_H_
#define REFLEX_OPENSSL_CPU_MASK_H_

namespace reflex {

// The value set: ":" keeps the detected first capability vector;
// "~0x200000" clears bit 21 of the second (CPUID leaf 7 EBX: AVX512IFMA).
inline constexpr char kOpensslIfmaMask[] = ":~0x200000";

// Call first in main(). libcrypto reads OPENSSL_ia32cap once, as it is
// loaded, before main() runs (and the C library resets the environment
// after a .preinit_array entry could set it), so a process started without
// the variable, on a CPU with AVX512IFMA, sets it and executes itself again
// (/proc/self/exe, same arguments, same process id); nothing else has
// happened yet. A value already set is the operator's and is kept
// (OPENSSL_ia32cap=:~0 keeps OpenSSL's own choice; see OPENSSL_ia32cap(3)).
// Not done when the dynamic loader runs the program (ld.so PROGRAM). If the
// new execution cannot start (no /proc, a policy that forbids it), the
// program goes on unmasked. A sandbox that confines the program must let it
// execute itself, or set the variable in its unit.
void MaskOpensslIfma(char** argv);

}  // namespace reflex

#endif  // REFLEX_OPENSSL_CPU_MASK_H_
