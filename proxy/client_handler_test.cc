// The client's local connection handler (SOCKS5, HTTP CONNECT) on
// in-memory connections, with the test playing the Reflex server through
// the library's ServerSession.
#include "proxy/client_handler.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "proxy/testing/memory_transport.h"
#include "proxy/testing/phase_driver.h"
#include "reflex/crypto_init.h"
#include "reflex/testing/session_test_util.h"

namespace reflex::proxy {
namespace {

using reflex::testing::FakeClock;
using reflex::testing::SeededRandom;
using reflex::testing::TestUser;
using testing::Bytes;
using testing::MemoryDialer;
using testing::MemoryLink;
using testing::MemoryPeer;

Bytes B(std::string_view s) { return Bytes(s.begin(), s.end()); }

// The Reflex server, played by the test on the dialer's far end.
class PlayedServer {
 public:
  PlayedServer(const ServerContext& context, const Clock& clock, RandomSource& random)
      : session_(context, clock, random) {}

  // Feeds what the client sent; returns false once the session failed.
  bool Receive(MemoryPeer& peer) {
    const Bytes in = peer.Take();
    buffer_.insert(buffer_.end(), in.begin(), in.end());
    size_t at = 0;
    bool ok = true;
    while (true) {
      size_t used = 0;
      SessionEvent e;
      if (session_.Receive(std::span<uint8_t>(buffer_).subspan(at), &used, &e) != Error::kOk) {
        ok = false;
        break;
      }
      at += used;
      if (e.kind == SessionEventKind::kHandshakeDone) {
        const auto reply = session_.PendingOutput();
        peer.Send(reply);
        session_.ConsumeOutput(reply.size());
      }
      if (e.kind == SessionEventKind::kRequest) {
        request_ = e.request;
        data_.insert(data_.end(), e.data.begin(), e.data.end());
      }
      if (e.kind == SessionEventKind::kData) {
        data_.insert(data_.end(), e.data.begin(), e.data.end());
        payloads_.emplace_back(e.data.begin(), e.data.end());
      }
      if (e.kind == SessionEventKind::kPeerClosed) peer_closed_ = true;
      if (e.kind == SessionEventKind::kError || e.kind == SessionEventKind::kFallback) {
        ok = false;
        break;
      }
      if (e.kind == SessionEventKind::kNone && used == 0) break;
    }
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<ptrdiff_t>(at));
    return ok;
  }
  Bytes ConnectResult(uint8_t code) {
    Bytes out(kFrameOverheadBytes + 1);
    size_t n = 0;
    EXPECT_EQ(session_.SealConnectResult(code, out, &n), Error::kOk);
    out.resize(n);
    return out;
  }
  Bytes Seal(std::span<const uint8_t> data) {
    Bytes out(kMaxFrameBytes);
    size_t n = 0;
    EXPECT_EQ(session_.Seal(FrameType::kData, data, out, &n), Error::kOk);
    out.resize(n);
    return out;
  }
  Bytes SealClose() {
    Bytes out(kFrameOverheadBytes);
    size_t n = 0;
    EXPECT_EQ(session_.SealClose(out, &n), Error::kOk);
    out.resize(n);
    return out;
  }
  const std::optional<RequestHeader>& request() const { return request_; }
  const Bytes& data() const { return data_; }
  // Each DATA frame's payload (a UDP association's datagrams).
  const std::vector<Bytes>& payloads() const { return payloads_; }
  bool peer_closed() const { return peer_closed_; }

