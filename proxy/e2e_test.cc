// End to end on loopback: real curl through `reflex client` and `reflex
// server` to a local HTTP server; probes against the server with a
// capturing fallback; faults. Every wait is bounded; every process is
// killed when the test ends.
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "proxy/e2e/child_process.h"
#include "proxy/e2e/reflex_process.h"
#include "proxy/e2e/test_dns_server.h"
#include "proxy/e2e/test_servers.h"
#include "proxy/egress_policy.h"
#include "reflex/client_session.h"
#include "reflex/crypto_init.h"
#include "reflex/random.h"
#include "reflex/session_types.h"
#include "reflex/wire.h"
#include "proxy/address.h"

namespace reflex::proxy::e2e {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t kMiB = 1 << 20;
constexpr char kCurl[] = "/usr/bin/curl";

struct CurlResult {
  int status = -1;  // curl's exit status
  std::string body;
  std::string error;
};

CurlResult Curl(std::vector<std::string> args, const std::string& tag) {
  std::vector<std::string> argv = {kCurl, "-s", "-S", "--max-time", "120", "-o",
                                   TestDir() + "/" + tag + ".body"};
  argv.insert(argv.end(), args.begin(), args.end());
  ChildProcess curl(argv, TestDir(), tag + ".curl");
  CurlResult r;
  r.status = curl.Wait(150s).value_or(-1);
  r.body = ReadFile(TestDir() + "/" + tag + ".body");
  r.error = curl.ReadStderr();
  return r;
}

class Proxy : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_EQ(InitCrypto(), Error::kOk);
    ASSERT_EQ(access(kCurl, X_OK), 0) << "curl is needed (tools/bootstrap.sh installs it)";
    http_ = new HttpFileServer;
    capture_ = new RecordingListener({"127.0.0.1", 0}, RecordingListener::Mode::kCapture);
    server_ = ReflexProcess::Server("server", http_->port(), {"--profile", "v2", "--profile", "v1-compat"})
                  .release();
    probed_ = ReflexProcess::Server("probed", capture_->port(),
                                    {"--profile", "v2", "--profile", "v1-compat", "--hello-wait", "1500"})
                  .release();
    ASSERT_TRUE(server_->ok()) << server_->child().ReadStderr();
    ASSERT_TRUE(probed_->ok()) << probed_->child().ReadStderr();
    v2_ = ReflexProcess::Client("client-v2", server_->port()).release();
    v1_ = ReflexProcess::Client("client-v1", server_->port(), {"--profile", "v1-compat"}).release();
    ASSERT_TRUE(v2_->ok()) << v2_->child().ReadStderr();
    ASSERT_TRUE(v1_->ok()) << v1_->child().ReadStderr();
  }
  static void TearDownTestSuite() {
    for (ReflexProcess* p : {v1_, v2_, probed_, server_}) delete p;
    delete capture_;
    delete http_;
  }

  // Both ends of the tunnels went back to idle: nothing open, every pooled
  // buffer and state returned.
  static void ExpectIdle(ReflexProcess* p) {
    const nlohmann::json s = p->WaitIdle(10s);
    EXPECT_TRUE(IsIdle(s)) << s.dump();
  }

  static std::string Url(const std::string& path) {
    return "http://localhost:" + std::to_string(http_->port()) + path;
  }

  static HttpFileServer* http_;
  static RecordingListener* capture_;
  static ReflexProcess* server_;
  static ReflexProcess* probed_;
  static ReflexProcess* v2_;
  static ReflexProcess* v1_;
};

HttpFileServer* Proxy::http_;
RecordingListener* Proxy::capture_;
ReflexProcess* Proxy::server_;
ReflexProcess* Proxy::probed_;
ReflexProcess* Proxy::v2_;
ReflexProcess* Proxy::v1_;

const uint64_t kSizes[] = {0, 1024, kMiB, 64 * kMiB};

void ExpectFetched(const CurlResult& r, uint64_t size) {
  ASSERT_EQ(r.status, 0) << r.error;
  EXPECT_EQ(r.body.size(), size);
  EXPECT_EQ(Sha256Hex(r.body), ContentSha256(size));
}

TEST_F(Proxy, CurlThroughSocks5FetchesEveryFileByteIdenticalInBothProfiles) {
  for (ReflexProcess* client : {v2_, v1_}) {
    for (const uint64_t size : kSizes) {
      SCOPED_TRACE(std::to_string(size) + (client == v2_ ? " v2" : " v1-compat"));
      ExpectFetched(Curl({"--socks5-hostname", "127.0.0.1:" + std::to_string(client->port()),
                          Url("/bytes/" + std::to_string(size))},
                         "socks"),
                    size);
    }
  }
  ExpectIdle(v2_);
  ExpectIdle(v1_);
  ExpectIdle(server_);
}

