// How one direction of frames is protected: its profile (counters, nonce
// layout) and the AEAD backend. Shared by FrameSealer, FrameOpener and
// FrameDecoder. There is no default profile: every caller names one.
#ifndef REFLEX_FRAME_CIPHER_H_
#define REFLEX_FRAME_CIPHER_H_

#include "reflex/aead.h"
#include "reflex/frame_nonce.h"
#include "reflex/profile.h"

namespace reflex {

struct FrameCipherOptions {
  // Implicit: a WireProfile alone means the default backend.
  FrameCipherOptions(const WireProfile& p, AeadBackend b = DefaultAeadBackend())  // NOLINT
      : profile(p), backend(b) {}
  WireProfile profile;
  AeadBackend backend;
};

}  // namespace reflex

#endif  // REFLEX_FRAME_CIPHER_H_