 private:
  std::vector<Bytes> payloads_;
  ServerSession session_;
  Bytes buffer_;
  std::optional<RequestHeader> request_;
  Bytes data_;
  bool peer_closed_ = false;
};

class ClientHandler : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_EQ(InitCrypto(), Error::kOk); }

  ClientHandler() : random_(3), server_random_(4), dialer_(io_.get_executor()) {
    ServerConfig config;
    config.users = {TestUser(1)};
    EXPECT_EQ(ServerContext::Create(config, &context_), Error::kOk);
    pool::PoolOptions options;
    pool_ = std::make_unique<pool::BufferPool>(options);
    states_ = std::make_unique<ClientStatePool>(options);
    env_.pool = pool_.get();
    env_.stats = &stats_;
    env_.clock = &clock_;
    env_.random = &random_;
    env_.states = states_.get();
    env_.sweeper = &sweeper_;
    env_.server = {"reflex.test", 443};
    env_.session.profile = Profile::kV2;
    env_.session.user = TestUser(1);
  }
  ~ClientHandler() override {
    app_->CloseSend();
    for (auto& d : dialer_.dialed()) d.peer.CloseSend();
    Poll();
  }

  MemoryPeer& Start(LocalProtocol protocol) {
    auto [stream, peer] = MemoryLink(io_.get_executor());
    ++running_;
    asio::co_spawn(io_, ServeLocalConnection(std::move(stream), protocol, env_, dialer_),
                   [this](std::exception_ptr) { --running_; });
    app_.emplace(std::move(peer));
    return *app_;
  }
  void Poll() {
    io_.restart();
    io_.poll();
  }
  MemoryPeer& server_peer() { return dialer_.dialed().at(0).peer; }
  void ExpectAllReturned() {
    Poll();
    EXPECT_EQ(running_, 0);
    EXPECT_EQ(pool_->Stats().total_outstanding(), 0u);
    EXPECT_EQ(states_->Stats().total_outstanding(), 0u);
  }
  // An HTTP request to the proxy port; the played server takes the
  // client's handshake and request.
  MemoryPeer& RequestThroughHttpPort(PlayedServer& server, std::string_view request) {
    MemoryPeer& app = Start(LocalProtocol::kHttpConnect);
    app.Send(B(request));
    Poll();
    EXPECT_TRUE(server.Receive(server_peer()));
    Poll();
    EXPECT_TRUE(server.Receive(server_peer()));
    return app;
  }
  // SOCKS5 greeting and a CONNECT to 10.1.2.3:80 (then `extra`).
  void SocksConnect(MemoryPeer& app, const Bytes& extra = {}) {
    app.Send(Bytes{5, 1, 0});
    Poll();
    EXPECT_EQ(app.Take(), (Bytes{5, 0}));
    Bytes request = {5, 1, 0, 1, 10, 1, 2, 3, 0, 80};
    request.insert(request.end(), extra.begin(), extra.end());
    app.Send(request);
    Poll();
  }

  asio::io_context io_{1};
  Sweeper sweeper_{io_.get_executor()};
  FakeClock clock_;
  SeededRandom random_;
  SeededRandom server_random_;
  std::unique_ptr<ServerContext> context_;
  std::unique_ptr<pool::BufferPool> pool_;
  std::unique_ptr<ClientStatePool> states_;
  Stats stats_;
  ClientEnv env_;
  MemoryDialer dialer_;
  std::optional<MemoryPeer> app_;
  int running_ = 0;
};

TEST_F(ClientHandler, ASocksConnectIsRepliedSucceededOnlyAfterTheServersConnectResult) {
  MemoryPeer& app = Start(LocalProtocol::kSocks5);
  SocksConnect(app, B("early"));
  ASSERT_EQ(dialer_.dialed().size(), 1u);
  EXPECT_EQ(dialer_.dialed()[0].target.host, "reflex.test");
  PlayedServer server(*context_, clock_, server_random_);
  ASSERT_TRUE(server.Receive(server_peer()));  // the hello: answered
  Poll();
  ASSERT_TRUE(server.Receive(server_peer()));  // the request
  ASSERT_TRUE(server.request().has_value());
  EXPECT_EQ(TargetOf(*server.request()).host, "10.1.2.3");
  EXPECT_EQ(TargetOf(*server.request()).port, 80);
  EXPECT_TRUE(app.Take().empty());  // no reply before the connect result

  server_peer().Send(server.ConnectResult(kConnectOk));
  Poll();
  EXPECT_EQ(app.Take(), (Bytes{5, 0, 0, 1, 0, 0, 0, 0, 0, 0}));
  ASSERT_TRUE(server.Receive(server_peer()));
  EXPECT_EQ(server.data(), B("early"));  // pipelined bytes follow the request

  app.Send(B("up"));
  Poll();
  ASSERT_TRUE(server.Receive(server_peer()));
  EXPECT_EQ(server.data(), B("earlyup"));
  server_peer().Send(server.Seal(B("down")));
  Poll();
  EXPECT_EQ(app.Take(), B("down"));
  app.CloseSend();
  Poll();
  ASSERT_TRUE(server.Receive(server_peer()));
  EXPECT_TRUE(server.peer_closed());
}

TEST_F(ClientHandler, ARefusedTargetIsRepliedWithTheServersCode) {
  for (const uint8_t code : {kConnectHostUnreachable, kConnectRefused}) {
    SCOPED_TRACE(code);
    dialer_.dialed().clear();
    MemoryPeer& app = Start(LocalProtocol::kSocks5);
    SocksConnect(app);
    PlayedServer server(*context_, clock_, server_random_);
    ASSERT_TRUE(server.Receive(server_peer()));
    Poll();
    ASSERT_TRUE(server.Receive(server_peer()));
    server_peer().Send(server.ConnectResult(code));
    Poll();
    EXPECT_EQ(app.Take(), (Bytes{5, code, 0, 1, 0, 0, 0, 0, 0, 0}));
    EXPECT_TRUE(app.HandlerClosed());
    ExpectAllReturned();
  }
}

