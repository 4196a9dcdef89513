#include "tools/vector_kinds.h"

#include "tools/checks.h"
#include "tools/generators.h"

namespace reflex::tools {
namespace {

FieldSpec Hex(const char* name, size_t size = 0) { return {name, FieldType::kHex, size}; }
FieldSpec U64(const char* name) { return {name, FieldType::kU64}; }
FieldSpec I64(const char* name) { return {name, FieldType::kI64}; }
FieldSpec Int(const char* name, int64_t min, int64_t max) {
  return {name, FieldType::kInt, 0, min, max};
}
FieldSpec Frames(const char* name) { return {name, FieldType::kFrames}; }
// Given by invalid tests too.
FieldSpec Always(FieldSpec f) {
  f.required_always = true;
  return f;
}
// Left out by valid tests too.
FieldSpec Optional(FieldSpec f) {
  f.required_when_valid = false;
  return f;
}
// Only invalid tests may name their error, and need not.
const FieldSpec kErrorField = {"error", FieldType::kError, 0, 0, 0, false};

// The kinds both profiles define alike; the wire profile their checks and
// generators are given makes the difference.
std::vector<FieldSpec> FrameFields() {
  return {Always(Hex("key", 32)), Always(U64("counter")), Always(Hex("wire")),
          Int("frame_type", 0, 255), Hex("payload"), kErrorField};
}
std::vector<FieldSpec> FrameStreamFields() {
  return {Always(Hex("key", 32)), Always(U64("first_counter")), Always(Hex("wire")),
          Frames("frames"), kErrorField};
}
std::vector<FieldSpec> DatagramFields() {
  return {Always(Hex("encoded")), Int("address_type", 0, 255), Hex("address"), Int("port", 0, 65535),
          Hex("data"), kErrorField};
}
std::vector<FieldSpec> RequestHeaderFields() {
  return {Always(Hex("encoded")), Hex("trailing"), Int("command", 0, 255), Int("port", 0, 65535),
          Int("address_type", 0, 255), Hex("address"), kErrorField};
}

// FORMAT.md is the prose of this table.
std::vector<VectorKind> MakeVectorKinds() {
  constexpr Profile kV1 = Profile::kV1Compat;
  constexpr Profile kV2 = Profile::kV2;
  return {
      {kV1, "client_handshake",
       {Always(Hex("encoded")), Hex("public_key", 32), Hex("user_id", 16), I64("timestamp"),
        Hex("nonce", 16), kErrorField},
       CheckClientHandshakeV1, GenerateClientHandshakesV1},
      {kV1, "server_handshake",
       {Always(Hex("encoded")), Hex("public_key", 32), I64("timestamp"), kErrorField},
       CheckServerHandshakeV1, GenerateServerHandshakesV1},
      {kV1, "key_schedule",
       {Hex("client_private", 32), Hex("server_private", 32), Hex("client_public", 32),
        Hex("server_public", 32), Hex("shared_secret", 32), Hex("session_key", 32), kErrorField},
       CheckKeyScheduleV1, GenerateKeySchedulesV1},
      {kV1, "frame", FrameFields(), CheckFrame, GenerateFrames},
      {kV1, "frame_stream", FrameStreamFields(), CheckFrameStream, GenerateFrameStreams},
      {kV1, "request_header", RequestHeaderFields(), CheckRequestHeader, GenerateRequestHeaders},
      {kV1, "datagram", DatagramFields(), CheckDatagram, GenerateDatagrams},
      // v2: the client's side of message 1 is given by the fields it was
      // made from (user, ephemeral private key, timestamp, nonce).
      {kV2, "client_handshake",
       {Always(Hex("encoded")), Always(Hex("user_id", 16)), Hex("client_private", 32),
        I64("timestamp"), Hex("nonce", 16), Optional(Hex("reserved", 4)), kErrorField},
       CheckClientHandshakeV2, GenerateClientHandshakesV2},
      {kV2, "server_handshake",
       {Always(Hex("encoded")), Always(Hex("user_id", 16)), Always(Hex("client_private", 32)),
        Always(I64("timestamp")), Always(Hex("nonce", 16)), Hex("server_private", 32),
        kErrorField},
       CheckServerHandshakeV2, GenerateServerHandshakesV2},
      {kV2, "key_schedule",
       {Always(Hex("user_id", 16)), Hex("psk", 32), Hex("client_private", 32),
        Hex("client_public", 32), Hex("server_private", 32), Hex("server_public", 32),
        Always(I64("timestamp")), Always(Hex("nonce", 16)), Hex("handshake_hash", 32),
        Hex("c2s_key", 32), Hex("s2c_key", 32), kErrorField},
       CheckKeyScheduleV2, GenerateKeySchedulesV2},
      {kV2, "frame", FrameFields(), CheckFrame, GenerateFrames},
      {kV2, "frame_stream", FrameStreamFields(), CheckFrameStream, GenerateFrameStreams},
      {kV2, "request_header", RequestHeaderFields(), CheckRequestHeader, GenerateRequestHeaders},
      {kV2, "datagram", DatagramFields(), CheckDatagram, GenerateDatagrams},
      // The first flight's shape around message 1 (SPEC 11.8); host and
      // path are ASCII, in hex like every byte field.
      {kV2, "first_flight",
       {Always(Int("shape", 0, 2)), Always(Hex("host")), Always(Hex("path")), Always(Hex("encoded")),
        Hex("message1", 76), Optional(Hex("filler", 20)), Optional(Hex("user_id", 16)), kErrorField},
       CheckFirstFlight, GenerateFirstFlights},
  };
}

}  // namespace

const std::vector<VectorKind>& VectorKinds() {
  static const std::vector<VectorKind> kinds = MakeVectorKinds();
  return kinds;
}

const VectorKind* FindVectorKind(std::string_view profile, std::string_view kind) {
  Profile p = Profile::kV1Compat;
  if (!ProfileFromName(profile, &p)) return nullptr;
  for (const VectorKind& k : VectorKinds()) {
    if (k.profile == p && kind == k.kind) return &k;
  }
  return nullptr;
}

}  // namespace reflex::tools
