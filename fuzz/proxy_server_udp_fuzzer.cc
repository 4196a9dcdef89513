// The proxy server's UDP association (proxy/server_handler.h's
// OpenAssociation and RelayDatagrams, proxy/udp_association.h) over the
// in-memory transport and datagram sockets. An honest client opens an
// association; the fuzzer then plays the client (datagrams to IPv4, IPv6
// and named destinations, raw payloads that may not decode, padding,
// flipped bits, CLOSE, vanishing mid-frame) and the world (datagrams of
// any size from any source, a socket that cannot take sends).
// Invariants: what leaves the socket is, in order, a subsequence of the
// well-formed datagrams the client sealed (data byte-exact, destination
// resolved as the memory dialer does); what reaches the client is, in
// order, a subsequence of the datagrams that arrived, each decoding to its
// source and its data whole (never cut to fit); the handler ends once both
// ends have closed, its socket closed, every buffer, state and counter
// back.
// Input: [profile][ops...].
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

struct Expected {
  UdpEndpoint peer;
  Bytes bytes;
  bool operator==(const Expected& o) const { return peer == o.peer && bytes == o.bytes; }
};

// Whether `part` appears in `whole` in order (not necessarily adjacent).
bool IsSubsequence(const std::vector<Expected>& part, const std::vector<Expected>& whole) {
  size_t at = 0;
  for (const Expected& e : part) {
    while (at < whole.size() && !(whole[at] == e)) ++at;
    if (at == whole.size()) return false;
    ++at;
  }
  return true;
}

UdpEndpoint SomeEndpoint(fuzz::FuzzInput& in) {
  static const char* const kAddresses[] = {"192.0.2.1", "198.51.100.7", "2001:db8::1", "::ffff:192.0.2.9",
                                           "10.0.0.1"};
  return UdpEndpoint(asio::ip::make_address(kAddresses[in.U8() % 5]), in.U16());
}

// A destination the client names, and where the memory dialer sends it
// (nullopt: a name that does not resolve, or port 0: dropped).
Bytes DatagramTo(fuzz::FuzzInput& in, const Bytes& data, std::optional<UdpEndpoint>* sent_to) {
  const uint16_t port = in.U16();
  switch (in.U8() % 3) {
    case 0: {
      const UdpEndpoint e = SomeEndpoint(in);
      if (port != 0) *sent_to = UdpEndpoint(e.address(), port);
      return DatagramPayload(e.address().to_string(), port, data);
    }
    case 1:
      if (port != 0) *sent_to = UdpEndpoint(asio::ip::make_address(MemoryDialer::kResolvedAddress), port);
      return DatagramPayload("dns.example", port, data);
    default:
      return DatagramPayload("gone.invalid", port, data);
  }
}

// Where a payload that decodes is sent, as the memory dialer resolves
// names; nullopt when it does not decode or is dropped.
std::optional<Expected> WhereItGoes(const Bytes& payload) {
  DatagramAddress a;
  size_t n = 0;
  if (DecodeDatagram(payload, &a, &n) != Error::kOk || a.port == 0) return std::nullopt;
  asio::ip::address ip;
  if (!IpAddressOf(a, &ip)) {
    const std::string name(reinterpret_cast<const char*>(a.bytes.data()), a.length);
    if (name.ends_with(".invalid")) return std::nullopt;
    ip = asio::ip::make_address(MemoryDialer::kResolvedAddress);
  }
  return Expected{UdpEndpoint(ip, a.port), Bytes(payload.begin() + static_cast<ptrdiff_t>(n), payload.end())};
}