TEST_F(ClientHandler, AnUnreachableServerIsRepliedGeneralFailure) {
  dialer_.FailWith(asio::error::connection_refused);
  MemoryPeer& app = Start(LocalProtocol::kSocks5);
  SocksConnect(app);
  EXPECT_EQ(app.Take(), (Bytes{5, 1, 0, 1, 0, 0, 0, 0, 0, 0}));
  EXPECT_TRUE(app.HandlerClosed());
  ExpectAllReturned();
}

TEST_F(ClientHandler, SocksCommandsOtherThanConnectAreRepliedNotSupported) {
  MemoryPeer& app = Start(LocalProtocol::kSocks5);
  app.Send(Bytes{5, 1, 0});
  Poll();
  EXPECT_EQ(app.Take(), (Bytes{5, 0}));
  app.Send(Bytes{5, 2, 0, 1, 10, 1, 2, 3, 0, 80});  // BIND
  Poll();
  EXPECT_EQ(app.Take(), (Bytes{5, 7, 0, 1, 0, 0, 0, 0, 0, 0}));
  EXPECT_TRUE(app.HandlerClosed());
  EXPECT_TRUE(dialer_.dialed().empty());
  ExpectAllReturned();
}

TEST_F(ClientHandler, AGreetingWithoutNoAuthenticationIsRefusedWithFF) {
  MemoryPeer& app = Start(LocalProtocol::kSocks5);
  app.Send(Bytes{5, 1, 2});  // username/password only
  Poll();
  EXPECT_EQ(app.Take(), (Bytes{5, 0xFF}));
  EXPECT_TRUE(app.HandlerClosed());
  ExpectAllReturned();
}

TEST_F(ClientHandler, AnHttpConnectIsAnswered200AfterTheConnectResult) {
  MemoryPeer& app = Start(LocalProtocol::kHttpConnect);
  app.Send(B("CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n"));
  Poll();
  PlayedServer server(*context_, clock_, server_random_);
  ASSERT_TRUE(server.Receive(server_peer()));
  Poll();
  ASSERT_TRUE(server.Receive(server_peer()));
  ASSERT_TRUE(server.request().has_value());
  EXPECT_EQ(TargetOf(*server.request()).host, "example.test");
  EXPECT_TRUE(app.Take().empty());
  server_peer().Send(server.ConnectResult(kConnectOk));
  Poll();
  EXPECT_EQ(app.Take(), B("HTTP/1.1 200 Connection established\r\n\r\n"));
}

TEST_F(ClientHandler, AnAbsoluteFormRequestGoesInOriginFormThroughATunnelToItsTarget) {
  PlayedServer server(*context_, clock_, server_random_);
  MemoryPeer& app =
      RequestThroughHttpPort(server, "GET http://example.test/a?b HTTP/1.1\r\nProxy-Connection: keep-alive\r\n\r\n");
  ASSERT_TRUE(server.request().has_value());
  EXPECT_EQ(FormatHostPort(TargetOf(*server.request())), "example.test:80");
  EXPECT_TRUE(server.data().empty()) << "the request waits for the connect result";
  server_peer().Send(server.ConnectResult(kConnectOk));
  Poll();
  ASSERT_TRUE(server.Receive(server_peer()));
  EXPECT_EQ(server.data(), B("GET /a?b HTTP/1.1\r\nHost: example.test\r\n\r\n"));
  EXPECT_TRUE(app.Take().empty()) << "no 200 of the proxy's own";
  server_peer().Send(server.Seal(B("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")));
  Poll();
  EXPECT_EQ(app.Take(), B("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"));
  EXPECT_FALSE(app.HandlerClosed()) << "kept alive for the next request";
  app.CloseSend();
  Poll();
  ASSERT_TRUE(server.Receive(server_peer()));
  EXPECT_TRUE(server.peer_closed()) << "the tunnel ends with CLOSE";
  server_peer().CloseSend();
  ExpectAllReturned();
}

TEST_F(ClientHandler, AResponseCutShortResetsTheApplicationsConnection) {
  PlayedServer server(*context_, clock_, server_random_);
  MemoryPeer& app = RequestThroughHttpPort(server, "GET http://example.test/ HTTP/1.1\r\n\r\n");
  server_peer().Send(server.ConnectResult(kConnectOk));
  server_peer().Send(server.Seal(B("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf")));
  server_peer().Send(server.SealClose());
  Poll();
  EXPECT_TRUE(app.HandlerAborted()) << "a cut body must not look whole";
  ExpectAllReturned();
}

