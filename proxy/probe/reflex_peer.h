// The probe's own Reflex endpoints, built on the library's sessions but
// driven byte by byte over a BlockingSocket, so a scenario can send any
// bytes it likes (split hellos, reordered or tampered frames) and see
// exactly what comes back:
//   ClientPeer: the probe as a client, against a server under test;
//   ServerPeer: the probe as a server, for a client under test.
#ifndef REFLEX_PROXY_PROBE_REFLEX_PEER_H_
#define REFLEX_PROXY_PROBE_REFLEX_PEER_H_

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "proxy/probe/blocking_socket.h"
#include "proxy/probe/report.h"
#include "reflex/client_session.h"
#include "reflex/random.h"
#include "reflex/server_session.h"
#include "reflex/session_types.h"

namespace reflex::proxy::probe {

inline constexpr std::chrono::milliseconds kReadTimeout{5000};

// The system clock moved by a fixed number of seconds (a skewed client).
class SkewedClock final : public Clock {
 public:
  explicit SkewedClock(int64_t skew_seconds) : skew_(skew_seconds) {}
  int64_t UnixSeconds() const override { return system_.UnixSeconds() + skew_; }
  int64_t MonotonicMillis() const override { return system_.MonotonicMillis(); }

 private:
  SystemClock system_;
  int64_t skew_;
};

// What a peer received, decrypted, since it was last asked.
struct Received {
  Bytes data;
  std::vector<Bytes> payloads;  // each DATA frame's payload (a UDP association's datagrams)
  bool connected = false;    // client: the server's empty DATA connect result
  bool peer_closed = false;  // CLOSE arrived
  uint8_t close_code = 0;
  bool ended = false;        // the TCP stream ended (or was reset)
  Error error = Error::kOk;  // a frame failed to open
};

class ClientPeer {
 public:
  ClientPeer(const HostPort& server, Profile profile, const UserId& user, int64_t skew_seconds = 0,
             const FirstFlight& first_flight = {});

  bool connected() const { return socket_.connected(); }
  BlockingSocket& socket() { return socket_; }
  // The hello (made at construction); Handshake sends it in `pieces`
  // (sizes adding up to its length; all at once if empty), a millisecond
  // apart, and reads the server hello.
  const Bytes& hello() const { return hello_; }
  Verdict Handshake(const std::vector<size_t>& pieces = {});
  // The request frame (header, then `data`); then AwaitConnected reads the
  // server's connect result (data arriving with it is kept for Read).
  Verdict Request(const RequestHeader& request, std::span<const uint8_t> data = {});
  Verdict AwaitConnected();
  // A frame's wire bytes (uses the next counter); empty if refused.
  Bytes Seal(FrameType type, std::span<const uint8_t> payload);
  Bytes SealClose();
  // Sends `data` as DATA frames of at most the maximum payload.
  bool SendData(std::span<const uint8_t> data);
  // Reads until `data_bytes` of data arrived, or (with until_close) CLOSE,
  // or the stream ended, a frame failed, or `timeout` passed.
  Received Read(size_t data_bytes, bool until_close, std::chrono::milliseconds timeout = kReadTimeout);
  // Reads until `frames` DATA frames arrived (SPEC 15's datagrams), or
  // CLOSE, the end, a failed frame, or `timeout`.
  Received ReadFrames(size_t frames, std::chrono::milliseconds timeout = kReadTimeout);
  // Every byte received from the server so far, as it arrived (before
  // decryption): to reflect a frame back.
  const Bytes& raw() const { return raw_; }

 private:
  Received ReadUntil(const std::function<bool(const Received&)>& done, std::chrono::milliseconds timeout);
  bool Feed(Received* r);

  SkewedClock clock_;
  Csprng random_;
  BlockingSocket socket_;
  std::optional<ClientSession> session_;
  Bytes hello_;
  Bytes buffer_;
  Bytes raw_;
  Bytes carry_;  // data received before a Read asked for it
};

class ServerPeer {
 public:
  // Accepts hellos of `profile` from `user`, on an accepted connection.
  ServerPeer(BlockingSocket socket, Profile profile, const UserId& user, const FirstFlight& first_flight = {});

  BlockingSocket& socket() { return socket_; }
  // Reads the client hello (kept as hello()) and answers it (a failure
  // names the error when the session refused it).
  Verdict Handshake();
  const Bytes& hello() const { return hello_; }
  // Reads until the request arrived (its header, then any data).
  Verdict AwaitRequest(RequestHeader* request, Bytes* data);
  Bytes Seal(FrameType type, std::span<const uint8_t> payload);
  Bytes SealConnectResult(uint8_t code);
  Bytes SealClose();
  Received Read(size_t data_bytes, bool until_close, std::chrono::milliseconds timeout = kReadTimeout);
  Received ReadFrames(size_t frames, std::chrono::milliseconds timeout = kReadTimeout);

 private:
  Received ReadUntil(const std::function<bool(const Received&)>& done, std::chrono::milliseconds timeout);
  bool Feed(Received* r, RequestHeader* request, bool* got_request);

  SystemClock clock_;
  Csprng random_;
  BlockingSocket socket_;
  size_t hello_bytes_;  // the client's first flight: v1's 76 or v2's shape
  std::unique_ptr<ServerContext> context_;
  std::optional<ServerSession> session_;
  Bytes hello_;
  Bytes buffer_;
};

}  // namespace reflex::proxy::probe

#endif  // REFLEX_PROXY_PROBE_REFLEX_PEER_H_
