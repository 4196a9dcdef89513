#include "proxy/probe/udp_scenarios.h"

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "proxy/probe/blocking_udp.h"
#include "proxy/probe/reflex_peer.h"
#include "reflex/datagram.h"
#include "reflex/random.h"
#include "reflex/wire.h"

namespace reflex::proxy::probe {
namespace {

using namespace std::chrono_literals;

Bytes B(std::string_view s) { return Bytes(s.begin(), s.end()); }

// A frame payload (SPEC 15.2): the address form of `peer` (an IP literal
// or a name), its port, the data.
Bytes DatagramPayload(const HostPort& peer, std::span<const uint8_t> data) {
  const Bytes socks = Socks5UdpDatagram(peer, data);
  return socks.size() < 3 ? Bytes{} : Bytes(socks.begin() + 3, socks.end());
}

RequestHeader UdpRequest() {
  RequestHeader r;
  r.command = kCommandUdp;
  r.address_type = AddressType::kIpv4;
  r.address_length = 4;
  return r;
}

std::string Describe(const Bytes& expected, const Bytes& got) {
  if (expected == got) return "the same bytes";
  return std::to_string(got.size()) + " bytes, not the " + std::to_string(expected.size()) + " expected";
}

// The server side: the probe's echoes, made once for every scenario.
struct ServerSide {
  explicit ServerSide(const ServerProbeOptions& o)
      : o(o), echo({o.echo_listen.host, 0}), second({o.echo_listen.host, 0}) {}
  ServerProbeOptions o;
  UdpEcho echo;
  UdpEcho second;