TEST_F(ClientHandler, AfterATamperedServerFrameNothingMoreIsDeliveredAndBothSidesClose) {
  MemoryPeer& app = Start(LocalProtocol::kSocks5);
  SocksConnect(app);
  PlayedServer server(*context_, clock_, server_random_);
  ASSERT_TRUE(server.Receive(server_peer()));
  Poll();
  ASSERT_TRUE(server.Receive(server_peer()));
  server_peer().Send(server.ConnectResult(kConnectOk));
  Poll();
  app.Take();
  Bytes bad = server.Seal(B("tampered"));
  bad[5] ^= 0x80;
  server_peer().Send(bad);
  server_peer().Send(server.Seal(B("after")));
  Poll();
  EXPECT_TRUE(app.Take().empty());
  EXPECT_TRUE(app.HandlerAborted()) << "the application must not take the cut for an end";
  EXPECT_TRUE(server_peer().HandlerAborted());
  ExpectAllReturned();
}


// --- Each phase on its own: what it does with its input, and which phase
// it hands over to.

class ClientPhases : public ClientHandler {
 protected:
  using Connection = ClientConnection<testing::MemoryStream, MemoryDialer>;

  void Open(LocalProtocol protocol) {
    auto [stream, peer] = MemoryLink(io_.get_executor());
    app_.emplace(std::move(peer));
    connection_.emplace(std::move(stream), protocol, env_, dialer_, *state_);
    driver_.emplace(io_, *connection_);
  }
  // A phase still waiting ends with its input before the connection goes.
  ~ClientPhases() override {
    if (app_) app_->CloseSend();
    for (auto& d : dialer_.dialed()) d.peer.CloseSend();
    Poll();
  }
  std::optional<ClientPhase> Run(ClientPhase phase) { return driver_->Run(phase); }
  const ConnectionRecord& record() const { return state_->record; }
  // A SOCKS5 CONNECT read, the server dialed and its hello answered.
  void UpToTheRequest(PlayedServer& server, const Bytes& extra = {}) {
    Open(LocalProtocol::kSocks5);
    Bytes local = {5, 1, 0, 5, 1, 0, 1, 10, 1, 2, 3, 0, 80};
    local.insert(local.end(), extra.begin(), extra.end());
    app_->Send(local);
    ASSERT_EQ(Run(ClientPhase::kReadSocks5Request), ClientPhase::kDialServer);
    ASSERT_EQ(app_->Take(), (Bytes{5, 0}));
    ASSERT_EQ(Run(ClientPhase::kDialServer), ClientPhase::kReadServerHello);
    ASSERT_TRUE(server.Receive(server_peer()));
    ASSERT_EQ(Run(ClientPhase::kReadServerHello), ClientPhase::kReadConnectResult);
    ASSERT_TRUE(server.Receive(server_peer()));
    ASSERT_TRUE(server.request().has_value());
  }

  ClientStatePool::Handle state_ = states_->Get();
  std::optional<Connection> connection_;
  std::optional<testing::PhaseDriver<Connection, ClientPhase>> driver_;
};

TEST_F(ClientPhases, ReadSocks5RequestAnswersTheGreetingThenHandsTheRequestToDialServer) {
  Open(LocalProtocol::kSocks5);
  app_->Send(Bytes{5, 1, 0});
  EXPECT_EQ(Run(ClientPhase::kReadSocks5Request), std::nullopt);
  EXPECT_EQ(app_->Take(), (Bytes{5, 0}));
  app_->Send(Bytes{5, 1, 0, 1, 10, 1, 2, 3, 0, 80});
  EXPECT_EQ(driver_->Poll(), ClientPhase::kDialServer);
  EXPECT_TRUE(dialer_.dialed().empty()) << "dialing is DialServer's";
}

TEST_F(ClientPhases, ReadSocks5RequestEndsOnAGreetingWithoutNoAuthentication) {
  Open(LocalProtocol::kSocks5);
  app_->Send(Bytes{5, 1, 2});
  EXPECT_EQ(Run(ClientPhase::kReadSocks5Request), ClientPhase::kEnd);
  EXPECT_EQ(app_->Take(), (Bytes{5, 0xFF}));
  EXPECT_EQ(record().reason, CloseReason::kLocalRequestRefused);
}

TEST_F(ClientPhases, ReadHttpConnectRequestHandsAConnectToDialServerAndAnswersAnOriginFormGet400) {
  Open(LocalProtocol::kHttpConnect);
  app_->Send(B("CONNECT example.test:443 HTTP/1.1\r\n\r\n"));
  EXPECT_EQ(Run(ClientPhase::kReadHttpConnectRequest), ClientPhase::kDialServer);
  app_->CloseSend();
  Poll();

  Open(LocalProtocol::kHttpConnect);
  app_->Send(B("GET / HTTP/1.1\r\n\r\n"));  // origin form: no target to go to
  EXPECT_EQ(Run(ClientPhase::kReadHttpConnectRequest), ClientPhase::kEnd);
  const Bytes reply = app_->Take();
  EXPECT_EQ(std::string(reply.begin(), reply.begin() + 12), "HTTP/1.1 400");
}