void CheckAllReturned(ServerHarness& h) {
  h.Poll();
  FUZZ_CHECK(h.running() == 0, "the handler ended once both ends closed");
  FUZZ_CHECK(h.buffers_outstanding() == 0, "every buffer back in the pool");
  FUZZ_CHECK(h.states_outstanding() == 0, "every connection state back in the pool");
  FUZZ_CHECK(h.stats().udp.open.load() == 0, "no association counted open");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool ready = InitCrypto() == Error::kOk;
  FUZZ_CHECK(ready, "crypto init");
  SetLogLevel(LogLevel::kError);
  fuzz::FuzzInput in(data, size);
  ServerHarness h;
  const Profile profile = in.Bool() ? Profile::kV1Compat : Profile::kV2;
  HonestClient c(h, profile, TestUser(1));
  FUZZ_CHECK(c.Handshake(), "an honest hello is accepted");
  FUZZ_CHECK(c.Request(UdpRequest()) && c.Receive() && c.connected(), "the association opens");
  FUZZ_CHECK(h.dialer().datagram_sockets().size() == 1, "one socket per association");
  MemoryDatagrams& udp = *h.dialer().datagram_sockets()[0];

  std::vector<Expected> sealed;   // well-formed datagrams the client sealed, where they go
  std::vector<Expected> arrived;  // datagrams injected, as the client must see them
  bool vanished = false;
  while (!in.empty() && !vanished) {
    switch (in.U8() % 8) {
      case 0:
      case 1: {
        const Bytes payload_data = in.Bytes(in.U16() % 2000);
        std::optional<UdpEndpoint> to;
        const Bytes payload = DatagramTo(in, payload_data, &to);
        const Bytes frame = c.Seal(FrameType::kData, payload);
        if (frame.empty()) break;  // sealing after CLOSE is refused
        c.SendRaw(frame);
        if (to) sealed.push_back({*to, payload_data});
        break;
      }
      case 2: {  // a payload of the fuzzer's: may not decode (a session error)
        const Bytes payload = in.Bytes(1 + in.U8());
        const Bytes frame = c.Seal(FrameType::kData, payload);
        if (frame.empty()) break;
        c.SendRaw(frame);
        if (const std::optional<Expected> e = WhereItGoes(payload)) sealed.push_back(*e);
        break;
      }
      case 3: {
        const Bytes frame = c.Seal(in.Bool() ? FrameType::kPadding : FrameType::kTiming, in.Bytes(in.U8()));
        if (!frame.empty()) c.SendRaw(frame);
        break;
      }
      case 4: {  // a datagram from the world, of any size
        const UdpEndpoint from = SomeEndpoint(in);
        const size_t n = in.Bool() ? in.U16() % 20000 : in.U8();
        Bytes bytes(n, static_cast<uint8_t>(n));
        for (size_t i = 0; i < n && !in.empty() && i < 64; ++i) bytes[i] = in.U8();
        udp.Inject(from, bytes);
        arrived.push_back({from, bytes});
        h.Poll();
        break;
      }
      case 5:
        udp.send_room = udp.sent.size() + in.U8() % 4;
        break;
      case 6: {
        const Bytes frame = c.SealClose();
        if (!frame.empty()) c.SendRaw(frame);
        break;
      }
      case 7: {  // the client vanishes mid-frame
        const Bytes frame = c.Seal(FrameType::kData, in.Bytes(1 + in.U8()));
        if (!frame.empty()) c.SendRaw(std::span<const uint8_t>(frame).first(frame.size() / 2));
        vanished = true;
        break;
      }
    }
    (void)c.Receive();
  }
  c.peer().CloseSend();
  h.Poll();
  (void)c.Receive();

  std::vector<Expected> sent;
  for (const MemoryDatagrams::Datagram& d : udp.sent) sent.push_back({d.peer, d.bytes});
  FUZZ_CHECK(IsSubsequence(sent, sealed), "the socket sends only the client's datagrams, in order, whole");
  std::vector<Expected> received;
  for (const Bytes& payload : c.payloads()) {
    DatagramAddress source;
    size_t n = 0;
    FUZZ_CHECK(DecodeDatagram(payload, &source, &n) == Error::kOk, "every datagram to the client decodes");
    asio::ip::address ip;
    FUZZ_CHECK(IpAddressOf(source, &ip), "a source is an IP address");
    received.push_back({UdpEndpoint(ip, source.port), Bytes(payload.begin() + static_cast<ptrdiff_t>(n), payload.end())});
  }
  std::vector<Expected> arrived_as_seen;  // a mapped IPv4 source is seen as IPv4 (SPEC 15.2)
  for (const Expected& a : arrived) {
    const DatagramAddress form = DatagramAddressOf(a.peer);
    asio::ip::address ip;
    (void)IpAddressOf(form, &ip);
    arrived_as_seen.push_back({UdpEndpoint(ip, a.peer.port()), a.bytes});
  }
  FUZZ_CHECK(IsSubsequence(received, arrived_as_seen), "the client gets only datagrams that arrived, in order, whole");
  FUZZ_CHECK(udp.closed, "the association's socket is closed");
  CheckAllReturned(h);
  return 0;
}
