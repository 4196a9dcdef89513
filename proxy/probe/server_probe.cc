// reflex probe server: the scenarios against a server under test.
#include <atomic>
#include <cstring>
#include <memory>
#include <thread>

#include "proxy/probe/listeners.h"
#include "proxy/probe/probe.h"
#include "proxy/probe/reflex_peer.h"
#include "proxy/probe/report.h"
#include "proxy/probe/udp_scenarios.h"
#include "reflex/hello.h"
#include "reflex/hello_v2.h"
#include "reflex/reference_model.h"
#include "reflex/wire.h"

namespace reflex::proxy::probe {

namespace {

using namespace std::chrono_literals;

// The echo sends this after the tunnel's end of stream reached it: seeing
// it arrive after the probe's CLOSE shows the other direction stayed open.
constexpr char kTrailer[] = "reflex-probe: the other direction is still open\n";

Bytes B(std::string_view s) { return Bytes(s.begin(), s.end()); }

Bytes RandomBytes(size_t n) {
  Bytes b(n);
  Csprng().Fill(b);
  return b;
}

// What differs, for messages: "N bytes instead of M", or "M bytes that
// differ from byte i on".
std::string Diff(const Bytes& expected, const Bytes& got) {
  if (expected.size() != got.size()) {
    return std::to_string(got.size()) + " bytes instead of " + std::to_string(expected.size());
  }
  for (size_t i = 0; i < expected.size(); ++i) {
    if (expected[i] != got[i]) {
      return std::to_string(got.size()) + " bytes that differ from byte " + std::to_string(i) + " on";
    }
  }
  return "the same bytes";
}

class ServerProbe {
 public:
  explicit ServerProbe(const ServerProbeOptions& o)
      : o_(o),
        capture_(o.fallback_listen, RecordingListener::Mode::kCapture),
        echo_(o.echo_listen, RecordingListener::Mode::kEcho, kTrailer),
        echo6_({"::1", 0}, RecordingListener::Mode::kEcho, kTrailer) {}

  Verdict Ready() {
    if (!capture_.ok()) return Verdict::Fail("cannot listen on " + FormatHostPort(o_.fallback_listen) + ": " + capture_.error());
    if (!echo_.ok()) return Verdict::Fail("cannot listen on " + FormatHostPort(o_.echo_listen) + ": " + echo_.error());
    return Verdict::Pass();
  }

  std::vector<Scenario> Scenarios();

 private:
  RequestHeader EchoRequest() const {
    RequestHeader r;
    (void)RequestHeaderFor({o_.echo_listen.host, echo_.port()}, &r);
    return r;
  }
  ClientPeer Peer(int64_t skew = 0) const {
    return ClientPeer(o_.target, o_.profile, o_.user, skew, o_.first_flight);
  }
  // The first flight's size: v1's hello, or v2's in the server's shape.
  size_t HelloBytes() const {
    return o_.profile == Profile::kV1Compat ? kClientHelloBytesV1 : FirstFlightBytes(o_.first_flight);
  }
  std::chrono::milliseconds SilenceWait() const { return o_.hello_wait + 5000ms; }

  // An honest session: the hello in `pieces`, a request (with `first`
  // in its frame), `data` as DATA frames, everything echoed back intact,
  // then CLOSE and the echo's trailer after it.
  Verdict Honest(const Bytes& data, const std::vector<size_t>& pieces = {},
                     std::optional<RequestHeader> request = std::nullopt, const Bytes& first = {},
                     RecordingListener* echo = nullptr);
  // The capture's first connection past `from` that carries anything must
  // hold exactly `sent` and end when the probe ends; the probe must
  // receive nothing.
  Verdict FallbackGot(size_t from, BlockingSocket& s, const Bytes& sent,
                          std::chrono::milliseconds wait = 5000ms);
  // A genuine hello in two writes, the second once the fallback has the
  // first `first[0]` bytes: every byte must reach the fallback.
  Verdict SplitHelloFallsBack(const std::vector<size_t>& first);
  // A hello (and more) on a new connection must reach the fallback whole.
  Verdict Refused(const Bytes& sent);
  // The same on a connection already open (a ClientPeer's), opened when
  // the capture had `from` connections: a server may dial its fallback as
  // soon as it accepts (SPEC 12.1), before anything is sent.
  Verdict RefusedOn(size_t from, BlockingSocket& s, const Bytes& sent);
  // A good session, DATA "before", then what `attack` sends: the target
  // receives "before" and `extra` only, the server closes, and the next
  // session works.
  Verdict Hostile(const std::function<void(ClientPeer&)>& attack, const Bytes& extra = {});

