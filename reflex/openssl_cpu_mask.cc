#include "reflex/openssl_cpu_mask.h"

#include <unistd.h>

#include <cstdlib>

namespace reflex {

void MaskOpensslIfma(char** argv) {
  if (std::getenv("OPENSSL_ia32cap") != nullptr) return;
  if (setenv("OPENSSL_ia32cap", kOpensslIfmaMask, /*overwrite=*/0) != 0) return;
  execv("/proc/self/exe", argv);
  // Still here: the program runs on with OpenSSL as it was loaded.
}

}  // namespace reflex
