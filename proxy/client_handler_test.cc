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
      if (e.kind == SessionEventKind::kData) data_.insert(data_.end(), e.data.begin(), e.data.end());
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
  bool peer_closed() const { return peer_closed_; }

 private:
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

TEST_F(ClientHandler, AnHttpRequestThatIsNotConnectIsAnswered405) {
  MemoryPeer& app = Start(LocalProtocol::kHttpConnect);
  app.Send(B("GET http://example.test/ HTTP/1.1\r\n\r\n"));
  Poll();
  const Bytes reply = app.Take();
  EXPECT_EQ(std::string(reply.begin(), reply.begin() + 12), "HTTP/1.1 405");
  EXPECT_TRUE(app.HandlerClosed());
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

TEST_F(ClientPhases, ReadHttpConnectRequestHandsAConnectToDialServerAndAnswersAGet405) {
  Open(LocalProtocol::kHttpConnect);
  app_->Send(B("CONNECT example.test:443 HTTP/1.1\r\n\r\n"));
  EXPECT_EQ(Run(ClientPhase::kReadHttpConnectRequest), ClientPhase::kDialServer);
  app_->CloseSend();
  Poll();

  Open(LocalProtocol::kHttpConnect);
  app_->Send(B("GET / HTTP/1.1\r\n\r\n"));
  EXPECT_EQ(Run(ClientPhase::kReadHttpConnectRequest), ClientPhase::kEnd);
  const Bytes reply = app_->Take();
  EXPECT_EQ(std::string(reply.begin(), reply.begin() + 12), "HTTP/1.1 405");
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