// By default a log line names a peer by a keyed hash of its address and
// leaves the target out (it is at debug level); --log-peers full and
// --log-targets put both back.
TEST_F(Proxy, LogLinesHashPeersAndLeaveTargetsOutUnlessAskedFor) {
  ExpectFetched(Curl({"--socks5-hostname", "127.0.0.1:" + std::to_string(v2_->port()), Url("/bytes/1")},
                     "private"),
                1);
  ExpectIdle(server_);
  ExpectIdle(v2_);
  for (ReflexProcess* p : {server_, v2_}) {
    const std::string log = p->child().ReadStderr();
    EXPECT_NE(log.find(" peer=h:"), std::string::npos) << log;
    EXPECT_EQ(log.find(" peer=127.0.0.1"), std::string::npos) << log;
    EXPECT_EQ(log.find(" target=localhost"), std::string::npos) << log;
  }

  auto server = ReflexProcess::Server("open-log", http_->port(), {"--log-peers", "full", "--log-targets"});
  ASSERT_TRUE(server->ok()) << server->child().ReadStderr();
  auto client = ReflexProcess::Client("open-log-client", server->port(), {"--log-peers", "full", "--log-targets"});
  ASSERT_TRUE(client->ok()) << client->child().ReadStderr();
  ExpectFetched(Curl({"--socks5-hostname", "127.0.0.1:" + std::to_string(client->port()), Url("/bytes/1")},
                     "open-log"),
                1);
  ExpectIdle(server.get());
  ExpectIdle(client.get());
  for (ReflexProcess* p : {server.get(), client.get()}) {
    const std::string log = p->child().ReadStderr();
    EXPECT_NE(log.find(" peer=127.0.0.1:"), std::string::npos) << log;
    EXPECT_NE(log.find(" target=localhost:" + std::to_string(http_->port())), std::string::npos) << log;
  }
}

// --local-user closes the client's ports to whoever lacks the password:
// curl with it fetches through both protocols, curl without it or with a
// wrong one gets nothing.
TEST_F(Proxy, WithLocalUsersOnlyTheRightPasswordOpensATunnelThroughSocks5OrHttp) {
  auto client = ReflexProcess::Client("local-users", server_->port(), {"--local-user", "alice:s3cret"});
  ASSERT_TRUE(client->ok()) << client->child().ReadStderr();
  const std::string cmdline = ReadFile("/proc/" + std::to_string(client->child().pid()) + "/cmdline");
  EXPECT_NE(cmdline.find("--local-user"), std::string::npos);
  EXPECT_EQ(cmdline.find("s3cret"), std::string::npos) << "ps shows no password";
  const std::string socks = "127.0.0.1:" + std::to_string(client->port());
  const std::string http = "http://127.0.0.1:" + std::to_string(client->http_port());
  ExpectFetched(Curl({"-x", "socks5h://alice:s3cret@" + socks, Url("/bytes/1024")}, "auth-socks"), 1024);
  ExpectFetched(Curl({"--proxytunnel", "--proxy", http, "--proxy-user", "alice:s3cret", Url("/bytes/1024")},
                     "auth-http"),
                1024);
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"-x", "socks5h://" + socks, Url("/bytes/1")},
        std::vector<std::string>{"-x", "socks5h://alice:wrong@" + socks, Url("/bytes/1")},
        std::vector<std::string>{"--proxytunnel", "--proxy", http, Url("/bytes/1")},
        std::vector<std::string>{"--proxytunnel", "--proxy", http, "--proxy-user", "alice:wrong",
                                 Url("/bytes/1")}}) {
    const CurlResult r = Curl(args, "auth-refused");
    EXPECT_NE(r.status, 0) << args[1];
    EXPECT_TRUE(r.body.empty()) << args[1];
  }
  ExpectIdle(client.get());
  const std::string log = client->child().ReadStderr();
  EXPECT_NE(log.find("close=local_auth_failed"), std::string::npos) << log;
  EXPECT_EQ(log.find("s3cret"), std::string::npos) << "no password in the log";
}

// Bound beyond loopback without local users the client would be an open
// proxy spending its owner's credential: it refuses to start, saying why.
// Each --local-user takes one value: a word after it is not a second
// password that would escape being hidden from ps.
TEST(CommandLine, LocalUserTakesOneValue) {
  ChildProcess p({Runfile("proxy/reflex"), "client", "--server", "127.0.0.1:1", "--user", kUser1, "--socks",
                  "127.0.0.1:0", "--local-user", "a:1", "b:2", "--check-config"},
                 TestDir(), "local-user-two-words");
  EXPECT_EQ(p.Wait(20s).value_or(-1), 2) << p.ReadStderr();
}

