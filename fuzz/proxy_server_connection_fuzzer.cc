// The proxy server's connection handler (proxy/server_handler.h: hello,
// fallback, target, relay, watchdog, pooled buffers) over the in-memory
// transport, so the handler's code, not only the session's, is fuzzed.
// Two modes:
//  - raw: the client's bytes are the fuzzer's, in fuzzer-chosen chunks,
//    then its end of stream;
//  - honest: an honest client (library session, fixed seeds) completes the
//    handshake and request, then the fuzzer plays both ends: the client's
//    frames (data, padding, timing, close, bit flips, junk, vanishing
//    mid-frame) and the target's bytes and end of stream.
// Invariants: the fallback, when dialed, receives exactly every byte the
// client sent, then its end of stream; the target receives a prefix of the
// data the client sealed (all of it unless the stream was damaged) and the
// client a prefix of what the target sent; the handler ends once both
// ends have closed, with every buffer and state back in its pool.
// Input: [mode][profile][user][chunk size][ops...].
#include <cstdint>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "fuzz/fuzz_input.h"
#include "proxy/testing/server_harness.h"
#include "reflex/crypto_init.h"

using namespace reflex;
using namespace reflex::proxy;
using namespace reflex::proxy::testing;

namespace {

bool IsPrefix(const Bytes& prefix, const Bytes& whole) {
  return prefix.size() <= whole.size() && std::equal(prefix.begin(), prefix.end(), whole.begin());
}

void CheckAllReturned(ServerHarness& h) {
  h.Poll();
  FUZZ_CHECK(h.running() == 0, "the handler ended once both ends closed");
  FUZZ_CHECK(h.buffers_outstanding() == 0, "every buffer back in the pool");
  FUZZ_CHECK(h.states_outstanding() == 0, "every connection state back in the pool");
}

void RawMode(fuzz::FuzzInput& in) {
  // v2 only: a v1 hello is only magic, a user id and a timestamp, which a
  // fuzzer could write; a v2 hello needs a user's PSK.
  ServerConfig config = HarnessServerConfig();
  config.profiles = {Profile::kV2};
  ServerHarness h(config);
  MemoryPeer& client = h.Connect();
  const size_t chunk = 1 + in.U8();
  const Bytes stream = in.Rest();
  for (size_t at = 0; at < stream.size(); at += chunk) {
    client.Send(std::span<const uint8_t>(stream).subspan(at, std::min(chunk, stream.size() - at)));
    h.Poll();
  }
  client.CloseSend();
  h.Poll();
  FUZZ_CHECK(h.dialer().dialed().size() == 1, "an unauthenticated stream goes to the fallback");
  auto& fallback = h.dialer().dialed()[0];
  FUZZ_CHECK(fallback.target.host == "fallback.test", "the fallback, not a target");
  FUZZ_CHECK(fallback.peer.Take() == stream, "the fallback receives every byte, in order");
  FUZZ_CHECK(fallback.peer.HandlerClosed(), "then the client's end of stream");
  FUZZ_CHECK(client.Take().empty(), "nothing is sent to a refused connection");
  fallback.peer.CloseSend();
  CheckAllReturned(h);
}

void HonestMode(fuzz::FuzzInput& in) {
  ServerHarness h;
  const Profile profile = in.Bool() ? Profile::kV1Compat : Profile::kV2;
  HonestClient c(h, profile, TestUser(1 + in.U8() % 2));
  // Whole: a genuine client writes its hello in one piece (SPEC 12.1).
  FUZZ_CHECK(c.Handshake(), "an honest hello is accepted");
  const Bytes request_data = in.Bytes(in.U8());
  FUZZ_CHECK(c.Request(RequestTo("target.test", 443), request_data), "request");
  FUZZ_CHECK(h.dialer().dialed().size() == 1, "the request reaches its target");
  MemoryPeer& target = h.dialer().dialed()[0].peer;

  Bytes sealed_up = request_data;  // data the client sealed, in order
  Bytes sent_down;   // what the target sent
  Bytes got_up = target.Take();
  bool damaged = false, target_closed = false, vanished = false;
  while (!in.empty() && !vanished) {
    switch (in.U8() % 9) {
      case 0:
      case 1: {
        const Bytes data = in.Bytes(in.U16() % 20000);
        const Bytes frame = c.Seal(FrameType::kData, std::span<const uint8_t>(data).first(
                                                         std::min(data.size(), kMaxPayloadBytes)));
        if (frame.empty()) break;  // sealing after CLOSE is refused
        c.SendRaw(frame);
        sealed_up.insert(sealed_up.end(), data.begin(),
                         data.begin() + static_cast<ptrdiff_t>(std::min(data.size(), kMaxPayloadBytes)));
        break;
      }
      case 2: {
        const Bytes frame = c.Seal(in.Bool() ? FrameType::kPadding : FrameType::kTiming,
                                   in.Bytes(in.U8()));
        if (!frame.empty()) c.SendRaw(frame);
        break;
      }
      case 3: {  // a frame with one bit flipped
        Bytes frame = c.Seal(FrameType::kData, in.Bytes(1 + in.U8()));
        if (frame.empty()) break;
        const size_t bit = in.U16() % (frame.size() * 8);
        frame[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
        c.SendRaw(frame);
        damaged = true;
        break;
      }
      case 4:  // junk between frames
        c.SendRaw(in.Bytes(1 + in.U8()));
        damaged = true;
        break;
      case 5: {
        const Bytes data = in.Bytes(in.U16() % 40000);
        if (target_closed) break;  // a closed stream sends nothing more
        target.Send(data);
        sent_down.insert(sent_down.end(), data.begin(), data.end());
        h.Poll();
        break;
      }
      case 6:
        if (!target_closed) target.CloseSend();
        target_closed = true;
        h.Poll();
        break;
      case 7: {
        const Bytes frame = c.SealClose();
        if (!frame.empty()) c.SendRaw(frame);
        break;
      }
      case 8: {  // the client vanishes mid-frame
        const Bytes frame = c.Seal(FrameType::kData, in.Bytes(1 + in.U8()));
        if (!frame.empty()) c.SendRaw(std::span<const uint8_t>(frame).first(frame.size() / 2));
        vanished = true;
        damaged = true;
        break;
      }
    }
    const Bytes up = target.Take();
    got_up.insert(got_up.end(), up.begin(), up.end());
    (void)c.Receive();
  }
  c.peer().CloseSend();
  if (!target_closed) target.CloseSend();
  h.Poll();
  const Bytes up = target.Take();
  got_up.insert(got_up.end(), up.begin(), up.end());
  (void)c.Receive();
  FUZZ_CHECK(h.dialer().dialed().size() == 1, "one target, never a second connection");
  FUZZ_CHECK(IsPrefix(got_up, sealed_up), "the target receives only data the client sealed, in order");
  FUZZ_CHECK(IsPrefix(c.data(), sent_down), "the client receives only what the target sent, in order");
  if (!damaged) {
    FUZZ_CHECK(got_up == sealed_up, "an undamaged stream delivers all the client's data");
    FUZZ_CHECK(c.data() == sent_down, "and all the target's");
  }
  CheckAllReturned(h);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool ready = InitCrypto() == Error::kOk;
  FUZZ_CHECK(ready, "crypto init");
  SetLogLevel(LogLevel::kError);
  fuzz::FuzzInput in(data, size);
  if (in.Bool()) {
    HonestMode(in);
  } else {
    RawMode(in);
  }
  return 0;
}
