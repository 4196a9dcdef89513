// reflex probe client: the scenarios against a client under test. The
// probe is its server (listening where the client's --server points) and
// its application (through the client's SOCKS5 port).
#include <functional>
#include <set>
#include <thread>

#include "proxy/probe/probe.h"
#include "proxy/probe/reflex_peer.h"
#include "proxy/probe/report.h"
#include "proxy/probe/udp_scenarios.h"
#include "reflex/hello.h"
#include "reflex/wire.h"

namespace reflex::proxy::probe {

namespace {

using namespace std::chrono_literals;

Bytes B(std::string_view s) { return Bytes(s.begin(), s.end()); }

// What the application side saw.
struct App {
  int socks_code = -1;  // the SOCKS5 reply code, -1 for none
  Bytes received;
  bool ended = false;
};

class ClientProbe {
 public:
  explicit ClientProbe(const ClientProbeOptions& o) : o_(o), listener_(o.listen) {}
  Verdict Ready() const {
    if (listener_.ok()) return Verdict::Pass();
    return Verdict::Fail("cannot listen on " + FormatHostPort(o_.listen));
  }
  std::vector<Scenario> Scenarios();

 private:
  // The application connects through SOCKS5 to `target`, then runs
  // `app_side`; the probe accepts the client's tunnel, completes the
  // handshake, reads the request and runs `server_side`; *app holds what
  // the application saw.
  Verdict Tunnel(const HostPort& target, const std::function<void(BlockingSocket&, App*)>& app_side,
                 const std::function<Verdict(ServerPeer&, const RequestHeader&)>& server_side,
                 App* app, Bytes* hello = nullptr);
  Verdict ServerSide(const std::function<Verdict(ServerPeer&, const RequestHeader&)>& server_side,
                     Bytes* hello);