// With --local-user, SOCKS5 requires RFC 1929 username/password and HTTP
// CONNECT a Basic Proxy-Authorization; anything else ends the connection.
class ClientPhasesWithLocalUsers : public ClientPhases {
 protected:
  ClientPhasesWithLocalUsers() {
    std::string alice = "alice:s3cret";
    EXPECT_TRUE(users_.Add(alice));
    env_.local_users = &users_;
  }
  // The HTTP port answers `head` 407 and ends the connection.
  void ExpectHttp407(const char* head) {
    SCOPED_TRACE(head);
    Open(LocalProtocol::kHttpConnect);
    app_->Send(B(head));
    EXPECT_EQ(Run(ClientPhase::kReadHttpConnectRequest), ClientPhase::kEnd);
    const Bytes reply = app_->Take();
    EXPECT_EQ(std::string(reply.begin(), reply.begin() + 12), "HTTP/1.1 407");
    EXPECT_EQ(record().reason, CloseReason::kLocalAuthFailed);
    app_->CloseSend();
    Poll();
  }
  LocalUsers users_;
};

TEST_F(ClientPhasesWithLocalUsers, Socks5AsksForUsernamePasswordAndGoesOnWhenTheyMatch) {
  Open(LocalProtocol::kSocks5);
  app_->Send(Bytes{5, 2, 0, 2});
  EXPECT_EQ(Run(ClientPhase::kReadSocks5Request), std::nullopt);
  EXPECT_EQ(app_->Take(), (Bytes{5, 2}));
  Bytes auth = {1, 5, 'a', 'l', 'i', 'c', 'e', 6, 's', '3', 'c', 'r', 'e', 't'};
  const Bytes request = {5, 1, 0, 1, 10, 1, 2, 3, 0, 80};
  auth.insert(auth.end(), request.begin(), request.end());
  app_->Send(auth);
  EXPECT_EQ(driver_->Poll(), ClientPhase::kDialServer);
  EXPECT_EQ(app_->Take(), (Bytes{1, 0}));
}

TEST_F(ClientPhasesWithLocalUsers, Socks5RefusesAWrongPasswordAndAGreetingWithoutUsernamePassword) {
  Open(LocalProtocol::kSocks5);
  app_->Send(Bytes{5, 2, 0, 2, 1, 5, 'a', 'l', 'i', 'c', 'e', 6, 's', '3', 'c', 'r', 'e', 'T'});
  EXPECT_EQ(Run(ClientPhase::kReadSocks5Request), ClientPhase::kEnd);
  EXPECT_EQ(app_->Take(), (Bytes{5, 2, 1, 1}));
  EXPECT_EQ(record().reason, CloseReason::kLocalAuthFailed);
  app_->CloseSend();
  Poll();

  Open(LocalProtocol::kSocks5);
  app_->Send(Bytes{5, 1, 0});
  EXPECT_EQ(Run(ClientPhase::kReadSocks5Request), ClientPhase::kEnd);
  EXPECT_EQ(app_->Take(), (Bytes{5, 0xFF})) << "no-authentication is not enough";
}

TEST_F(ClientPhasesWithLocalUsers, HttpConnectNeedsTheRightBasicCredentialsElse407) {
  // "alice:s3cret" in base64.
  Open(LocalProtocol::kHttpConnect);
  app_->Send(B("CONNECT example.test:443 HTTP/1.1\r\nProxy-Authorization: Basic YWxpY2U6czNjcmV0\r\n\r\n"));
  EXPECT_EQ(Run(ClientPhase::kReadHttpConnectRequest), ClientPhase::kDialServer);
  app_->CloseSend();
  Poll();

  for (const char* head : {"CONNECT example.test:443 HTTP/1.1\r\n\r\n",
                           "CONNECT example.test:443 HTTP/1.1\r\nProxy-Authorization: Basic YWxpY2U6czNjcmVU\r\n\r\n",
                           "CONNECT example.test:443 HTTP/1.1\r\nProxy-Authorization: Bearer YWxpY2U6czNjcmV0\r\n\r\n"}) {
    ExpectHttp407(head);
  }
}

TEST_F(ClientPhasesWithLocalUsers, AnAbsoluteFormRequestNeedsTheRightBasicCredentialsElse407) {
  Open(LocalProtocol::kHttpConnect);
  app_->Send(B("GET http://example.test/ HTTP/1.1\r\nProxy-Authorization: Basic YWxpY2U6czNjcmV0\r\n\r\n"));
  EXPECT_EQ(Run(ClientPhase::kReadHttpConnectRequest), ClientPhase::kDialServer);
  app_->CloseSend();
  Poll();

  for (const char* head : {"GET http://example.test/ HTTP/1.1\r\n\r\n",
                           "GET http://example.test/ HTTP/1.1\r\nProxy-Authorization: Basic YWxpY2U6czNjcmVU\r\n\r\n"}) {
    ExpectHttp407(head);
  }
}

