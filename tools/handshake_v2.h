// The v2 handshake as the v2 checks drive it from a test's fields: through
// the codec's functions, through the reference model, and through the
// client and server sessions. Every v2 kind runs some of these steps on the
// test's own bytes and the rest on what an earlier step wrote, so the steps
// return their verdicts and leave judging them to the checks. Internal to
// //tools:vectors.
#ifndef REFLEX_TOOLS_HANDSHAKE_V2_H_
#define REFLEX_TOOLS_HANDSHAKE_V2_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>

#include "reflex/aead.h"
#include "reflex/client_session.h"
#include "reflex/error.h"
#include "reflex/hello_v2.h"
#include "reflex/key_schedule.h"
#include "reflex/random.h"
#include "reflex/reference_model.h"
#include "reflex/session_types.h"
#include "tools/vector_file.h"

namespace reflex::tools {

UserId UserOf(const VectorTest& t);
KeyPair PairOf(const Bytes& private_key);
// timestamp, nonce and (when given) reserved.
HelloPayloadV2 PayloadOf(const VectorTest& t);

// The codec's handshake for the test's user and hello payload.
class CodecHandshakeV2 {
 public:
  explicit CodecHandshakeV2(const VectorTest& t) : t_(t), user_(UserOf(t)) {}

  // The client writes message 1 with this ephemeral key.
  Error WriteClientHello(const Bytes& client_private);
  // A server prepared for the test's user alone reads message 1 (a failed
  // preparation is reported as the read's error).
  Error ReadClientHello(std::span<const uint8_t> hello);
  // The server answers the message 1 it read with this ephemeral key.
  Error WriteServerHello(const Bytes& server_private);
  // The client reads message 2.
  Error ReadServerHello(std::span<const uint8_t> reply);

  const Bytes& client_hello() const { return client_hello_; }
  const Bytes& server_hello() const { return server_hello_; }
  const HelloPayloadV2& read_payload() const { return read_.payload; }
  const TransportKeysV2& client_keys() const { return client_keys_; }
  const TransportKeysV2& server_keys() const { return server_keys_; }

 private:
  const VectorTest& t_;
  UserId user_;
  Bytes client_hello_ = Bytes(kClientHelloBytesV2);
  noise::HandshakeState client_;
  ClientHelloV2 read_;
  Bytes server_hello_ = Bytes(kServerHelloBytesV2);
  TransportKeysV2 client_keys_, server_keys_;
};

// What one side of the reference model's handshake derived.
struct ReferenceKeysV2 {
  Bytes c2s, s2c, handshake_hash;
};

// The same steps through the reference model.
class ReferenceHandshakeV2 {
 public:
  explicit ReferenceHandshakeV2(const VectorTest& t) : t_(t) {}

  Error WriteClientHello(const Bytes& client_private);
  // Message 1 from a public key alone (a low-order one): no DH needed.
  Error WriteClientHelloWithPublic(const Bytes& client_public);
  Error ReadClientHello(const Bytes& hello);
  Error WriteServerHello(const Bytes& server_private);
  Error ReadServerHello(const Bytes& reply);

  const Bytes& client_hello() const { return client_hello_; }
  const Bytes& server_hello() const { return server_hello_; }
  int64_t read_timestamp() const { return read_timestamp_; }
  const Bytes& read_nonce() const { return read_nonce_; }
  const ReferenceKeysV2& client_keys() const { return client_keys_; }
  const ReferenceKeysV2& server_keys() const { return server_keys_; }

 private:
  const VectorTest& t_;
  Bytes client_hello_, server_hello_;
  reference::StateV2 client_, server_;
  int64_t read_timestamp_ = 0;
  Bytes read_nonce_;
  ReferenceKeysV2 client_keys_, server_keys_;
};

// "session/sodium", "session/openssl": the sessions drive the same
// functions end to end.
std::string SessionName(AeadBackend backend);

// The clock and random source of the sessions the checks drive: a
// vector fixes the time and every "random" byte.
class FixedClock final : public Clock {
 public:
  explicit FixedClock(int64_t unix_seconds) : unix_(unix_seconds) {}
  int64_t UnixSeconds() const override { return unix_; }
  int64_t MonotonicMillis() const override { return 0; }

 private:
  int64_t unix_;
};

// Hands out exactly the bytes it was given, in order (the ephemeral keys
// and nonces a vector names), then zeros.
class ScriptedRandom final : public RandomSource {
 public:
  explicit ScriptedRandom(Bytes script) : script_(std::move(script)) {}
  void Fill(std::span<uint8_t> out) override;

 private:
  Bytes script_;
  size_t at_ = 0;
};

// A client session drawing exactly the test's client_private then nonce,
// at the test's timestamp: it must send exactly the message 1 the test's
// fields make.
class ScriptedClientV2 {
 public:
  ScriptedClientV2(const VectorTest& t, AeadBackend backend);
  ClientSession& session() { return session_; }

 private:
  FixedClock clock_;
  ScriptedRandom random_;
  ClientSession session_;
};

// The event of a scripted client session that sent its hello and was
// given reply.
SessionEvent ClientSessionReads(const VectorTest& t, AeadBackend backend, const Bytes& reply);

// The event of a server session for user alone, at time now, drawing
// ephemeral_private, that was given hello; what it answered in *reply when
// reply is not null.
SessionEvent ServerSessionReads(const UserId& user, AeadBackend backend, int64_t now,
                                const Bytes& ephemeral_private, const Bytes& hello,
                                Bytes* reply);

}  // namespace reflex::tools

#endif  // REFLEX_TOOLS_HANDSHAKE_V2_H_
