#include "tools/handshake_v2.h"

#include <algorithm>
#include <memory>

#include "reflex/server_session.h"
#include "tools/checks.h"

namespace reflex::tools {
namespace {

// What v2 tests that give no reserved bytes mean: the zero ones.
Bytes ReservedOf(const VectorTest& t) {
  return t.Has("reserved") ? t.HexField("reserved") : Bytes(4, 0);
}

std::unique_ptr<ServerContext> OneUserServer(const UserId& user, AeadBackend backend) {
  ServerConfig config;
  config.users = {user};
  config.backend = backend;
  config.replay_capacity = 16;
  std::unique_ptr<ServerContext> context;
  (void)ServerContext::Create(config, &context);
  return context;
}

// The bytes a scripted client session draws, in the order it draws them.
Bytes ClientScript(const VectorTest& t) {
  Bytes script = t.HexField("client_private");
  const Bytes& nonce = t.HexField("nonce");
  script.insert(script.end(), nonce.begin(), nonce.end());
  return script;
}

}  // namespace

UserId UserOf(const VectorTest& t) {
  UserId id{};
  std::ranges::copy(t.HexField("user_id"), id.begin());
  return id;
}

KeyPair PairOf(const Bytes& private_key) {
  KeyPair pair;
  (void)KeyPairFromPrivate(Fixed<32>(private_key), &pair);
  return pair;
}

HelloPayloadV2 PayloadOf(const VectorTest& t) {
  HelloPayloadV2 p;
  p.timestamp = t.I64Field("timestamp");
  std::ranges::copy(t.HexField("nonce"), p.nonce.begin());
  if (t.Has("reserved")) std::ranges::copy(t.HexField("reserved"), p.reserved.begin());
  return p;
}

Error CodecHandshakeV2::WriteClientHello(const Bytes& client_private) {
  return WriteClientHelloV2(user_, PairOf(client_private), PayloadOf(t_),
                            std::span<uint8_t, kClientHelloBytesV2>(client_hello_), &client_);
}

Error CodecHandshakeV2::ReadClientHello(std::span<const uint8_t> hello) {
  noise::HandshakeState prepared;
  if (const Error e = PrepareServerHandshakeV2(user_, &prepared); e != Error::kOk) return e;
  const noise::HandshakeState users[] = {prepared};
  return ReadClientHelloV2(users, hello, &read_);
}

Error CodecHandshakeV2::WriteServerHello(const Bytes& server_private) {
  return WriteServerHelloV2(read_.state, PairOf(server_private),
                            std::span<uint8_t, kServerHelloBytesV2>(server_hello_), &server_keys_);
}

Error CodecHandshakeV2::ReadServerHello(std::span<const uint8_t> reply) {
  return ReadServerHelloV2(client_, reply, &client_keys_);
}

Error ReferenceHandshakeV2::WriteClientHello(const Bytes& client_private) {
  return reference::WriteClientHelloV2(t_.HexField("user_id"), client_private, t_.I64Field("timestamp"),
                                  t_.HexField("nonce"), ReservedOf(t_), &client_hello_, &client_);
}

Error ReferenceHandshakeV2::WriteClientHelloWithPublic(const Bytes& client_public) {
  return reference::WriteClientHelloWithPublicV2(t_.HexField("user_id"), client_public,
                                            t_.I64Field("timestamp"), t_.HexField("nonce"),
                                            ReservedOf(t_), &client_hello_);
}

Error ReferenceHandshakeV2::ReadClientHello(const Bytes& hello) {
  size_t user = 0;
  return reference::ReadClientHelloV2({t_.HexField("user_id")}, hello, &user, &read_timestamp_,
                                      &read_nonce_, &server_);
}

Error ReferenceHandshakeV2::WriteServerHello(const Bytes& server_private) {
  return reference::WriteServerHelloV2(server_, server_private, &server_hello_, &server_keys_.c2s,
                                  &server_keys_.s2c, &server_keys_.handshake_hash);
}

Error ReferenceHandshakeV2::ReadServerHello(const Bytes& reply) {
  return reference::ReadServerHelloV2(client_, reply, &client_keys_.c2s, &client_keys_.s2c,
                                      &client_keys_.handshake_hash);
}

std::string SessionName(AeadBackend backend) {
  return "session/" + std::string(AeadBackendName(backend));
}

void ScriptedRandom::Fill(std::span<uint8_t> out) {
  for (uint8_t& b : out) b = at_ < script_.size() ? script_[at_++] : 0;
}

ScriptedClientV2::ScriptedClientV2(const VectorTest& t, AeadBackend backend)
    : clock_(t.I64Field("timestamp")),
      random_(ClientScript(t)),
      session_({Profile::kV2, UserOf(t), backend, {}}, clock_, random_) {}

SessionEvent ClientSessionReads(const VectorTest& t, AeadBackend backend, const Bytes& reply) {
  ScriptedClientV2 client(t, backend);
  SessionEvent event;
  if (client.session().Start() != Error::kOk) return event;
  Bytes in = reply;
  size_t used = 0;
  (void)client.session().Receive(in, &used, &event);
  return event;
}

SessionEvent ServerSessionReads(const UserId& user, AeadBackend backend, int64_t now,
                                const Bytes& ephemeral_private, const Bytes& hello,
                                Bytes* reply) {
  const auto context = OneUserServer(user, backend);
  FixedClock clock(now);
  ScriptedRandom random(ephemeral_private);
  ServerSession server(*context, clock, random);
  Bytes in = hello;
  size_t used = 0;
  SessionEvent event;
  if (server.Receive(in, &used, &event) == Error::kOk && reply != nullptr) {
    const auto out = server.PendingOutput();
    reply->assign(out.begin(), out.end());
  }
  return event;
}

}  // namespace reflex::tools
