// The client session fed what a server sends, in fuzzer-chosen chunks, both
// profiles: either raw fuzzer bytes (a hostile or broken server), or an
// honest server's hello and frames (DATA, PADDING, TIMING, CLOSE, chosen by
// the fuzzer) that the fuzzer then edits, so the code behind the
// handshake is reached. Invariants (fuzz/session_helpers.h) plus: nothing
// delivered that the server did not send, all of it when nothing was
// edited.
// Input: [mode][profile][backend][seed][chunking][...].
#include <cstdint>
#include <vector>

#include "fuzz/session_helpers.h"
#include "fuzz/stream_helpers.h"

using namespace reflex;
using Bytes = std::vector<uint8_t>;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::FuzzInput in(data, size);
  const bool honest = in.Bool();
  const uint8_t choice = in.U8();
  const Profile profile = choice & 1 ? Profile::kV1Compat : Profile::kV2;
  const AeadBackend backend = fuzz::FuzzBackend(choice >> 1);
  const uint64_t seed = in.U8();
  const std::vector<size_t> chunks = fuzz::ChooseChunking(in);
  testing::FakeClock clock(1700000000, 1000);
  testing::SeededRandom client_random(seed);
  ClientSession client({profile, testing::TestUser(1), backend, {}}, clock, client_random);
  FUZZ_CHECK(client.Start() == Error::kOk, "client start");

  Bytes stream;
  Bytes sent;
  bool edited = false;
  if (!honest) {
    stream = in.Rest();
  } else {
    testing::SeededRandom server_random(seed + 7);
    const auto context = fuzz::FuzzServerContext(profile == Profile::kV1Compat,
                                                 profile == Profile::kV2, backend);
    ServerSession server(*context, clock, server_random);
    const auto hello = client.PendingOutput();
    Bytes h(hello.begin(), hello.end());
    size_t used = 0;
    SessionEvent e;
    FUZZ_CHECK(server.Receive(h, &used, &e) == Error::kOk &&
                   e.kind == SessionEventKind::kHandshakeDone,
               "the honest server refused the honest client");
    const auto reply = server.PendingOutput();
    stream.assign(reply.begin(), reply.end());
    Bytes out(kMaxFrameBytes);
    const int frames = in.U8() % 6;
    for (int i = 0; i < frames; ++i) {
      const uint8_t what = in.U8() % 4;
      Bytes payload = in.Bytes(in.U16() % 3000);
      size_t w = 0;
      const FrameType type = what == 0   ? FrameType::kData
                             : what == 1 ? FrameType::kPadding
                             : what == 2 ? FrameType::kTiming
                                         : FrameType::kClose;
      if (type == FrameType::kClose) payload.clear();
      if (server.Seal(type, payload, out, &w) != Error::kOk) continue;
      stream.insert(stream.end(), out.begin(), out.begin() + static_cast<ptrdiff_t>(w));
      if (type == FrameType::kData) sent.insert(sent.end(), payload.begin(), payload.end());
      if (type == FrameType::kClose) break;
    }
    const Bytes before = stream;
    fuzz::Mutate(in, stream);
    edited = stream != before;
  }

  fuzz::SessionRecord record;
  size_t at = 0;
  for (size_t i = 0; at < stream.size(); ++i) {
    const size_t n = std::min(chunks[i % chunks.size()], stream.size() - at);
    fuzz::FeedChecked(client, std::span<const uint8_t>(stream).subspan(at, n), record);
    at += n;
  }
  for (SessionEventKind k : record.events) {
    FUZZ_CHECK(k != SessionEventKind::kFallback && k != SessionEventKind::kRequest,
               "a client reported a server-side event");
  }
  FUZZ_CHECK(std::equal(record.delivered.begin(), record.delivered.end(), sent.begin(),
                        sent.begin() + static_cast<ptrdiff_t>(std::min(sent.size(), record.delivered.size()))) &&
                 record.delivered.size() <= std::max(sent.size(), honest ? size_t{0} : record.delivered.size()),
             "delivered bytes the server did not send");
  if (honest && !edited) {
    FUZZ_CHECK(record.delivered == sent, "an honest stream lost data");
  }
  return 0;
}