TEST_F(ClientPhases, DialServerSendsTheHelloOrHandsAnUnreachableServerToReplyLocal) {
  Open(LocalProtocol::kSocks5);
  app_->Send(Bytes{5, 1, 0, 5, 1, 0, 1, 10, 1, 2, 3, 0, 80});
  ASSERT_EQ(Run(ClientPhase::kReadSocks5Request), ClientPhase::kDialServer);
  EXPECT_EQ(Run(ClientPhase::kDialServer), ClientPhase::kReadServerHello);
  EXPECT_EQ(server_peer().Take().size(), kClientHelloBytesV2);

  dialer_.FailWith(asio::error::connection_refused);
  EXPECT_EQ(Run(ClientPhase::kDialServer), ClientPhase::kReplyLocal);
  EXPECT_EQ(record().reason, CloseReason::kServerUnreachable);
}

TEST_F(ClientPhases, ReadServerHelloSendsTheRequestAndWaitsForTheConnectResult) {
  PlayedServer server(*context_, clock_, server_random_);
  UpToTheRequest(server);
  EXPECT_EQ(TargetOf(*server.request()).host, "10.1.2.3");
  EXPECT_TRUE(app_->Take().empty()) << "no reply before the connect result";
}

TEST_F(ClientPhases, ReadConnectResultHandsEitherOutcomeToReplyLocal) {
  PlayedServer server(*context_, clock_, server_random_);
  UpToTheRequest(server);
  server_peer().Send(server.ConnectResult(kConnectRefused));
  EXPECT_EQ(Run(ClientPhase::kReadConnectResult), ClientPhase::kReplyLocal);
  EXPECT_EQ(record().reason, CloseReason::kTargetRefused);
  EXPECT_EQ(Run(ClientPhase::kReplyLocal), ClientPhase::kEnd);
  EXPECT_EQ(app_->Take(), (Bytes{5, kConnectRefused, 0, 1, 0, 0, 0, 0, 0, 0}));
}