  ClientProbeOptions o_;
  BlockingListener listener_;
};

Verdict ClientProbe::Tunnel(const HostPort& target,
                            const std::function<void(BlockingSocket&, App*)>& app_side,
                            const std::function<Verdict(ServerPeer&, const RequestHeader&)>& server_side,
                            App* app, Bytes* hello) {
  std::thread application([&] {
    BlockingSocket s(o_.socks);
    app->socks_code = Socks5Connect(s, target.host, target.port);
    if (app->socks_code == 0) app_side(s, app);
  });
  const Verdict verdict = ServerSide(server_side, hello);
  application.join();
  return verdict;
}

// The probe's server: accepts the client's tunnel, the hello, the request,
// then `server_side`.
Verdict ClientProbe::ServerSide(
    const std::function<Verdict(ServerPeer&, const RequestHeader&)>& server_side, Bytes* hello) {
  BlockingSocket accepted = listener_.Accept(10000ms);
  if (!accepted.connected()) return Verdict::Fail("the client never connected to the probe's server");
  ServerPeer peer(std::move(accepted), o_.profile, o_.user, o_.first_flight);
  const Verdict handshake = peer.Handshake();
  if (hello != nullptr) *hello = peer.hello();
  if (handshake.failed()) return handshake.Within("the client hello");
  RequestHeader request;
  Bytes data;
  if (Verdict v = peer.AwaitRequest(&request, &data); v.failed()) return v;
  return server_side(peer, request);
}

// Connected, then nothing more: the probe's half of a plain tunnel.
Verdict Connected(ServerPeer& peer) {
  if (peer.socket().Send(peer.SealConnectResult(kConnectOk))) return Verdict::Pass();
  return Verdict::Fail("the client closed");
}

std::vector<Scenario> ClientProbe::Scenarios() {
  std::vector<Scenario> s;
  const HostPort somewhere{"example.test", 443};
  auto nothing = [](BlockingSocket&, App*) {};
  s.push_back({"hello-well-formed", [=, this] {
    App app;
    return Tunnel(somewhere, nothing, [](ServerPeer& p, const RequestHeader&) { return Connected(p); }, &app);
  }});
  s.push_back({"fresh-ephemeral-keys", [=, this] {
    std::set<Bytes> keys;
    for (int i = 0; i < 16; ++i) {
      App app;
      Bytes hello;
      if (Verdict v = Tunnel(somewhere, nothing,
                             [](ServerPeer& p, const RequestHeader&) { return Connected(p); }, &app, &hello);
          v.failed()) {
        return v.Within("tunnel " + std::to_string(i));
      }
      Bytes key(kPublicKeyBytes);
      if (o_.profile == Profile::kV1Compat) {
        ClientHello h;
        if (DecodeClientHello(hello, &h) != Error::kOk) return Verdict::Fail("a v1 hello that does not decode");
        key.assign(h.public_key.begin(), h.public_key.end());
      } else {
        std::array<uint8_t, kClientHelloBytesV2> message1{};
        if (DecodeFirstFlight(o_.first_flight, hello, message1) != Error::kOk) {
          return Verdict::Fail("a first flight not of the shape");
        }
        key.assign(message1.begin(), message1.begin() + kPublicKeyBytes);
      }
      if (!keys.insert(key).second) return Verdict::Fail("tunnel " + std::to_string(i) + " repeated an ephemeral key");
    }
    return Verdict::Pass();
  }});
  s.push_back({"request-header-exact", [=, this] {
    for (const HostPort& target : {HostPort{"example.test", 443}, HostPort{"192.0.2.7", 80},
                                   HostPort{"2001:db8::7", 8443}, HostPort{std::string(255, 'x'), 1}}) {
      RequestHeader expected;
      (void)RequestHeaderFor(target, &expected);
      App app;
      std::string got;
      const Verdict v = Tunnel(target, nothing, [&](ServerPeer& p, const RequestHeader& r) {
        if (!(r == expected)) got = FormatHostPort(TargetOf(r));
        return Connected(p);
      }, &app);
      if (v.failed()) return v.Within(FormatHostPort(target).substr(0, 40));
      if (!got.empty()) return Verdict::Fail("asked for " + FormatHostPort(target).substr(0, 40) + ", the header said " + got.substr(0, 40));
      if (app.socks_code != 0) return Verdict::Fail("SOCKS5 reply " + std::to_string(app.socks_code) + " for a connected target");
    }
    return Verdict::Pass();
  }});
  s.push_back({"data-exact-no-padding", [=, this] {
    App app;
    const Bytes up = B("hello, reflex"), down = B("pong");
    Bytes got_up;
    const Verdict e = Tunnel(somewhere,
        [&](BlockingSocket& a, App* out) {
          (void)a.Send(up);
          out->received = a.ReadExactly(down.size(), 5000ms);
        },
        [&](ServerPeer& p, const RequestHeader&) {
          if (Verdict c = Connected(p); c.failed()) return c;
          const Received r = p.Read(up.size(), false);
          got_up = r.data;
          // Anything more within a moment would be padding inside DATA.
          const Received more = p.Read(1, false, 300ms);
          got_up.insert(got_up.end(), more.data.begin(), more.data.end());
          if (!p.socket().Send(p.Seal(FrameType::kData, down))) return Verdict::Fail("client closed");
          return Verdict::Pass();
        }, &app);
    if (e.failed()) return e;
    if (got_up != up) return Verdict::Fail("the server side received " + std::to_string(got_up.size()) + " data bytes for the " + std::to_string(up.size()) + " sent");
    if (app.received != down) return Verdict::Fail("the application did not receive the server's data exactly");
    return Verdict::Pass();
  }});
  s.push_back({"close-behaviour", [=, this] {
    App app;
    bool saw_close = false;
    std::string detail;
    const Verdict e = Tunnel(somewhere,
        [&](BlockingSocket& a, App* out) {
          a.ShutdownSend();  // the application is done sending
          out->received = a.ReadAll(5000ms, &out->ended);
        },
        [&](ServerPeer& p, const RequestHeader&) {
          if (Verdict c = Connected(p); c.failed()) return c;
          const Received closing = p.Read(0, true);
          saw_close = closing.peer_closed;
          if (!saw_close) {
            detail = std::string(closing.ended ? "the tunnel ended" : "nothing for 5 s") +
                     (closing.error != Error::kOk ? std::string(", ") + std::string(ErrorName(closing.error)) : "");
          }
          Bytes both = p.Seal(FrameType::kData, B("late"));
          const Bytes close = p.SealClose();
          both.insert(both.end(), close.begin(), close.end());
          (void)p.socket().Send(both);
          return Verdict::Pass();
        }, &app);
    if (e.failed()) return e;
    if (!saw_close) return Verdict::Fail("the application's end of stream did not become CLOSE (" + detail + ")");
    if (app.received != B("late")) return Verdict::Fail("data sent after the client's CLOSE did not reach the application (half-close)");
    if (!app.ended) return Verdict::Fail("the server's CLOSE did not end the application's stream");
    return Verdict::Pass();
  }});
  s.push_back({"tampered-server-frame", [=, this] {
    App app;
    bool client_closed = false;
    const Verdict e = Tunnel(somewhere,
        [&](BlockingSocket& a, App* out) { out->received = a.ReadAll(8000ms, &out->ended); },
        [&](ServerPeer& p, const RequestHeader&) {
          if (Verdict c = Connected(p); c.failed()) return c;
          Bytes all = p.Seal(FrameType::kData, B("one"));  // sealed in the order sent
          Bytes bad = p.Seal(FrameType::kData, B("two"));
          bad[bad.size() / 2] ^= 0x01;
          all.insert(all.end(), bad.begin(), bad.end());
          const Bytes three = p.Seal(FrameType::kData, B("three"));
          all.insert(all.end(), three.begin(), three.end());
          (void)p.socket().Send(all);
          bool ended = false;
          (void)p.socket().ReadAll(5000ms, &ended);
          client_closed = ended;
          return Verdict::Pass();
        }, &app);
    if (e.failed()) return e;
    if (app.received != B("one")) return Verdict::Fail("the application received " + std::to_string(app.received.size()) + " bytes, not the 3 before the bad frame");
    if (!app.ended) return Verdict::Fail("the application's connection stayed open after a bad frame");
    if (!client_closed) return Verdict::Fail("the client kept the tunnel open after a bad frame");
    return Verdict::Pass();
  }});
  if (o_.profile == Profile::kV2) {
    s.push_back({"connect-result-codes", [=, this] {
      for (const uint8_t code : {kConnectRefused, kConnectHostUnreachable}) {
        App app;
        const Verdict e = Tunnel(somewhere, nothing, [code](ServerPeer& p, const RequestHeader&) {
          (void)p.socket().Send(p.SealConnectResult(code));
          return Verdict::Pass();
        }, &app);
        if (e.failed()) return e;
        if (app.socks_code != code) {
          return Verdict::Fail("the server said " + std::to_string(code) + ", the SOCKS5 reply said " + std::to_string(app.socks_code));
        }
      }
      return Verdict::Pass();
    }});
  }
  for (Scenario& u : ClientUdpScenarios(o_, listener_)) s.push_back(std::move(u));
  return s;
}

}  // namespace

std::vector<std::string> ClientScenarioNames(Profile profile) {
  ClientProbeOptions o;
  o.profile = profile;
  o.listen = {"127.0.0.1", 0};
  ClientProbe probe(o);
  std::vector<std::string> names;
  for (const Scenario& s : probe.Scenarios()) names.push_back(s.name);
  return names;
}

int ProbeClient(const ClientProbeOptions& options) {
  ClientProbe probe(options);
  if (const Verdict ready = probe.Ready(); ready.failed()) {
    std::fprintf(stderr, "reflex probe: %s\n", ready.what().c_str());
    return 1;
  }
  return RunScenarios(probe.Scenarios(), options.only, options.json_path);
}

}  // namespace reflex::proxy::probe