  ServerProbeOptions o_;
  RecordingListener capture_;
  RecordingListener echo_;
  RecordingListener echo6_;
};

Verdict ServerProbe::Honest(const Bytes& data, const std::vector<size_t>& pieces,
                                std::optional<RequestHeader> request, const Bytes& first,
                                RecordingListener* echo) {
  if (echo == nullptr) echo = &echo_;
  const size_t n = echo->count() + 1;
  ClientPeer c = Peer();
  if (Verdict e = c.Handshake(pieces); e.failed()) return e.Within("handshake");
  if (Verdict e = c.Request(request.value_or(EchoRequest()), first); e.failed()) return e;
  if (Verdict e = c.AwaitConnected(); e.failed()) return e;
  if (!c.SendData(data)) return Verdict::Fail("the server closed while the probe sent data");
  Bytes all = first;
  all.insert(all.end(), data.begin(), data.end());
  const Received r = c.Read(all.size(), false);
  if (r.data != all) {
    return Verdict::Fail(
        "the echo came back wrong: " + Diff(all, r.data) +
        (r.error != Error::kOk ? " (a server frame failed: " + std::string(ErrorName(r.error)) + ")" : ""));
  }
  const Bytes close = c.SealClose();
  if (!c.socket().Send(close)) return Verdict::Fail("the server closed before the probe's CLOSE");
  const Received after = c.Read(0, true);
  if (after.data != B(kTrailer)) {
    return Verdict::Fail("after the probe's CLOSE the target's last bytes did not arrive (half-close): " +
                         Diff(B(kTrailer), after.data));
  }
  if (!after.peer_closed) return Verdict::Fail("no CLOSE from the server after the target ended");
  if (!echo->WaitFor(n, all.size(), true, 5000ms)) return Verdict::Fail("the target's connection did not end");
  const Recorded got = echo->Connections()[n - 1];
  if (got.bytes != all) return Verdict::Fail("the target received " + Diff(all, got.bytes));
  if (!got.ended) return Verdict::Fail("the target did not get the end of stream the CLOSE stands for");
  return Verdict::Pass();
}

Verdict ServerProbe::FallbackGot(size_t from, BlockingSocket& s, const Bytes& sent,
                                     std::chrono::milliseconds wait) {
  // Silence carries nothing until it ends: a connection must exist first.
  const bool reached = sent.empty() ? capture_.WaitForNew(from, wait)
                                    : capture_.WaitForUsed(from, sent.size(), false, wait) != 0;
  if (!reached) {
    const auto all = capture_.Connections();
    for (size_t i = from; i < all.size(); ++i) {
      if (!all[i].bytes.empty()) return Verdict::Fail("the fallback received " + Diff(sent, all[i].bytes));
    }
    return Verdict::Fail("nothing reached the fallback");
  }
  s.ShutdownSend();
  const size_t n = capture_.WaitForUsed(from, sent.size(), true, 5000ms);
  if (n == 0) {
    return Verdict::Fail("the fallback's connection did not end after the probe's end of stream");
  }
  const Recorded got = capture_.Connections()[n - 1];
  if (got.bytes != sent) return Verdict::Fail("the fallback received " + Diff(sent, got.bytes));
  if (!got.ended) return Verdict::Fail("the probe's end of stream did not reach the fallback");
  bool ended = false;
  const Bytes back = s.ReadAll(2000ms, &ended);
  if (!back.empty()) return Verdict::Fail("the server itself sent " + std::to_string(back.size()) + " bytes to a refused connection");
  return Verdict::Pass();
}

Verdict ServerProbe::SplitHelloFallsBack(const std::vector<size_t>& first) {
  const size_t from = capture_.count();
  ClientPeer c = Peer();
  const Bytes& hello = c.hello();
  const size_t k = first[0];
  if (!c.socket().Send(std::span<const uint8_t>(hello).first(k))) return Verdict::Fail("cannot send");
  if (capture_.WaitForUsed(from, k, false, o_.hello_wait / 2) == 0) {
    return Verdict::Fail("the first " + std::to_string(k) + " bytes did not reach the fallback at once");
  }
  Bytes rest(hello.begin() + static_cast<ptrdiff_t>(k), hello.end());
  if (!c.socket().Send(rest)) return Verdict::Fail("cannot send the rest");
  return FallbackGot(from, c.socket(), hello);
}

Verdict ServerProbe::Refused(const Bytes& sent) {
  const size_t from = capture_.count();
  BlockingSocket s(o_.target);
  return RefusedOn(from, s, sent);
}

Verdict ServerProbe::RefusedOn(size_t from, BlockingSocket& s, const Bytes& sent) {
  if (!s.connected()) return Verdict::Fail("cannot connect to the server");
  if (!s.Send(sent)) return Verdict::Fail("the server closed the connection");
  return FallbackGot(from, s, sent);
}

Verdict ServerProbe::Hostile(const std::function<void(ClientPeer&)>& attack, const Bytes& extra) {
  const size_t n = echo_.count() + 1;
  {
    ClientPeer c = Peer();
    if (Verdict e = c.Handshake(); e.failed()) return e.Within("handshake");
    if (Verdict e = c.Request(EchoRequest()); e.failed()) return e;
    if (Verdict e = c.AwaitConnected(); e.failed()) return e;
    if (!c.SendData(B("before"))) return Verdict::Fail("the server closed early");
    if (c.Read(6, false).data != B("before")) return Verdict::Fail("the good frame before the attack was not echoed");
    attack(c);
    const Received r = c.Read(SIZE_MAX, false, 5000ms);
    if (!r.ended) return Verdict::Fail("the server did not close the connection within 5 s");
  }
  if (!echo_.WaitFor(n, 0, true, 5000ms)) return Verdict::Fail("the server did not close the target's connection");
  Bytes expected = B("before");
  expected.insert(expected.end(), extra.begin(), extra.end());
  const Bytes got = echo_.Connections()[n - 1].bytes;
  if (got != expected) {
    return Verdict::Fail("the target received " + Diff(expected, got) + " (of the bad frame and after it)");
  }
  if (Verdict e = Honest(B("next")); e.failed()) return e.Within("the next connection failed");
  return Verdict::Pass();
}

Bytes LengthThenJunk(uint16_t length) {
  Bytes b = {static_cast<uint8_t>(length >> 8), static_cast<uint8_t>(length)};
  const Bytes junk = RandomBytes(16);
  b.insert(b.end(), junk.begin(), junk.end());
  return b;
}

Bytes HttpProbe(const HostPort& target) {
  return B("GET / HTTP/1.1\r\nHost: " + FormatHostPort(target) +
           "\r\nUser-Agent: reflex-probe\r\nAccept: */*\r\n\r\n");
}

Bytes TlsClientHello() {
  // A TLS record (handshake, version 3.1) holding a 512-byte ClientHello.
  Bytes b = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03};
  const Bytes rest = RandomBytes(517 - b.size());
  b.insert(b.end(), rest.begin(), rest.end());
  return b;
}

Bytes Append(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::vector<Scenario> ServerProbe::Scenarios() {
  std::vector<Scenario> s;
  const bool v1 = o_.profile == Profile::kV1Compat;
  // Honest sessions.
  for (const size_t size : {size_t{0}, size_t{1}, size_t{16383}, size_t{16384}}) {
    s.push_back({"data-" + std::to_string(size), [this, size] { return Honest(RandomBytes(size)); }});
  }
  s.push_back({"data-multi-frame", [this] { return Honest(RandomBytes(200000)); }});
  s.push_back({"request-ipv4", [this] { return Honest(B("after the header"), {}, EchoRequest(), B("in the request frame")); }});
  s.push_back({"request-ipv6", [this] {
    if (!echo6_.ok()) return Verdict::Fail("cannot listen on [::1] here: " + echo6_.error());
    RequestHeader r;
    (void)RequestHeaderFor({"::1", echo6_.port()}, &r);
    return Honest(B("after the header"), {}, r, B("in the request frame"), &echo6_);
  }});
  s.push_back({"request-domain", [this] {
    RequestHeader r;
    (void)RequestHeaderFor({"localhost", echo_.port()}, &r);
    return Honest(B("after the header"), {}, r, B("in the request frame"));
  }});
  for (const size_t length : {size_t{1}, size_t{255}}) {
    s.push_back({"request-domain-" + std::to_string(length), [this, length] {
      // A name nobody resolves: the header must still parse, and the
      // server answer with a connect result (SPEC.md 13.4).
      std::string name(length, 'a');
      for (size_t i = 63; i < length; i += 64) name[i] = '.';
      RequestHeader r;
      (void)RequestHeaderFor({name, 9}, &r);
      ClientPeer c = Peer();
      if (Verdict e = c.Handshake(); e.failed()) return e.Within("handshake");
      if (Verdict e = c.Request(r); e.failed()) return e;
      const Received got = c.Read(0, false);
      if (got.connected || (got.peer_closed && got.close_code >= 1 && got.close_code <= 6)) return Verdict::Pass();
      if (got.peer_closed) return Verdict::Fail("CLOSE with code " + std::to_string(got.close_code) + ", not 01..06");
      return Verdict::Fail(std::string("no connect result for a ") + std::to_string(length) + "-byte domain");
    }});
  }
  // A genuine client sends its hello in one write, and the server judges
  // the first flight (SPEC 12.1): a hello in pieces is not one. The
  // fallback must get the first piece before the probe sends the rest,
  // then every byte.
  s.push_back({"hello-1-byte-chunks", [this] { return SplitHelloFallsBack({1}); }});
  s.push_back({"hello-split-at-every-offset", [this] {
    for (size_t k = 1; k < HelloBytes(); ++k) {
      if (Verdict v = SplitHelloFallsBack({k}); v.failed()) {
        return v.Within("split after " + std::to_string(k) + " bytes");
      }
    }
    return Verdict::Pass();
  }});
  // Probes and refusals: each reaches the fallback byte-exact.
  s.push_back({"probe-http", [this] { return Refused(HttpProbe(o_.target)); }});
  s.push_back({"probe-tls-client-hello", [this] { return Refused(TlsClientHello()); }});
  s.push_back({"probe-76-random", [this] {
    Bytes b = RandomBytes(kClientHelloBytes + 100);
    b[0] = 'X';  // not the v1 magic
    return Refused(b);
  }});
  s.push_back({"probe-75-then-silence", [this] {
    const size_t from = capture_.count();
    BlockingSocket c(o_.target);
    const Bytes sent = RandomBytes(kClientHelloBytes - 1);
    if (!c.Send(sent)) return Verdict::Fail("cannot send");
    // Judged at once, not when the hello wait ends (SPEC 12.1).
    return FallbackGot(from, c, sent, o_.hello_wait / 2);
  }});
  s.push_back({"probe-silence", [this] {
    const size_t from = capture_.count();
    BlockingSocket c(o_.target);
    if (!c.connected()) return Verdict::Fail("cannot connect");
    return FallbackGot(from, c, {}, SilenceWait());
  }});
  if (v1) {
    s.push_back({"probe-bad-magic", [this] {
      const size_t from = capture_.count();
      ClientPeer c = Peer();
      Bytes hello = c.hello();
      hello[0] ^= 0x20;
      return RefusedOn(from, c.socket(), Append(hello, B("more")));
    }});
  }
  s.push_back({"probe-unknown-user", [this] {
    UserId stranger;
    Csprng().Fill(stranger);
    const size_t from = capture_.count();
    ClientPeer c(o_.target, o_.profile, stranger, 0, o_.first_flight);
    return RefusedOn(from, c.socket(), Append(c.hello(), RandomBytes(40)));
  }});
  s.push_back({"probe-skewed-timestamp", [this] {
    const size_t from = capture_.count();
    ClientPeer c = Peer(/*skew=*/-86400);
    return RefusedOn(from, c.socket(), Append(c.hello(), RandomBytes(40)));
  }});
  s.push_back({"probe-replayed-hello", [this] {
    Bytes hello;
    {
      ClientPeer c = Peer();
      if (Verdict e = c.Handshake(); e.failed()) return e.Within("the original session");
      hello = c.hello();
    }
    return Refused(Append(hello, RandomBytes(40)));
  }});
  s.push_back({"probe-low-order-key", [this] {
    const reference::Bytes zero(kPublicKeyBytes, 0);  // u = 0: a small-order point
    const reference::Bytes user(o_.user.begin(), o_.user.end());
    Bytes hello;
    if (o_.profile == Profile::kV2) {
      Bytes message1;
      if (reference::WriteClientHelloWithPublicV2(user, zero, SystemClock().UnixSeconds(), RandomBytes(16),
                                             Bytes(4, 0), &message1) != Error::kOk ||
          message1.size() != kClientHelloBytesV2) {
        return Verdict::Fail("cannot make the hello");
      }
      hello.resize(HelloBytes());
      const std::span<const uint8_t, kClientHelloBytesV2> m(message1.data(), kClientHelloBytesV2);
      noise::Psk psk;
      Secret<kTlsFillerKeyBytes> filler_key;
      if (DeriveUserPskV2(o_.user, &psk) != Error::kOk ||
          DeriveTlsFillerKey(psk.span(), filler_key.span()) != Error::kOk ||
          EncodeFirstFlight(o_.first_flight, m, TlsFillerOf(filler_key.span(), m), hello) != Error::kOk) {
        return Verdict::Fail("cannot shape the hello");
      }
    } else {
      ClientHello h;
      h.user_id = o_.user;
      h.timestamp = SystemClock().UnixSeconds();
      hello.resize(kClientHelloBytes);
      if (EncodeClientHello(h, hello) != Error::kOk) return Verdict::Fail("cannot make the hello");
    }
    return Refused(Append(hello, RandomBytes(40)));
  }});
  // Hostile frames after a good handshake.
  s.push_back({"frame-flipped-bit", [this] {
    return Hostile([](ClientPeer& c) {
      Bytes f = c.Seal(FrameType::kData, B("flipped"));
      f[f.size() / 2] ^= 0x04;
      (void)c.socket().Send(f);
      (void)c.socket().Send(c.Seal(FrameType::kData, B("after")));
    });
  }});
  s.push_back({"frame-truncated", [this] {
    return Hostile([](ClientPeer& c) {
      const Bytes f = c.Seal(FrameType::kData, RandomBytes(1000));
      (void)c.socket().Send(std::span<const uint8_t>(f).first(f.size() / 2));
      c.socket().ShutdownSend();
    });
  }});
  s.push_back({"frame-reordered", [this] {
    return Hostile([](ClientPeer& c) {
      const Bytes one = c.Seal(FrameType::kData, B("one"));
      const Bytes two = c.Seal(FrameType::kData, B("two"));
      (void)c.socket().Send(two);
      (void)c.socket().Send(one);
    });
  }});
  s.push_back({"frame-replayed", [this] {
    return Hostile([](ClientPeer& c) {
      const Bytes one = c.Seal(FrameType::kData, B("one"));
      (void)c.socket().Send(one);
      (void)c.socket().Send(one);
    }, B("one"));
  }});
  s.push_back({"frame-reflected", [this] {
    const size_t server_hello = WireProfileOf(o_.profile).server_hello_bytes;
    return Hostile([server_hello](ClientPeer& c) {
      // The server's first frame (its connect result), sent back to it.
      const Bytes& raw = c.raw();
      if (raw.size() < server_hello + 2) return;
      const size_t length = size_t{raw[server_hello]} << 8 | raw[server_hello + 1];
      const size_t end = std::min(raw.size(), server_hello + 2 + length);
      (void)c.socket().Send(std::span<const uint8_t>(raw).subspan(server_hello, end - server_hello));
    });
  }});
  for (const uint32_t length : {0u, 15u, 16u, 16402u, 0xFFFEu, 0xFFFFu}) {
    s.push_back({"length-" + std::to_string(length), [this, length] {
      return Hostile([length](ClientPeer& c) {
        (void)c.socket().Send(LengthThenJunk(static_cast<uint16_t>(length)));
      });
    }});
  }
  s.push_back({"close-and-half-close", [this] {
    const size_t n = echo_.count() + 1;
    ClientPeer c = Peer();
    if (Verdict e = c.Handshake(); e.failed()) return e.Within("handshake");
    if (Verdict e = c.Request(EchoRequest()); e.failed()) return e;
    if (Verdict e = c.AwaitConnected(); e.failed()) return e;
    // Data and CLOSE at once: the target gets the data then its end of
    // stream, and what it sends after that still reaches the probe.
    Bytes both = c.Seal(FrameType::kData, B("ping"));
    const Bytes close = c.SealClose();
    both.insert(both.end(), close.begin(), close.end());
    if (!c.socket().Send(both)) return Verdict::Fail("the server closed early");
    const Received r = c.Read(0, true);
    if (r.data != Append(B("ping"), B(kTrailer))) {
      return Verdict::Fail("after CLOSE the probe received " + Diff(Append(B("ping"), B(kTrailer)), r.data));
    }
    if (!r.peer_closed) return Verdict::Fail("no CLOSE from the server");
    if (!echo_.WaitFor(n, 4, true, 5000ms) || !echo_.Connections()[n - 1].ended) {
      return Verdict::Fail("the target never saw the end of stream");
    }
    return Verdict::Pass();
  }});
  s.push_back({"padding-and-timing-not-forwarded", [this] {
    const size_t n = echo_.count() + 1;
    ClientPeer c = Peer();
    if (Verdict e = c.Handshake(); e.failed()) return e.Within("handshake");
    if (Verdict e = c.Request(EchoRequest()); e.failed()) return e;
    if (Verdict e = c.AwaitConnected(); e.failed()) return e;
    for (const Bytes& f : {c.Seal(FrameType::kData, B("a")), c.Seal(FrameType::kPadding, Bytes(100, 0)),
                           c.Seal(FrameType::kTiming, RandomBytes(8)), c.Seal(FrameType::kData, B("b")),
                           c.SealClose()}) {
      if (!c.socket().Send(f)) return Verdict::Fail("the server closed early");
    }
    (void)c.Read(0, true);
    if (!echo_.WaitFor(n, 2, true, 5000ms)) return Verdict::Fail("the target's connection did not end");
    const Bytes got = echo_.Connections()[n - 1].bytes;
    if (got != B("ab")) return Verdict::Fail("the target received " + Diff(B("ab"), got));
    return Verdict::Pass();
  }});
  s.push_back({"concurrent-100", [this] {
    std::vector<std::thread> threads;
    std::atomic<int> failed{0};
    std::string first;
    std::mutex mu;
    for (int i = 0; i < 100; ++i) {
      threads.emplace_back([&, i] {
        ClientPeer c = Peer();
        const Bytes data = RandomBytes(4096 + static_cast<size_t>(i));
        Verdict v = c.Handshake();
        if (!v.failed()) v = c.Request(EchoRequest());
        if (!v.failed()) v = c.AwaitConnected();
        if (!v.failed() && !c.SendData(data)) v = Verdict::Fail("send failed");
        if (!v.failed() && c.Read(data.size(), false, 20000ms).data != data) v = Verdict::Fail("echo differs");
        if (!v.failed()) (void)c.socket().Send(c.SealClose());
        if (!v.failed() && !c.Read(0, true, 20000ms).peer_closed) v = Verdict::Fail("no CLOSE");
        if (v.failed()) {
          ++failed;
          std::lock_guard<std::mutex> lock(mu);
          if (first.empty()) first = "session " + std::to_string(i) + ": " + v.what();
        }
      });
    }
    for (std::thread& t : threads) t.join();
    if (failed == 0) return Verdict::Pass();
    return Verdict::Fail(std::to_string(failed.load()) + " of 100 failed; " + first);
  }});
  for (Scenario& u : ServerUdpScenarios(o_)) s.push_back(std::move(u));
  return s;
}

}  // namespace

std::vector<std::string> ServerScenarioNames(Profile profile) {
  ServerProbeOptions o;
  o.profile = profile;
  o.fallback_listen = o.echo_listen = {"127.0.0.1", 0};
  ServerProbe probe(o);
  std::vector<std::string> names;
  for (const Scenario& s : probe.Scenarios()) names.push_back(s.name);
  return names;
}

int ProbeServer(const ServerProbeOptions& options) {
  ServerProbe probe(options);
  if (const Verdict ready = probe.Ready(); ready.failed()) {
    std::fprintf(stderr, "reflex probe: %s\n", ready.what().c_str());
    return 1;
  }
  return RunScenarios(probe.Scenarios(), options.only, options.json_path);
}

}  // namespace reflex::proxy::probe