TEST(CommandLine, TheClientRefusesANonLoopbackPortWithoutLocalUsers) {
  ChildProcess p({Runfile("proxy/reflex"), "client", "--server", "127.0.0.1:1", "--user", kUser1, "--socks",
                  "0.0.0.0:0"},
                 TestDir(), "open-proxy");
  EXPECT_EQ(p.Wait(20s).value_or(-1), 1);
  const std::string err = p.ReadStderr();
  EXPECT_NE(err.find("refusing to listen on 0.0.0.0:0 without --local-user"), std::string::npos) << err;
  EXPECT_NE(err.find("--allow-open-proxy"), std::string::npos) << err;
}

TEST_F(Proxy, CurlThroughHttpConnectFetchesEveryFileByteIdenticalInBothProfiles) {
  for (ReflexProcess* client : {v2_, v1_}) {
    for (const uint64_t size : kSizes) {
      SCOPED_TRACE(std::to_string(size) + (client == v2_ ? " v2" : " v1-compat"));
      ExpectFetched(Curl({"--proxytunnel", "--proxy", "http://127.0.0.1:" + std::to_string(client->http_port()),
                          Url("/bytes/" + std::to_string(size))},
                         "connect"),
                    size);
    }
  }
  ExpectIdle(server_);
}

TEST_F(Proxy, EachMorphingProfileFetchesAndUploadsIntact) {
  for (const char* morph : {"youtube", "zoom", "http2-api"}) {
    SCOPED_TRACE(morph);
    auto client = ReflexProcess::Client(std::string("client-") + morph, server_->port(), {"--morph", morph});
    ASSERT_TRUE(client->ok()) << client->child().ReadStderr();
    const std::string socks = "127.0.0.1:" + std::to_string(client->port());
    for (const uint64_t size : kSizes) {
      SCOPED_TRACE(size);
      ExpectFetched(Curl({"--socks5-hostname", socks, Url("/bytes/" + std::to_string(size))}, "morph"), size);
    }
    // What the client sends is shaped: an upload crosses many slots.
    const std::string upload = TestDir() + "/upload.bin";
    const Bytes data = Content(7, 64 * 1024);
    FILE* f = fopen(upload.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    fwrite(data.data(), 1, data.size(), f);
    fclose(f);
    const CurlResult r = Curl({"--socks5-hostname", socks, "--data-binary", "@" + upload,
                               "-H", "Content-Type: application/octet-stream", Url("/upload")},
                              "upload");
    ASSERT_EQ(r.status, 0) << r.error;
    EXPECT_EQ(r.body, "65536 " + Sha256Hex(std::string(data.begin(), data.end())) + "\n");
    ExpectIdle(client.get());
  }
}

TEST_F(Proxy, APlainHttpRequestToTheServerGetsTheFallbacksPageExactly) {
  const CurlResult r = Curl({"http://127.0.0.1:" + std::to_string(server_->port()) + "/"}, "plain");
  ASSERT_EQ(r.status, 0) << r.error;
  EXPECT_EQ(r.body, kIndexPage);
  ExpectIdle(server_);
}

// A probe against the server whose fallback captures: the first of the
// capture's connections since the test began that carries anything must
// hold exactly `sent`, and end when the probe ends. (A connection the
// server dialed early and a genuine hello left unused carries nothing.)
class Probes : public Proxy {
 protected:
  void SetUp() override {
    Proxy::SetUp();
    from_ = capture_->count();
  }
  void ExpectCaptured(const Bytes& sent, BlockingSocket& probe) {
    if (sent.empty()) {
      ASSERT_TRUE(capture_->WaitForNew(from_, 10s)) << "the fallback never got a connection";
    } else {
      ASSERT_NE(capture_->WaitForUsed(from_, sent.size(), false, 10s), 0u) << "the fallback never got the bytes";
    }
    probe.ShutdownSend();
    const size_t n = capture_->WaitForUsed(from_, sent.size(), true, 10s);
    ASSERT_NE(n, 0u) << "the fallback's connection never ended";
    EXPECT_EQ(capture_->Connections()[n - 1].bytes, sent);
    EXPECT_TRUE(capture_->Connections()[n - 1].ended) << "the probe's end of stream was passed on";
  }
  size_t from_ = 0;
};

Bytes TlsClientHello() {
  // A TLS 1.2 record carrying a ClientHello-shaped handshake of 508 bytes.
  Bytes b = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03};
  const Bytes rest = Content(99, 512 + 5 - b.size());
  b.insert(b.end(), rest.begin(), rest.end());
  return b;
}

TEST_F(Probes, AnHttpRequestReachesTheFallbackByteExact) {
  BlockingSocket p(probed_->port());
  const std::string req = "GET /admin HTTP/1.1\r\nHost: example.com\r\nUser-Agent: probe\r\n\r\n";
  ASSERT_TRUE(p.Send(req));
  ExpectCaptured(Bytes(req.begin(), req.end()), p);
}

