// How one direction of frames is protected: the nonce layout of its profile
// and the AEAD backend. Shared by FrameSealer, FrameOpener and FrameDecoder.
#ifndef REFLEX_FRAME_CIPHER_H_
#define REFLEX_FRAME_CIPHER_H_

#include "reflex/aead.h"
#include "reflex/frame_nonce.h"

namespace reflex {

struct FrameCipherOptions {
  NonceLayout nonce_layout = NonceLayout::kV1;
  AeadBackend backend = DefaultAeadBackend();
};

// The options of profile v2 (Noise nonces) with the given backend.
inline FrameCipherOptions NoiseFrameOptions(AeadBackend backend = DefaultAeadBackend()) {
  return {NonceLayout::kNoise, backend};
}

}  // namespace reflex

#endif  // REFLEX_FRAME_CIPHER_H_
