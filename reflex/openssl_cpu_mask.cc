#include "reflex/openssl_cpu_mask.h"

#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>

namespace reflex {
namespace {

// Whether this process runs its own program, not one that the dynamic
// loader was asked to run (ld.so PROGRAM): /proc/self/exe is then ld.so,
// and executing it with our arguments would not start us again.
bool StartedDirectly() {
  char exe[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return false;
  exe[n] = '\0';
  const char* base = std::strrchr(exe, '/');
  return std::strncmp(base != nullptr ? base + 1 : exe, "ld-", 3) != 0;
}

}  // namespace

void MaskOpensslIfma(char** argv) {
  if (std::getenv("OPENSSL_ia32cap") != nullptr) return;
#if defined(__x86_64__)
  // Nothing to mask on a CPU without the extension: no new execution.
  if (!__builtin_cpu_supports("avx512ifma")) return;
#else
  return;
#endif
  if (!StartedDirectly()) return;
  if (setenv("OPENSSL_ia32cap", kOpensslIfmaMask, /*overwrite=*/0) != 0) return;
  execv("/proc/self/exe", argv);
  // Still here: the program runs on with OpenSSL as it was loaded.
}

}  // namespace reflex