TEST_F(Probes, ATlsClientHelloReachesTheFallbackByteExact) {
  BlockingSocket p(probed_->port());
  const Bytes hello = TlsClientHello();
  ASSERT_TRUE(p.Send(hello));
  ExpectCaptured(hello, p);
}

TEST_F(Probes, SeventySixRandomBytesAndWhatFollowsReachTheFallbackByteExact) {
  BlockingSocket p(probed_->port());
  Bytes sent(76);
  Csprng().Fill(sent);
  sent[0] = 'X';  // not the v1 magic
  ASSERT_TRUE(p.Send(sent));
  const Bytes more = Content(5, 3000);
  ASSERT_TRUE(p.Send(more));
  sent.insert(sent.end(), more.begin(), more.end());
  ExpectCaptured(sent, p);
}

TEST_F(Probes, SeventyFiveBytesReachTheFallbackAtOnce) {
  BlockingSocket p(probed_->port());
  const Bytes sent = Content(11, 75);
  ASSERT_TRUE(p.Send(sent));
  // Judged at the first read (SPEC 12.1): long before the hello wait (1.5 s)
  // would end, while the probe is still silent.
  ASSERT_NE(capture_->WaitForUsed(from_, 75, false, 750ms), 0u);
  ExpectCaptured(sent, p);
}

TEST_F(Probes, NothingThenSilenceReachesTheFallbackAsAnEmptyConnection) {
  BlockingSocket p(probed_->port());
  ExpectCaptured({}, p);
}

// A sender of one byte at a time: each reaches the fallback before the
// next is sent, the first well within the hello wait.
TEST_F(Probes, ASlowSendersBytesReachTheFallbackOneByOneInOrder) {
  BlockingSocket p(probed_->port());
  Bytes sent;
  for (int i = 0; i < 6; ++i) {
    const uint8_t b = static_cast<uint8_t>('a' + i);
    ASSERT_TRUE(p.Send(std::span<const uint8_t>(&b, 1)));
    sent.push_back(b);
    ASSERT_NE(capture_->WaitForUsed(from_, sent.size(), false, 750ms), 0u) << "byte " << i;
  }
  ExpectCaptured(sent, p);
}

TEST_F(Probes, ARecordedClientHelloReplayedLaterGoesToTheFallback) {
  for (const char* profile : {"v2", "v1-compat"}) {
    SCOPED_TRACE(profile);
    RecordingRelay relay(probed_->port(), 76);
    auto client = ReflexProcess::Client(std::string("recorded-") + profile, relay.port(),
                                        {"--profile", profile});
    ASSERT_TRUE(client->ok());
    ExpectFetched(Curl({"--socks5-hostname", "127.0.0.1:" + std::to_string(client->port()),
                        Url("/bytes/1024")},
                       "recorded"),
                  1024);
    const std::vector<Bytes> recorded = relay.Recorded();
    ASSERT_EQ(recorded.size(), 1u);
    ASSERT_EQ(recorded[0].size(), 76u);
    from_ = capture_->count();
    BlockingSocket replay(probed_->port());
    Bytes sent = recorded[0];
    sent.insert(sent.end(), {'t', 'a', 'i', 'l'});
    ASSERT_TRUE(replay.Send(sent));
    ExpectCaptured(sent, replay);
  }
}

// Faults: each ends cleanly (bounded), and both processes go back to idle
// with no descriptor left behind.
class Faults : public Proxy {
 protected:
  // The descriptors open once the process is idle (and it must become
  // idle: nothing open, every buffer and state back in its pool).
  static uint64_t Fds(ReflexProcess* p) {
    const nlohmann::json s = p->WaitIdle(10s);
    EXPECT_TRUE(IsIdle(s)) << s.dump();
    return s.is_object() ? s["fds"].get<uint64_t>() : 0;
  }
};

TEST_F(Faults, TheTargetClosingEarlyEndsTheTransferAndLeaksNothing) {
  const uint64_t server_fds = Fds(server_), client_fds = Fds(v2_);
  const CurlResult r = Curl({"--socks5-hostname", "127.0.0.1:" + std::to_string(v2_->port()),
                             Url("/close-early/" + std::to_string(4 * kMiB))},
                            "close-early");
  EXPECT_EQ(r.status, 18) << "curl: partial file; " << r.error;
  EXPECT_EQ(r.body.size(), 2 * kMiB);
  EXPECT_EQ(Fds(server_), server_fds);
  EXPECT_EQ(Fds(v2_), client_fds);
}

TEST_F(Faults, TheTargetResettingEndsTheTransferAndLeaksNothing) {
  const uint64_t server_fds = Fds(server_), client_fds = Fds(v2_);
  const CurlResult r = Curl({"--socks5-hostname", "127.0.0.1:" + std::to_string(v2_->port()),
                             Url("/reset/" + std::to_string(4 * kMiB))},
                            "reset");
  EXPECT_NE(r.status, 0);
  EXPECT_LE(r.body.size(), 2 * kMiB);
  EXPECT_EQ(Sha256Hex(r.body), Sha256Hex(std::string(reinterpret_cast<const char*>(
                                                          Content(0, r.body.size()).data()),
                                                      r.body.size())))
      << "what arrived is a prefix of the file";
  EXPECT_EQ(Fds(server_), server_fds);
  EXPECT_EQ(Fds(v2_), client_fds);
}

