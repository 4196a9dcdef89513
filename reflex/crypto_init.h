// One-time initialization of the crypto libraries (libsodium; OpenSSL 3
// needs none for libcrypto). Every entry point of reflex/ that needs it
// calls it and reports crypto_init_failed; programs may call it first to
// fail early. Thread-safe and idempotent.
#ifndef REFLEX_CRYPTO_INIT_H_
#define REFLEX_CRYPTO_INIT_H_

#include "reflex/error.h"

namespace reflex {

Error InitCrypto();

}  // namespace reflex

#endif  // REFLEX_CRYPTO_INIT_H_
