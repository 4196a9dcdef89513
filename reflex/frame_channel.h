// FrameChannel: an established Reflex connection as one side sees it, once
// the handshake has given it keys: the sealer of what this side sends, the
// opener of what it receives, the CLOSE state of each direction and, on the
// server, the request header at the start of the client's first DATA frame.
// Used by ClientSession and ServerSession; sans-IO, caller memory only.
#ifndef REFLEX_FRAME_CHANNEL_H_
#define REFLEX_FRAME_CHANNEL_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "reflex/error.h"
#include "reflex/frame_cipher.h"
#include "reflex/frame_opener.h"
#include "reflex/frame_sealer.h"
#include "reflex/key_schedule.h"
#include "reflex/morph.h"
#include "reflex/request_header.h"
#include "reflex/session_types.h"

namespace reflex {

// One morphing slot as sealed by SealShaped.
struct ShapedOutput {
  size_t data_taken = 0;  // bytes of the caller's data it carries
  size_t wire_bytes = 0;  // bytes written to out: exactly the slot's size
  int64_t send_at_ms = 0;
};

// The largest slot a morphing profile draws, plus nothing: SealShaped needs
// an output buffer at least this large.
inline constexpr size_t kMaxMorphSlotBytes = 1500;

// Both directions start at the profile's first counter.
struct ChannelKeys {
  SessionKey send_key;
  SessionKey receive_key;
  FrameCipherOptions options;
};

class FrameChannel {
 public:
  // The server side expects the request header at the start of the
  // client's first DATA frame; the client side expects the server's connect
  // result (SPEC.md 13.4) before data.
  enum class Side : uint8_t { kClient, kServer };
  FrameChannel(const ChannelKeys& keys, Side side);

  // Opens frames at the start of input, in place, until one gives an event
  // or more bytes are needed (kNone). PADDING and TIMING are swallowed,
  // empty DATA too. *consumed: the bytes of every frame handled. An error
  // (kError event) is final: later calls report it again.
  void Receive(std::span<uint8_t> input, size_t* consumed, SessionEvent* event);

  // Seals one frame into out (errors as FrameSealer::SealInto, and closed
  // after SealClose). The payload may already sit at out[3..].
  Error Seal(FrameType type, std::span<const uint8_t> payload, std::span<uint8_t> out,
             size_t* written);
  // The client's first DATA frame: the request header, then data.
  Error SealRequest(const RequestHeader& request, std::span<const uint8_t> data,
                    std::span<uint8_t> out, size_t* written);
  // CLOSE: this side's direction is finished; nothing may be sealed after.
  // A non-zero code travels as its payload (SPEC.md 13.4).
  Error SealClose(std::span<uint8_t> out, size_t* written, uint8_t code = 0);
  // Server: the outcome of connecting to the request's target: kConnectOk
  // seals an empty DATA frame, any other code a CLOSE carrying it.
  Error SealConnectResult(uint8_t code, std::span<uint8_t> out, size_t* written);
  // One morphing slot (morph.h): a DATA frame with as much of data as fits
  // and, where data runs short, a PADDING frame of zeros, exactly the
  // slot's size in all. data must not be empty; out must hold
  // kMaxMorphSlotBytes (buffer_too_small otherwise).
  Error SealShaped(Shaper& shaper, int64_t now_ms, std::span<const uint8_t> data,
                   std::span<uint8_t> out, ShapedOutput* result);

  bool peer_closed() const { return peer_closed_; }
  bool closed() const { return closed_; }
  Error error() const { return opener_.error(); }

 private:
  FrameSealer sealer_;
  FrameOpener opener_;
  Side side_;
  bool request_seen_ = false;
  bool connect_result_seen_ = false;
  bool peer_closed_ = false;
  bool closed_ = false;
};

}  // namespace reflex

#endif  // REFLEX_FRAME_CHANNEL_H_