TEST_F(Faults, AClientVanishingMidFrameLeavesTheServerIdle) {
  const uint64_t server_fds = Fds(server_);
  BlockingSocket s(server_->port());
  SystemClock clock;
  Csprng random;
  ClientConfig config;
  config.profile = Profile::kV2;
  ASSERT_TRUE(ParseUserId(kUser1, &config.user));
  ClientSession c(config, clock, random);
  ASSERT_EQ(c.Start(), Error::kOk);
  const auto hello = c.PendingOutput();
  ASSERT_TRUE(s.Send(hello));
  c.ConsumeOutput(hello.size());
  Bytes reply = s.ReadExactly(kServerHelloBytesV2, 10s);
  size_t used = 0;
  SessionEvent e;
  ASSERT_EQ(c.Receive(reply, &used, &e), Error::kOk);
  ASSERT_EQ(e.kind, SessionEventKind::kHandshakeDone);
  RequestHeader request;
  ASSERT_TRUE(RequestHeaderFor({"127.0.0.1", http_->port()}, &request));
  Bytes frame(kMaxFrameBytes);
  size_t n = 0;
  ASSERT_EQ(c.SealRequest(request, {}, frame, &n), Error::kOk);
  ASSERT_TRUE(s.Send(std::span<const uint8_t>(frame).first(n)));
  ASSERT_EQ(c.Seal(FrameType::kData, Content(0, 5000), frame, &n), Error::kOk);
  ASSERT_TRUE(s.Send(std::span<const uint8_t>(frame).first(n / 2)));
  s.Close();
  EXPECT_EQ(Fds(server_), server_fds);
}

TEST_F(Faults, AFallbackThatRefusesClosesTheProbeWithNothingSent) {
  auto server = ReflexProcess::Server("refusing-fallback", UnusedPort());
  ASSERT_TRUE(server->ok());
  BlockingSocket p(server->port());
  ASSERT_TRUE(p.Send(std::string("GET / HTTP/1.1\r\n\r\n")));
  bool ended = false;
  EXPECT_TRUE(p.ReadAll(10s, &ended).empty());
  EXPECT_TRUE(ended);
  ExpectIdle(server.get());
}

TEST_F(Faults, AnUnreachableTargetIsRepliedWithSocksCodeFiveOrFour) {
  {
    BlockingSocket s(v2_->port());
    EXPECT_EQ(Socks5Connect(s, "127.0.0.1", UnusedPort()), 5) << "connection refused";
  }
  {
    BlockingSocket s(v2_->port());
    EXPECT_EQ(Socks5Connect(s, "no-such-host.invalid", 80), 4) << "host unreachable";
  }
  ExpectIdle(v2_);
  ExpectIdle(server_);
}