  HostPort Echo() const { return {o.echo_listen.host, echo.port()}; }
  HostPort Second() const { return {o.echo_listen.host, second.port()}; }
  // A client with its association open.
  Verdict Open(std::unique_ptr<ClientPeer>* out) const {
    auto c = std::make_unique<ClientPeer>(o.target, o.profile, o.user, 0, o.first_flight);
    if (Verdict v = c->Handshake(); v.failed()) return v.Within("handshake");
    if (Verdict v = c->Request(UdpRequest()); v.failed()) return v;
    if (Verdict v = c->AwaitConnected(); v.failed()) return v.Within("the association");
    *out = std::move(c);
    return Verdict::Pass();
  }
  // One datagram to `to`, one back from it: its source and data exact.
  static Verdict RoundTrip(ClientPeer& c, const HostPort& to, const Bytes& data) {
    const Bytes payload = DatagramPayload(to, data);
    if (!c.socket().Send(c.Seal(FrameType::kData, payload))) return Verdict::Fail("the server closed");
    const Received r = c.ReadFrames(1);
    if (r.payloads.empty()) {
      return Verdict::Fail("no datagram back for " + std::to_string(data.size()) + " bytes" +
                           (r.peer_closed ? " (CLOSE instead)" : r.error != Error::kOk ? " (a frame failed)" : ""));
    }
    if (r.payloads[0] != payload) {
      return Verdict::Fail("for " + std::to_string(data.size()) + " bytes the server sent " + Describe(payload, r.payloads[0]));
    }
    return Verdict::Pass();
  }
  // The client's CLOSE, answered with the server's.
  static Verdict CloseAnswered(ClientPeer& c) {
    if (!c.socket().Send(c.SealClose())) return Verdict::Fail("the server closed before the CLOSE");
    if (!c.Read(0, true).peer_closed) return Verdict::Fail("the server did not answer CLOSE with its own");
    return Verdict::Pass();
  }
};

size_t LargestDatagram(const std::string& host) {
  return host.find(':') == std::string::npos ? kMaxIpv4DatagramBytes : kMaxIpv6DatagramBytes;
}

}  // namespace

std::vector<Scenario> ServerUdpScenarios(const ServerProbeOptions& options) {
  auto side = std::make_shared<ServerSide>(options);
  std::vector<Scenario> s;
  s.push_back({"udp-echo", [side] {
    if (!side->echo.ok()) return Verdict::Fail("cannot open a UDP echo on " + side->o.echo_listen.host);
    std::unique_ptr<ClientPeer> c;
    if (Verdict v = side->Open(&c); v.failed()) return v;
    for (const size_t size : {size_t{0}, size_t{1}, size_t{512}, size_t{1452}, LargestDatagram(side->o.echo_listen.host)}) {
      Bytes data(size);
      Csprng().Fill(data);
      if (Verdict v = ServerSide::RoundTrip(*c, side->Echo(), data); v.failed()) return v;
    }
    return ServerSide::CloseAnswered(*c);
  }});
  s.push_back({"udp-several-destinations", [side] {
    std::unique_ptr<ClientPeer> c;
    if (Verdict v = side->Open(&c); v.failed()) return v;
    for (int i = 0; i < 3; ++i) {
      for (const HostPort& to : {side->Echo(), side->Second()}) {
        if (Verdict v = ServerSide::RoundTrip(*c, to, B("to " + FormatHostPort(to))); v.failed()) {
          return v.Within(FormatHostPort(to));
        }
      }
    }
    return ServerSide::CloseAnswered(*c);
  }});
  s.push_back({"udp-oversized-datagram", [side] {
    if (!side->echo.ok()) return Verdict::Fail("cannot open a UDP echo on " + side->o.echo_listen.host);
    // The echo answers with 16378 bytes (too large for a frame after an
    // IPv4 source), then with the trigger: only the trigger may come back.
    std::unique_ptr<ClientPeer> c;
    if (Verdict v = side->Open(&c); v.failed()) return v;
    if (Verdict v = ServerSide::RoundTrip(*c, side->Echo(), B(kOversizeTrigger)); v.failed()) {
      return v.Within("after a datagram too large for a frame");
    }
    return ServerSide::CloseAnswered(*c);
  }});
  s.push_back({"udp-datagram-after-close", [side] {
    std::unique_ptr<ClientPeer> c;
    if (Verdict v = side->Open(&c); v.failed()) return v;
    const uint64_t echoed = side->echo.received();
    // CLOSE sealed as a plain frame, so a DATA frame can follow it at the
    // next counter, as a broken client's would.
    Bytes both = c->Seal(FrameType::kClose, {});
    const Bytes after = c->Seal(FrameType::kData, DatagramPayload(side->Echo(), B("after CLOSE")));
    both.insert(both.end(), after.begin(), after.end());
    if (!c->socket().Send(both)) return Verdict::Fail("the server closed early");
    const Received r = c->Read(0, true);
    if (!r.payloads.empty()) return Verdict::Fail("a datagram came back after the probe's CLOSE");
    bool ended = false;
    (void)c->socket().ReadAll(5000ms, &ended);
    if (!ended) return Verdict::Fail("the connection did not end after the CLOSE");
    // A marker sent to the echo now is queued behind anything the server
    // sent it before its connection ended: once the marker is back, the
    // echo's count says whether the datagram after CLOSE got there.
    BlockingUdpSocket marker({side->o.echo_listen.host, 0});
    if (!marker.SendTo(B("marker"), side->Echo()) || !marker.Receive(5000ms)) {
      return Verdict::Fail("the probe's own echo did not answer a marker");
    }
    if (side->echo.received() != echoed + 1) return Verdict::Fail("the datagram after CLOSE reached its destination");
    return Verdict::Pass();
  }});
  return s;
}

namespace {

// The probe as the client's server: accepts the tunnel, the hello, and a
// request that must be an association.
Verdict AcceptAssociation(const ClientProbeOptions& o, BlockingListener& listener, std::unique_ptr<ServerPeer>* out) {
  BlockingSocket accepted = listener.Accept(10000ms);
  if (!accepted.connected()) return Verdict::Fail("the client never connected to the probe's server");
  auto peer = std::make_unique<ServerPeer>(std::move(accepted), o.profile, o.user, o.first_flight);
  if (Verdict v = peer->Handshake(); v.failed()) return v.Within("the client hello");
  RequestHeader request;
  Bytes data;
  if (Verdict v = peer->AwaitRequest(&request, &data); v.failed()) return v;
  if (request.command != kCommandUdp) {
    return Verdict::Fail("UDP ASSOCIATE became request command " + std::to_string(request.command) + ", not 2");
  }
  *out = std::move(peer);
  return Verdict::Pass();
}

}  // namespace

namespace {

// One association through the client under test: `application` plays the
// application (on the association the client opened), `server` the probe's
// server after its connect result; the server side sets `done` once it
// has what it waits for (the application's waits end then).
using AppSide = std::function<Verdict(Socks5UdpAssociation&, const std::atomic<bool>& done)>;
using ProbeServerSide = std::function<Verdict(ServerPeer&, std::atomic<bool>& done)>;

Verdict ThroughClient(const ClientProbeOptions& o, BlockingListener& l, const AppSide& application,
                      const ProbeServerSide& server_side) {
  Verdict app_verdict = Verdict::Pass();
  std::atomic<bool> done{false};
  std::thread app([&] {
    Socks5UdpAssociation a(o.socks);
    if (a.code() != 0) {
      app_verdict = Verdict::Fail("SOCKS5 reply " + std::to_string(a.code()) + " for an association the server opened");
      return;
    }
    app_verdict = application(a, done);
  });
  std::unique_ptr<ServerPeer> server;
  Verdict v = AcceptAssociation(o, l, &server);
  if (!v.failed() && !server->socket().Send(server->SealConnectResult(kConnectOk))) {
    v = Verdict::Fail("the client closed");
  }
  if (!v.failed()) v = server_side(*server, done);
  done = true;
  app.join();
  return v.failed() ? v : app_verdict;
}

// The application's wait for the server side (bounded by its reads).
void AwaitServerSide(Socks5UdpAssociation& a, const std::atomic<bool>& done) {
  bool ended = false;
  while (!done.load() && !ended) (void)a.control().ReadSome(1, 50ms, &ended);
}

// The next `n` datagrams at the probe's server, each one DATA payload.
Verdict ExpectPayloads(ServerPeer& server, const std::vector<Bytes>& expected, const std::string& what) {
  const Received r = server.ReadFrames(expected.size());
  if (r.payloads.size() < expected.size()) {
    return Verdict::Fail(std::to_string(r.payloads.size()) + " of " + std::to_string(expected.size()) + " " + what + " arrived");
  }
  for (size_t k = 0; k < expected.size(); ++k) {
    if (r.payloads[k] != expected[k]) return Verdict::Fail(what + ": datagram " + std::to_string(k) + " is not one exact DATA payload");
  }
  return Verdict::Pass();
}

// The association's end from the application (told to end it by `done`):
// CLOSE, answered.
Verdict CloseExpected(ServerPeer& server, std::atomic<bool>& done) {
  done = true;
  const Received r = server.Read(0, true, 5000ms);
  if (!r.payloads.empty()) return Verdict::Fail("a datagram the client should have dropped reached the server");
  if (!r.peer_closed) return Verdict::Fail("no CLOSE after the control connection closed");
  (void)server.socket().Send(server.SealClose());
  return Verdict::Pass();
}

}  // namespace

std::vector<Scenario> ClientUdpScenarios(const ClientProbeOptions& options, BlockingListener& listener) {
  const ClientProbeOptions o = options;
  BlockingListener* l = &listener;
  const HostPort dns{"192.0.2.7", 53};
  std::vector<Scenario> s;
  s.push_back({"udp-associate", [o, l, dns] {
    // Both ways; a fragment and a datagram from another port are dropped.
    const Bytes query = B("a query"), answer = B("an answer"), good = B("after the dropped ones");
    return ThroughClient(
        o, *l,
        [&](Socks5UdpAssociation& a, const std::atomic<bool>& done) {
          if (!a.Send(dns, query)) return Verdict::Fail("the relay refused a datagram");
          const std::optional<Datagram> back = a.Receive(5000ms);
          if (!back || back->bytes != answer || back->peer.host != dns.host || back->peer.port != dns.port) {
            return Verdict::Fail("the server's datagram did not reach the application as sent");
          }
          (void)a.Send(dns, B("a fragment"), 1);
          BlockingUdpSocket elsewhere({o.socks.host, 0});  // another source port
          if (!elsewhere.SendTo(Socks5UdpDatagram(dns, B("from elsewhere")), a.relay())) {
            return Verdict::Fail("the probe could not send from a second port");
          }
          (void)a.Send(dns, good);
          AwaitServerSide(a, done);
          a.control().Close();  // the control connection's end ends the association
          return Verdict::Pass();
        },
        [&](ServerPeer& server, std::atomic<bool>& done) {
          if (Verdict v = ExpectPayloads(server, {DatagramPayload(dns, query)}, "the application's datagram"); v.failed()) return v;
          (void)server.socket().Send(server.Seal(FrameType::kData, DatagramPayload(dns, answer)));
          if (Verdict v = ExpectPayloads(server, {DatagramPayload(dns, good)}, "after a fragment and a stray datagram");
              v.failed()) {
            return v;
          }
          return CloseExpected(server, done);
        });
  }});
  s.push_back({"udp-several-destinations", [o, l, dns] {
    const std::vector<HostPort> to = {dns, {"2001:db8::7", 443}, {"example.test", 123}};
    return ThroughClient(
        o, *l,
        [&](Socks5UdpAssociation& a, const std::atomic<bool>& done) {
          for (const HostPort& d : to) (void)a.Send(d, B("to " + FormatHostPort(d)));
          for (size_t k = 0; k < 2; ++k) {  // answers from the two IP destinations
            const std::optional<Datagram> back = a.Receive(5000ms);
            if (!back || back->bytes != B("from " + FormatHostPort(to[k])) || back->peer.port != to[k].port) {
              return Verdict::Fail("the answer from " + FormatHostPort(to[k]) + " did not reach the application with its source");
            }
          }
          AwaitServerSide(a, done);
          a.control().Close();
          return Verdict::Pass();
        },
        [&](ServerPeer& server, std::atomic<bool>& done) {
          std::vector<Bytes> expected;
          for (const HostPort& d : to) expected.push_back(DatagramPayload(d, B("to " + FormatHostPort(d))));
          if (Verdict v = ExpectPayloads(server, expected, "datagrams to three destinations"); v.failed()) return v;
          for (size_t k = 0; k < 2; ++k) {
            (void)server.socket().Send(server.Seal(FrameType::kData, DatagramPayload(to[k], B("from " + FormatHostPort(to[k])))));
          }
          return CloseExpected(server, done);
        });
  }});
  s.push_back({"udp-oversized-datagram", [o, l, dns] {
    // 16378 bytes after an IPv4 address: one more than a frame holds.
    return ThroughClient(
        o, *l,
        [&](Socks5UdpAssociation& a, const std::atomic<bool>& done) {
          (void)a.Send(dns, Bytes(kMaxIpv4DatagramBytes + 1, 0x5a));
          (void)a.Send(dns, B("small"));
          AwaitServerSide(a, done);
          a.control().Close();
          return Verdict::Pass();
        },
        [&](ServerPeer& server, std::atomic<bool>& done) {
          if (Verdict v = ExpectPayloads(server, {DatagramPayload(dns, B("small"))}, "after one too large for a frame");
              v.failed()) {
            return v;
          }
          return CloseExpected(server, done);
        });
  }});
  s.push_back({"udp-datagram-after-close", [o, l, dns] {
    // The server ends the association: the client answers CLOSE, sends
    // nothing after it, and closes the application's control connection.
    return ThroughClient(
        o, *l,
        [&](Socks5UdpAssociation& a, const std::atomic<bool>& done) {
          bool ended = false;
          while (!done.load() && !ended) {
            (void)a.Send(dns, B("after the server's CLOSE"));
            (void)a.control().ReadSome(1, 50ms, &ended);
          }
          if (!ended) return Verdict::Fail("the control connection stayed open after the server's CLOSE");
          return Verdict::Pass();
        },
        [&](ServerPeer& server, std::atomic<bool>& done) {
          (void)server.socket().Send(server.SealClose());
          const Received r = server.Read(0, true, 5000ms);
          if (!r.peer_closed) return Verdict::Fail("the client did not answer the server's CLOSE");
          bool ended = false;
          const Bytes rest = server.socket().ReadAll(5000ms, &ended);
          if (!rest.empty()) return Verdict::Fail("the client sent bytes after its CLOSE");
          done = true;
          if (!ended) return Verdict::Fail("the client did not close the tunnel after both CLOSEs");
          return Verdict::Pass();
        });
  }});
  s.push_back({"udp-refused", [o, l] {
    int code = -1;
    std::thread application([&] { code = Socks5UdpAssociation(o.socks).code(); });
    std::unique_ptr<ServerPeer> server;
    Verdict v = AcceptAssociation(o, *l, &server);
    if (!v.failed()) (void)server->socket().Send(server->SealConnectResult(kConnectNotAllowed));
    application.join();
    if (v.failed()) return v;
    if (code != kConnectNotAllowed) return Verdict::Fail("SOCKS5 reply " + std::to_string(code) + ", not the server's 2");
    return Verdict::Pass();
  }});
  return s;
}

}  // namespace reflex::proxy::probe
