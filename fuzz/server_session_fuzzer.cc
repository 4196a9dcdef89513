// The server session fed fuzzer bytes in fuzzer-chosen chunks, with a
// fuzzer-chosen clock, both profiles. Two modes:
//  - raw: the bytes are whatever the fuzzer made (probes, garbage);
//  - honest: an honest client (fixed seeds, so keys are known) makes a
//    hello and frames the fuzzer chooses (request, data, padding, timing,
//    close); the fuzzer then edits the stream (flips, cuts, inserts), so
//    the code behind authentication is reached.
// Invariants (fuzz/session_helpers.h): a fallback carries exactly every
// byte consumed; no event after a final one; and here, nothing delivered
// that the client did not send: delivered data is always a prefix of what
// the client sealed, all of it when the stream was not edited.
// Input: [mode][profiles][backend][seed][chunking][clock][...]; the
// profiles byte also chooses a shared replay store and its verdict.
#include <cstdint>
#include <vector>

#include "fuzz/session_helpers.h"
#include "fuzz/stream_helpers.h"

using namespace reflex;
using Bytes = std::vector<uint8_t>;

namespace {

RequestHeader Header(fuzz::FuzzInput& in) {
  RequestHeader h;
  h.command = 1;
  h.port = in.U16();
  h.address_type = AddressType::kDomain;
  h.address_length = static_cast<uint8_t>(1 + in.U8() % 40);
  for (size_t i = 0; i < h.address_length; ++i) h.address[i] = static_cast<uint8_t>('a' + i % 26);
  return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::FuzzInput in(data, size);
  const bool honest = in.Bool();
  const uint8_t profiles = in.U8();
  const bool v1 = profiles & 1, v2 = profiles & 2;
  const AeadBackend backend = fuzz::FuzzBackend(profiles >> 2);
  const uint64_t seed = in.U8();
  const std::vector<size_t> chunks = fuzz::ChooseChunking(in);
  testing::FakeClock clock(1700000000 + static_cast<int8_t>(in.U8()), 1000);
  testing::SeededRandom server_random(seed + 1000);
  // Seeds below 64 (most of the corpus) keep the raw first flight.
  const FirstFlight shape = fuzz::FuzzFirstFlight(static_cast<uint8_t>(seed >> 6));
  // Bit 3: a shared replay store, whose verdict bits 4 and up choose.
  const bool shared = profiles & 8;
  const auto context = fuzz::FuzzServerContext(v1, v2, backend, shape, shared);
  ServerSession server(*context, clock, server_random);

  Bytes stream;
  Bytes sent;  // application data the client sealed, in order
  bool edited = false;
  if (!honest) {
    stream = in.Rest();
  } else {
    testing::FakeClock client_clock(1700000000, 1000);
    testing::SeededRandom client_random(seed);
    const Profile profile = (v1 && !v2) || (v1 && in.Bool()) ? Profile::kV1Compat : Profile::kV2;
    ClientSession client({profile, testing::TestUser(1 + in.U8() % 3), backend, shape}, client_clock,
                         client_random);
    FUZZ_CHECK(client.Start() == Error::kOk, "client start");
    const auto hello = client.PendingOutput();
    stream.assign(hello.begin(), hello.end());
    // The client needs the server hello to seal: run an honest twin server
    // with the same seed, whose hello equals the one the fuzzed server will
    // send (same clock, same random stream, same context kind).
    testing::SeededRandom twin_random(seed + 1000);
    const auto twin_context = fuzz::FuzzServerContext(v1, v2, backend, shape);
    ServerSession twin(*twin_context, clock, twin_random);
    Bytes copy = stream;
    size_t used = 0;
    SessionEvent e;
    FUZZ_CHECK(twin.Receive(copy, &used, &e) == Error::kOk, "twin");
    if (e.kind == SessionEventKind::kHandshakeDone) {
      const auto reply = twin.PendingOutput();
      Bytes r(reply.begin(), reply.end());
      size_t n = 0;
      FUZZ_CHECK(client.Receive(r, &n, &e) == Error::kOk &&
                     e.kind == SessionEventKind::kHandshakeDone,
                 "the honest client refused the honest server");
      Bytes out(kMaxFrameBytes);
      const int frames = in.U8() % 6;
      for (int i = 0; i < frames; ++i) {
        const uint8_t what = in.U8() % 5;
        Bytes payload = in.Bytes(in.U16() % 3000);
        size_t w = 0;
        Error err = Error::kOk;
        if (i == 0) {  // only the first DATA frame carries the request header
          err = client.SealRequest(Header(in), payload, out, &w);
        } else if (what == 4) {
          err = client.SealClose(out, &w);
          payload.clear();
        } else {
          const FrameType type = what <= 1 ? FrameType::kData
                                 : what == 2 ? FrameType::kPadding
                                             : FrameType::kTiming;
          err = client.Seal(type, payload, out, &w);
          if (type != FrameType::kData) payload.clear();
        }
        if (err != Error::kOk) continue;  // e.g. closed
        stream.insert(stream.end(), out.begin(), out.begin() + static_cast<ptrdiff_t>(w));
        sent.insert(sent.end(), payload.begin(), payload.end());
      }
    }
    const Bytes before = stream;
    fuzz::Mutate(in, stream);
    edited = stream != before;
  }

  fuzz::SessionRecord record;
  if (shared) record.replay_verdict = static_cast<ReplayVerdict>((profiles >> 4) % 3);
  size_t at = 0;
  for (size_t i = 0; at < stream.size(); ++i) {
    const size_t n = std::min(chunks[i % chunks.size()], stream.size() - at);
    fuzz::FeedChecked(server, std::span<const uint8_t>(stream).subspan(at, n), record);
    at += n;
    clock.Advance(in.U8() * 10);
    if (in.U8() % 8 == 0) {
      SessionEvent e;
      const Error err = server.OnTimer(&e);
      FUZZ_CHECK(err == (record.finished ? Error::kInvalidArgument : Error::kOk), "OnTimer");
      if (e.kind == SessionEventKind::kFallback) {
        FUZZ_CHECK(e.reason == Error::kHandshakeTimeout, "a timer fallback for another reason");
        FUZZ_CHECK(Bytes(e.fallback_bytes.begin(), e.fallback_bytes.end()) == record.consumed,
                   "the timer's fallback did not get every byte consumed");
        record.finished = true;
      }
    }
  }
  FUZZ_CHECK(record.delivered.size() <= sent.size() || !honest,
             "delivered more than the client sent");
  if (honest) {
    FUZZ_CHECK(std::equal(record.delivered.begin(), record.delivered.end(), sent.begin()),
               "delivered bytes the client did not send");
    if (!edited && record.handshake_done) {
      FUZZ_CHECK(record.delivered == sent, "an honest stream lost data");
    }
  } else {
    FUZZ_CHECK(record.delivered.empty() || record.handshake_done, "data without a handshake");
  }
  return 0;
}