// By default the server reaches no loopback, private or link-local
// address for a user, however the target is spelled; the refusal is the
// SOCKS reply 02 and a log line. --deny-target narrows what an
// --allow-target opened.
TEST_F(Faults, TheDefaultEgressPolicyRefusesTheServersOwnNetworksHoweverTheyAreSpelled) {
  FakeDnsServer dns;  // names it does not know are NXDOMAIN
  auto server = ReflexProcess::ServerWithDefaultPolicy(
      "egress-default", http_->port(), {"--dns-server", "127.0.0.1:" + std::to_string(dns.port())});
  ASSERT_TRUE(server->ok()) << server->child().ReadStderr();
  auto client = ReflexProcess::Client("egress-client", server->port());
  ASSERT_TRUE(client->ok()) << client->child().ReadStderr();
  for (const char* host : {"127.0.0.1", "localhost", "::ffff:127.0.0.1", "::1", "169.254.169.254",
                           "10.1.2.3"}) {
    SCOPED_TRACE(host);
    BlockingSocket s(client->port());
    EXPECT_EQ(Socks5Connect(s, host, http_->port()), kConnectNotAllowed);
  }
  // Spellings getaddrinfo would read as 127.0.0.1 (inet_aton's forms, a
  // NUL cutting the name short) are names to the resolver (or, with the
  // NUL, not even that), and no such names exist.
  for (const char* host : {"2130706433", "0x7f.1"}) {
    SCOPED_TRACE(host);
    BlockingSocket s(client->port());
    EXPECT_EQ(Socks5Connect(s, host, http_->port()), kConnectHostUnreachable);
  }
  {
    BlockingSocket s(client->port());
    ASSERT_TRUE(s.Send(Bytes{5, 1, 0}));
    ASSERT_EQ(s.ReadExactly(2, 10s), (Bytes{5, 0}));
    const std::string nul_name("127.0.0.1\0.example.com", 23);
    Bytes request = {5, 1, 0, 3, static_cast<uint8_t>(nul_name.size())};
    request.insert(request.end(), nul_name.begin(), nul_name.end());
    request.push_back(static_cast<uint8_t>(http_->port() >> 8));
    request.push_back(static_cast<uint8_t>(http_->port()));
    ASSERT_TRUE(s.Send(request));
    const Bytes reply = s.ReadExactly(10, 10s);
    ASSERT_EQ(reply.size(), 10u);
    EXPECT_EQ(reply[1], kConnectHostUnreachable) << "a domain with a NUL";
  }
  ExpectIdle(server.get());
  const std::string log = server->child().ReadStderr();
  EXPECT_NE(log.find("close=target_not_allowed"), std::string::npos) << log;

  // The host's own address stays refused when the operator opens every
  // IPv4 range (directly it would be "connection refused", 05: the test's
  // HTTP server listens on loopback only).
  std::optional<asio::ip::address> own;
  for (const asio::ip::address& a : HostAddresses()) {
    if (a.is_v4() && !a.is_loopback()) own = a;
  }
  if (own) {
    auto open = ReflexProcess::ServerWithDefaultPolicy("egress-open", http_->port(), {"--allow-target", "0.0.0.0/0"});
    ASSERT_TRUE(open->ok()) << open->child().ReadStderr();
    auto open_client = ReflexProcess::Client("egress-open-client", open->port());
    ASSERT_TRUE(open_client->ok()) << open_client->child().ReadStderr();
    BlockingSocket s(open_client->port());
    EXPECT_EQ(Socks5Connect(s, own->to_string(), http_->port()), kConnectNotAllowed) << own->to_string();
  } else {
    std::printf("SKIPPED the host's own address: no non-loopback IPv4 address here\n");
  }

  auto narrowed = ReflexProcess::Server("egress-narrowed", http_->port(), {"--deny-target", "127.0.0.1"});
  ASSERT_TRUE(narrowed->ok()) << narrowed->child().ReadStderr();
  auto narrowed_client = ReflexProcess::Client("egress-narrowed-client", narrowed->port());
  ASSERT_TRUE(narrowed_client->ok()) << narrowed_client->child().ReadStderr();
  BlockingSocket s(narrowed_client->port());
  EXPECT_EQ(Socks5Connect(s, "127.0.0.1", http_->port()), kConnectNotAllowed)
      << "a /32 denied beats the /8 allowed";
}

TEST_F(Faults, TheServerDyingMidTransferMakesTheClientCloseWithoutHanging) {
  auto server = ReflexProcess::Server("dying-server", http_->port());
  ASSERT_TRUE(server->ok());
  auto client = ReflexProcess::Client("orphaned-client", server->port());
  ASSERT_TRUE(client->ok());
  BlockingSocket s(client->port());
  ASSERT_EQ(Socks5Connect(s, "127.0.0.1", http_->port()), 0);
  const std::string get = "GET /stall/" + std::to_string(4 * kMiB) + " HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_TRUE(s.Send(get));
  const Bytes head = s.ReadExactly(64 * 1024, 10s);
  ASSERT_EQ(head.size(), 64u * 1024) << "the transfer started";
  server->child().Signal(SIGKILL);
  bool ended = false;
  (void)s.ReadAll(10s, &ended);
  EXPECT_TRUE(ended) << "the client closed the application's connection";
  ExpectIdle(client.get());
  EXPECT_NE(client->child().ReadStderr().find("close="), std::string::npos);
}

TEST_F(Faults, ASlowSocksClientHitsTheClientsHandshakeTimeout) {
  auto client = ReflexProcess::Client("slow-socks", server_->port(), {"--handshake-timeout", "1"});
  ASSERT_TRUE(client->ok());
  BlockingSocket s(client->port());
  const auto start = std::chrono::steady_clock::now();
  const uint8_t greeting[] = {5, 1};
  bool ended = false;
  for (const uint8_t b : greeting) {  // one byte a second: never a whole greeting in time
    ASSERT_TRUE(s.Send(std::span<const uint8_t>(&b, 1)));
    (void)s.ReadAll(1s, &ended);
    if (ended) break;
  }
  if (!ended) (void)s.ReadAll(5s, &ended);
  EXPECT_TRUE(ended);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  ExpectIdle(client.get());
}

