#include "reflex/crypto_init.h"

#include <sodium.h>

namespace reflex {

Error InitCrypto() {
  // sodium_init returns 0 on the first success and 1 when already done.
  static const bool ok = sodium_init() >= 0;
  return ok ? Error::kOk : Error::kCryptoInitFailed;
}

}  // namespace reflex
