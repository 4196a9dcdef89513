// ClientSession: the Reflex client (outbound) side of one connection,
// sans-IO. Start() makes the client hello (PendingOutput); the caller sends
// it, feeds what the server sends to Receive, and after kHandshakeDone seals
// its request (SealRequest), then data, then CLOSE. Clock and randomness
// are injected.
//
// After a kError event the session is finished: every later call returns
// invalid_argument and reports nothing.
#ifndef REFLEX_CLIENT_SESSION_H_
#define REFLEX_CLIENT_SESSION_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "reflex/aead.h"
#include "reflex/error.h"
#include "reflex/first_flight.h"
#include "reflex/frame_channel.h"
#include "reflex/key_schedule.h"
#include "reflex/morph.h"
#include "reflex/noise.h"
#include "reflex/random.h"
#include "reflex/session_types.h"

namespace reflex {

struct ClientConfig {
  Profile profile = Profile::kV2;
  UserId user{};
  AeadBackend backend = DefaultAeadBackend();
  // v2's first flight on the wire (SPEC 11.8), the server's; v1-compat
  // sends its hello as the Go original does, whatever this says.
  FirstFlight first_flight;
};

class ClientSession {
 public:
  ClientSession(const ClientConfig& config, const Clock& clock, RandomSource& random);
  ~ClientSession();
  ClientSession(const ClientSession&) = delete;
  ClientSession& operator=(const ClientSession&) = delete;

  // Makes the client hello: v2, a Noise message 1 whose payload is the
  // clock's time, a fresh 16-byte nonce and 4 zero bytes; v1-compat, the
  // 76-byte hello with a fresh nonce. invalid_argument when called twice.
  Error Start();
  std::span<const uint8_t> PendingOutput() const;
  void ConsumeOutput(size_t n);

  // The server hello (40 or 48 bytes) -> kHandshakeDone or kError
  // (auth_failed, low_order_point); then frames, decrypted in place (keep
  // a receive buffer of at least kMaxFrameBytes). ok, or invalid_argument
  // before Start or once finished.
  Error Receive(std::span<uint8_t> input, size_t* consumed, SessionEvent* event);

  // Once established: the first DATA frame (request header, then data),
  // then any frames (FrameChannel); invalid_argument before.
  Error SealRequest(const RequestHeader& request, std::span<const uint8_t> data,
                    std::span<uint8_t> out, size_t* written);
  Error Seal(FrameType type, std::span<const uint8_t> payload, std::span<uint8_t> out,
             size_t* written);
  Error SealClose(std::span<uint8_t> out, size_t* written, uint8_t code = 0);
  Error SealShaped(Shaper& shaper, std::span<const uint8_t> data, std::span<uint8_t> out,
                   ShapedOutput* result);

  bool established() const { return channel_.has_value(); }
  bool finished() const { return state_ == State::kFinished; }
  const PublicKey& ephemeral_public_key() const { return ephemeral_.public_key; }
  // Whether the handshake's secrets are still held (the ephemeral private
  // key; v2: the Noise state with its PSK and chaining key). From Start
  // until the server hello is read, whatever its outcome; then they are
  // wiped (SPEC.md section 4: no longer needed).
  bool holds_handshake_secrets() const;

 private:
  enum class State : uint8_t { kIdle, kHello, kEstablished, kFinished };

  Error StartV1();
  Error StartV2();
  Error FinishHandshake();
  Error OpenChannel();
  size_t server_hello_size() const;

  ClientConfig config_;
  const Clock* clock_;
  RandomSource* random_;
  State state_ = State::kIdle;
  KeyPair ephemeral_;
  std::optional<noise::HandshakeState> handshake_;  // v2, from Start to the server hello
  std::array<uint8_t, kMaxFirstFlightBytes> output_{};
  size_t output_size_ = 0;
  size_t output_sent_ = 0;
  std::array<uint8_t, kServerHelloBytesV2> reply_{};
  size_t reply_have_ = 0;
  std::optional<FrameChannel> channel_;
};

}  // namespace reflex

#endif  // REFLEX_CLIENT_SESSION_H_