TEST_F(Faults, SigtermStopsAcceptingAndEndsWhatIsLeftWhenTheDrainTimeoutPasses) {
  auto server = ReflexProcess::Server("drained", http_->port(), {"--drain-timeout", "1", "--stats"});
  ASSERT_TRUE(server->ok());
  auto client = ReflexProcess::Client("drained-client", server->port());
  ASSERT_TRUE(client->ok());
  BlockingSocket s(client->port());
  ASSERT_EQ(Socks5Connect(s, "127.0.0.1", http_->port()), 0);
  ASSERT_TRUE(s.Send(std::string("GET /stall/1048576 HTTP/1.1\r\n\r\n")));
  ASSERT_EQ(s.ReadExactly(1000, 10s).size(), 1000u);
  server->child().Signal(SIGTERM);
  std::this_thread::sleep_for(300ms);
  BlockingSocket late(server->port());
  EXPECT_FALSE(late.connected()) << "a draining server accepts nothing new";
  // The stalled tunnel is still open; the drain timeout (1 s) ends it.
  EXPECT_EQ(server->child().Wait(10s), std::optional<int>(0));
  EXPECT_NE(server->child().ReadStdout().find("\"role\":\"server\""), std::string::npos)
      << "--stats prints the statistics at exit";
  bool ended = false;
  (void)s.ReadAll(10s, &ended);
  EXPECT_TRUE(ended);
}