TEST_F(ClientPhases, ReplyLocalAnswersSucceededThenSendEarlyDataSealsThePipelinedBytes) {
  PlayedServer server(*context_, clock_, server_random_);
  UpToTheRequest(server, B("early"));
  server_peer().Send(server.ConnectResult(kConnectOk));
  ASSERT_EQ(Run(ClientPhase::kReadConnectResult), ClientPhase::kReplyLocal);
  EXPECT_EQ(Run(ClientPhase::kReplyLocal), ClientPhase::kSendEarlyData);
  EXPECT_EQ(app_->Take(), (Bytes{5, 0, 0, 1, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(Run(ClientPhase::kSendEarlyData), ClientPhase::kRelay);
  ASSERT_TRUE(server.Receive(server_peer()));
  EXPECT_EQ(server.data(), B("early"));
  EXPECT_EQ(record().up, 5u);
}

TEST_F(ClientPhases, RelayEndsDoneWhenBothDirectionsEndCleanly) {
  PlayedServer server(*context_, clock_, server_random_);
  UpToTheRequest(server);
  server_peer().Send(server.ConnectResult(kConnectOk));
  ASSERT_EQ(Run(ClientPhase::kReadConnectResult), ClientPhase::kReplyLocal);
  ASSERT_EQ(Run(ClientPhase::kReplyLocal), ClientPhase::kSendEarlyData);
  ASSERT_EQ(Run(ClientPhase::kSendEarlyData), ClientPhase::kRelay);
  ASSERT_EQ(app_->Take(), (Bytes{5, 0, 0, 1, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(Run(ClientPhase::kRelay), std::nullopt);
  server_peer().Send(server.Seal(B("down")));
  server_peer().Send(server.SealClose());
  app_->CloseSend();
  EXPECT_EQ(driver_->Poll(), ClientPhase::kEnd);
  EXPECT_EQ(app_->Take(), B("down"));
  EXPECT_EQ(record().reason, CloseReason::kDone);
}

}  // namespace
}  // namespace reflex::proxy

namespace reflex::proxy {
namespace {

// A UDP ASSOCIATE (RFC 1928 section 7, SPEC.md 15.5), the test playing the
// application's UDP side through the relay socket the client opened.
class ClientUdp : public ClientHandler {
 protected:
  // The greeting, UDP ASSOCIATE from `port` (0: not said), the server's
  // handshake and result; true once the reply names the relay.
  bool Associate(PlayedServer& server, uint16_t port = 0, uint8_t result = kConnectOk) {
    MemoryPeer& app = Start(LocalProtocol::kSocks5);
    app.Send(Bytes{5, 1, 0});
    Poll();
    if (app.Take() != Bytes{5, 0}) return false;
    app.Send(Bytes{5, 3, 0, 1, 0, 0, 0, 0, static_cast<uint8_t>(port >> 8), static_cast<uint8_t>(port)});
    Poll();
    if (dialer_.datagram_sockets().size() != 1 || dialer_.dialed().size() != 1) return false;
    relay = dialer_.datagram_sockets()[0];
    if (!server.Receive(server_peer())) return false;
    Poll();
    if (!server.Receive(server_peer()) || !server.request() || server.request()->command != kCommandUdp) return false;
    if (!app.Take().empty()) return false;  // no reply before the result
    server_peer().Send(server.ConnectResult(result));
    Poll();
    reply = app.Take();
    return true;
  }
  // An application datagram: RSV RSV FRAG, then the frame payload.
  void FromApplication(const UdpEndpoint& from, const Bytes& payload, uint8_t frag = 0) {
    Bytes d = {0, 0, frag};
    d.insert(d.end(), payload.begin(), payload.end());
    relay->Inject(from, d);
    Poll();
  }
  std::shared_ptr<testing::MemoryDatagrams> relay;
  Bytes reply;
};

UdpEndpoint Ep(const char* ip, uint16_t port) { return UdpEndpoint(asio::ip::make_address(ip), port); }

Bytes Payload(const char* ip, uint16_t port, const Bytes& data) {
  DatagramAddress a;
  const asio::ip::address address = asio::ip::make_address(ip);
  if (address.is_v4()) {
    a.type = AddressType::kIpv4;
    a.length = 4;
    const auto b = address.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), a.bytes.begin());
  } else {
    a.type = AddressType::kIpv6;
    a.length = 16;
    const auto b = address.to_v6().to_bytes();
    std::copy(b.begin(), b.end(), a.bytes.begin());
  }
  a.port = port;
  Bytes out(kMaxPayloadBytes + 64);
  size_t n = 0;
  EXPECT_EQ(EncodeDatagram(a, data, out, &n), Error::kOk);
  out.resize(n);
  return out;
}

TEST_F(ClientUdp, TheReplyNamesTheRelayOnlyAfterTheServersResultAndDatagramsFlowBothWays) {
  for (const Profile profile : {Profile::kV2, Profile::kV1Compat}) {
    SCOPED_TRACE(ProfileName(profile));
    dialer_.dialed().clear();
    dialer_.datagram_sockets().clear();
    env_.session.profile = profile;
    ServerConfig config;
    config.users = {TestUser(1)};
    config.profiles = {profile};
    std::unique_ptr<ServerContext> context;
    ASSERT_EQ(ServerContext::Create(config, &context), Error::kOk);
    PlayedServer server(*context, clock_, server_random_);
    ASSERT_TRUE(Associate(server));
    const UdpEndpoint bound = relay->local;
    EXPECT_EQ(reply, (Bytes{5, 0, 0, 1, 127, 0, 0, 1, static_cast<uint8_t>(bound.port() >> 8),
                            static_cast<uint8_t>(bound.port())}));
    const Bytes query = Payload("192.0.2.1", 53, B("query"));
    FromApplication(Ep("127.0.0.1", 5353), query);
    ASSERT_TRUE(server.Receive(server_peer()));
    ASSERT_EQ(server.payloads().size(), 1u);
    EXPECT_EQ(server.payloads()[0], query) << "the SOCKS5 datagram without RSV and FRAG";
    server_peer().Send(server.Seal(Payload("192.0.2.1", 53, B("answer"))));
    Poll();
    ASSERT_EQ(relay->sent.size(), 1u);
    EXPECT_EQ(relay->sent[0].peer, Ep("127.0.0.1", 5353)) << "to the application's port";
    Bytes expected = {0, 0, 0};
    const Bytes answer = Payload("192.0.2.1", 53, B("answer"));
    expected.insert(expected.end(), answer.begin(), answer.end());
    EXPECT_EQ(relay->sent[0].bytes, expected);
    app_->CloseSend();  // the control connection ends the association
    Poll();
    ASSERT_TRUE(server.Receive(server_peer()));
    EXPECT_TRUE(server.peer_closed()) << "CLOSE when the control connection ends";
    server_peer().Send(server.SealClose());
    Poll();
    ExpectAllReturned();
    EXPECT_TRUE(relay->closed) << "the relay socket closed";
  }
}

TEST_F(ClientUdp, DatagramsFromElsewhereFragmentsAndMalformedOnesAreDropped) {
  PlayedServer server(*context_, clock_, server_random_);
  ASSERT_TRUE(Associate(server, 7000));
  const Bytes good = Payload("192.0.2.1", 9, B("x"));
  FromApplication(Ep("127.0.0.1", 7001), good);  // not the port the request named
  FromApplication(Ep("127.0.0.2", 7000), good);  // not the application's address
  FromApplication(Ep("127.0.0.1", 7000), good, 1);  // a fragment
  FromApplication(Ep("127.0.0.1", 7000), Bytes{9, 1, 2});  // bad address type
  Bytes too_large = {1, 192, 0, 2, 1, 0, 9};  // one byte more than a frame holds
  too_large.resize(kMaxPayloadBytes + 1, 1);
  FromApplication(Ep("127.0.0.1", 7000), too_large);
  relay->Inject(Ep("127.0.0.1", 7000), Bytes{0, 0});  // shorter than RSV FRAG
  FromApplication(Ep("127.0.0.1", 7000), good);
  ASSERT_TRUE(server.Receive(server_peer()));
  ASSERT_EQ(server.payloads().size(), 1u) << "only the last one";
  EXPECT_EQ(server.payloads()[0], good);
  server_peer().Send(server.SealClose());  // the server ends it
  Poll();
  ASSERT_TRUE(server.Receive(server_peer()));
  EXPECT_TRUE(server.peer_closed()) << "answered with CLOSE";
  EXPECT_TRUE(app_->HandlerClosed()) << "and the control connection closed";
  ExpectAllReturned();
  EXPECT_EQ(stats_.udp.dropped.load(), 6u);
}

TEST_F(ClientUdp, TheFirstDatagramsPortIsTheOneAcceptedWhenTheRequestNamedNone) {
  PlayedServer server(*context_, clock_, server_random_);
  ASSERT_TRUE(Associate(server, 0));
  const Bytes good = Payload("192.0.2.1", 9, B("x"));
  FromApplication(Ep("127.0.0.1", 6000), good);
  FromApplication(Ep("127.0.0.1", 6001), good);
  ASSERT_TRUE(server.Receive(server_peer()));
  EXPECT_EQ(server.payloads().size(), 1u);
}

TEST_F(ClientUdp, ARefusedAssociationIsRepliedWithTheServersCode) {
  PlayedServer server(*context_, clock_, server_random_);
  ASSERT_TRUE(Associate(server, 0, kConnectNotAllowed));
  EXPECT_EQ(reply, (Bytes{5, 2, 0, 1, 0, 0, 0, 0, 0, 0}));
  EXPECT_TRUE(app_->HandlerClosed());
  ExpectAllReturned();
  EXPECT_TRUE(relay->closed);
}

TEST_F(ClientUdp, AServerDatagramBeforeTheApplicationSentOneHasNowhereToGo) {
  PlayedServer server(*context_, clock_, server_random_);
  ASSERT_TRUE(Associate(server, 0));
  server_peer().Send(server.Seal(Payload("192.0.2.1", 53, B("early"))));
  Poll();
  EXPECT_TRUE(relay->sent.empty());
  EXPECT_EQ(running_, 1);
}

TEST_F(ClientUdp, ADatagramInPlaceOfTheResultIsDeliveredWhateverFollowsItInTheSameRead) {
  PlayedServer server(*context_, clock_, server_random_);
  MemoryPeer& app = Start(LocalProtocol::kSocks5);
  app.Send(Bytes{5, 1, 0});
  Poll();
  EXPECT_EQ(app.Take(), (Bytes{5, 0}));
  app.Send(Bytes{5, 3, 0, 1, 0, 0, 0, 0, 0x1b, 0x58});  // from port 7000
  Poll();
  relay = dialer_.datagram_sockets().at(0);
  ASSERT_TRUE(server.Receive(server_peer()));
  Poll();
  ASSERT_TRUE(server.Receive(server_peer()));
  Bytes two = server.Seal(Payload("192.0.2.1", 53, B("first")));  // connected, and a datagram
  const Bytes second = server.Seal(Payload("192.0.2.2", 53, B("second")));
  two.insert(two.end(), second.begin(), second.end());
  server_peer().Send(two);
  Poll();
  EXPECT_EQ(app.Take().size(), 10u) << "the reply";
  ASSERT_EQ(relay->sent.size(), 2u);
  Bytes first = {0, 0, 0};
  const Bytes p1 = Payload("192.0.2.1", 53, B("first"));
  first.insert(first.end(), p1.begin(), p1.end());
  EXPECT_EQ(relay->sent[0].bytes, first);
  EXPECT_EQ(relay->sent[0].peer, Ep("127.0.0.1", 7000));
}

TEST_F(ClientUdp, AMalformedDatagramFromTheServerEndsTheAssociation) {
  PlayedServer server(*context_, clock_, server_random_);
  ASSERT_TRUE(Associate(server, 0));
  server_peer().Send(server.Seal(Bytes{7, 7}));
  Poll();
  EXPECT_TRUE(server_peer().HandlerAborted());
  ExpectAllReturned();
}

}  // namespace
}  // namespace reflex::proxy