// The command line: one-line errors, exit status 2 for bad flags.
TEST(CommandLine, BadFlagsPortInUseAndBadConfigGiveOneLineErrors) {
  auto run = [](std::vector<std::string> args, const std::string& tag) {
    args.insert(args.begin(), Runfile("proxy/reflex"));
    ChildProcess p(args, TestDir(), tag);
    const int status = p.Wait(20s).value_or(-1);
    return std::make_pair(status, p.ReadStderr());
  };
  auto [status, err] = run({"server", "--listen", "nowhere", "--user", kUser1, "--fallback", "127.0.0.1:1"}, "badflag");
  EXPECT_EQ(status, 2);
  EXPECT_NE(err.find("HOST:PORT"), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;

  for (const char* range : {"10.0.0.1/8", "10.0.0.0/33", "example.com"}) {
    std::tie(status, err) = run({"server", "--listen", "127.0.0.1:0", "--user", kUser1, "--fallback",
                                 "127.0.0.1:1", "--allow-target", range},
                                "badrange");
    EXPECT_EQ(status, 2) << range;
    EXPECT_NE(err.find("--allow-target"), std::string::npos) << err;
    EXPECT_NE(err.find(range), std::string::npos) << err;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  }

  asio::io_context io;
  asio::ip::tcp::acceptor busy(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const std::string port = std::to_string(busy.local_endpoint().port());
  std::tie(status, err) = run({"server", "--listen", "127.0.0.1:" + port, "--user", kUser1,
                               "--fallback", "127.0.0.1:1"},
                              "inuse");
  EXPECT_EQ(status, 1);
  EXPECT_NE(err.find("cannot listen on 127.0.0.1:" + port), std::string::npos) << err;

  const std::string config = TestDir() + "/bad.json";
  FILE* f = fopen(config.c_str(), "w");
  fputs("{\"listen\": [1, {}]}", f);
  fclose(f);
  std::tie(status, err) = run({"server", "--config", config}, "badconfig");
  EXPECT_NE(status, 0);
  EXPECT_NE(err.find("config"), std::string::npos) << err;
}

// Every numeric flag has a range: a value out of it, not finite, or not a
// number is refused with one line naming the flag, before anything starts
// (a NaN or huge duration converted to milliseconds would be undefined).
TEST(CommandLine, EveryNumericFlagRefusesOutOfRangeAndNonFiniteValues) {
  const std::vector<std::string> server = {"server", "--listen", "127.0.0.1:0", "--user", kUser1,
                                           "--fallback", "127.0.0.1:1"};
  const std::vector<std::string> client = {"client", "--server", "127.0.0.1:1", "--user", kUser1,
                                           "--socks", "127.0.0.1:0"};
  struct Bad {
    const std::vector<std::string>* command;
    std::string flag, value;
  };
  const Bad bad[] = {
      {&server, "--idle-timeout", "0"},        {&server, "--idle-timeout", "nan"},
      {&server, "--idle-timeout", "-5"},       {&server, "--idle-timeout", "1e300"},
      {&client, "--idle-timeout", "inf"},      {&server, "--connect-timeout", "0"},
      {&client, "--connect-timeout", "-inf"},  {&server, "--handshake-timeout", "nan"},
      {&client, "--handshake-timeout", "601"}, {&server, "--drain-timeout", "-1"},
      {&client, "--drain-timeout", "3601"},    {&server, "--drain-timeout", "ten"},
      {&server, "--hello-wait", "0"},          {&server, "--hello-wait", "99999999999999"},
      {&server, "--hello-wait", "-1"},         {&server, "--window", "0"},
      {&server, "--window", "86401"},          {&server, "--replay-capacity", "0"},
      {&server, "--replay-capacity", "1"},     {&server, "--replay-capacity", "99999999999"},
      {&server, "--threads", "-1"},            {&client, "--max-connections", "0"},
      {&server, "--dns-timeout", "0"},         {&client, "--dns-timeout", "61"},
      {&server, "--dns-timeout", "nan"},       {&server, "--max-lookups-per-user", "0"},
      {&server, "--max-lookups-per-user", "1025"}, {&server, "--dns-server", "resolver.example"},
      {&client, "--dns-server", "10.0.0.1:99999"}, {&client, "--dns-server", "10.0.0.1:0"},
  };
  for (const Bad& b : bad) {
    SCOPED_TRACE(b.flag + " " + b.value);
    std::vector<std::string> args = {Runfile("proxy/reflex")};
    args.insert(args.end(), b.command->begin(), b.command->end());
    args.insert(args.end(), {b.flag, b.value});
    ChildProcess p(args, TestDir(), "range");
    EXPECT_EQ(p.Wait(20s).value_or(-1), 2);
    const std::string err = p.ReadStderr();
    EXPECT_NE(err.find(b.flag), std::string::npos) << err;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  }
}

TEST(CommandLine, AConfigFileStandsInForFlagsAndTheCommandLineWins) {
  const std::string config = TestDir() + "/server.json";
  FILE* f = fopen(config.c_str(), "w");
  fprintf(f, "{\"listen\": \"127.0.0.1:1\", \"user\": [\"%s\"], \"fallback\": \"127.0.0.1:9\", "
             "\"profile\": [\"v2\", \"v1-compat\"], \"log-level\": \"debug\"}", kUser1);
  fclose(f);
  ChildProcess p({Runfile("proxy/reflex"), "server", "--config", config, "--listen", "127.0.0.1:0"},
                 TestDir(), "config");
  EXPECT_NE(p.WaitForListening("server", 20s), 0) << p.ReadStderr();
}

// --check-config checks what a start would (flags, the config file, the
// users, the ranges) and exits: it binds nothing, so a port in use is fine.
TEST(CommandLine, CheckConfigValidatesWithoutStarting) {
  auto run = [](std::vector<std::string> args, const std::string& tag) {
    args.insert(args.begin(), Runfile("proxy/reflex"));
    ChildProcess p(args, TestDir(), tag);
    const int status = p.Wait(20s).value_or(-1);
    return std::make_pair(status, p.ReadStderr());
  };
  asio::io_context io;
  asio::ip::tcp::acceptor busy(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const std::string listen = "127.0.0.1:" + std::to_string(busy.local_endpoint().port());
  auto write = [](const std::string& name, const std::string& text) {
    const std::string path = TestDir() + "/" + name;
    FILE* f = fopen(path.c_str(), "w");
    fputs(text.c_str(), f);
    fclose(f);
    return path;
  };
  const std::string good = write("good.json", "{\"listen\": \"" + listen + "\", \"user\": [\"" + kUser1 +
                                                   "\"], \"fallback\": \"127.0.0.1:1\", \"allow-target\": [\"10.0.0.0/8\"]}");
  auto [status, err] = run({"server", "--config", good, "--check-config"}, "check-good");
  EXPECT_EQ(status, 0) << err;
  EXPECT_EQ(err, "reflex: configuration ok\n");

  const std::string twice = write("twice.json", "{\"listen\": \"" + listen + "\", \"user\": [\"" + kUser1 +
                                                    "\", \"" + kUser1 + "\"], \"fallback\": \"127.0.0.1:1\"}");
  std::tie(status, err) = run({"server", "--config", twice, "--check-config"}, "check-twice");
  EXPECT_EQ(status, 1);
  EXPECT_NE(err.find("users must be distinct"), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;

  const std::string typo = write("typo.json", "{\"listen\": \"" + listen + "\", \"usr\": \"x\"}");
  std::tie(status, err) = run({"server", "--config", typo, "--check-config"}, "check-typo");
  EXPECT_NE(status, 0);
  EXPECT_NE(err.find("unknown key 'usr'"), std::string::npos) << err;
}

TEST(CommandLine, UuidPrintsAFreshVersion4Id) {
  ChildProcess a({Runfile("proxy/reflex"), "uuid"}, TestDir(), "uuid-a");
  ChildProcess b({Runfile("proxy/reflex"), "uuid"}, TestDir(), "uuid-b");
  ASSERT_EQ(a.Wait(10s), std::optional<int>(0));
  ASSERT_EQ(b.Wait(10s), std::optional<int>(0));
  const std::string x = a.ReadStdout(), y = b.ReadStdout();
  UserId id;
  ASSERT_EQ(x.size(), 37u);
  EXPECT_TRUE(ParseUserId(x.substr(0, 36), &id));
  EXPECT_EQ(x[14], '4');
  EXPECT_NE(x, y);
}

}  // namespace
}  // namespace reflex::proxy::e2e
