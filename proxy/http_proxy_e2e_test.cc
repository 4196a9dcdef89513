// The client's HTTP proxy for plain http:// URLs (absolute form, RFC 9112
// section 3.2.2) end to end: curl --proxy (no tunnelling) through `reflex
// client` and `reflex server` to an HTTP/1.1 origin on loopback. Every
// wait is bounded; every process is killed when the test ends.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "proxy/e2e/child_process.h"
#include "proxy/e2e/keepalive_http_server.h"
#include "proxy/e2e/reflex_process.h"
#include "proxy/e2e/test_servers.h"
#include "reflex/crypto_init.h"

namespace reflex::proxy::e2e {
namespace {

using namespace std::chrono_literals;

constexpr char kCurl[] = "/usr/bin/curl";

struct CurlRun {
  int status = -1;
  std::string out;  // -w's output
  std::string error;
};

// curl through the HTTP proxy; each URL's body to TestDir()/<tag>-<i>.
CurlRun CurlViaProxy(uint16_t proxy_port, const std::vector<std::string>& urls, const std::string& tag,
                     std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {kCurl, "-s", "-S", "--max-time", "60", "--proxy",
                                   "http://127.0.0.1:" + std::to_string(proxy_port), "-w", "%{http_code} "};
  argv.insert(argv.end(), extra.begin(), extra.end());
  for (size_t i = 0; i < urls.size(); ++i) {
    argv.push_back("-o");
    argv.push_back(TestDir() + "/" + tag + "-" + std::to_string(i));
    argv.push_back(urls[i]);
  }
  ChildProcess curl(argv, TestDir(), tag + ".curl");
  CurlRun r;
  r.status = curl.Wait(90s).value_or(-1);
  r.out = curl.ReadStdout();
  r.error = curl.ReadStderr();
  return r;
}

std::string Body(const std::string& tag, size_t i) { return ReadFile(TestDir() + "/" + tag + "-" + std::to_string(i)); }

class HttpProxy : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_EQ(InitCrypto(), Error::kOk);
    ASSERT_EQ(access(kCurl, X_OK), 0) << "curl is needed (tools/bootstrap.sh installs it)";
    server_ = ReflexProcess::Server("http-server", UnusedPort()).release();
    ASSERT_TRUE(server_->ok()) << server_->child().ReadStderr();
    client_ = ReflexProcess::Client("http-client", server_->port()).release();
    ASSERT_TRUE(client_->ok()) << client_->child().ReadStderr();
  }
  static void TearDownTestSuite() {
    delete client_;
    delete server_;
  }
  // The server's tunnels so far.
  static int Tunnels() { return server_->Stats()["connections"]["tunnels"]; }
  static void ExpectIdle() {
    for (ReflexProcess* p : {client_, server_}) {
      const nlohmann::json s = p->WaitIdle(10s);
      EXPECT_TRUE(IsIdle(s)) << s.dump();
    }
  }
  static std::string Url(const KeepAliveHttpServer& origin, const std::string& path, const char* host = "127.0.0.1") {
    return std::string("http://") + host + ":" + std::to_string(origin.port()) + path;
  }

  static ReflexProcess* server_;
  static ReflexProcess* client_;
};

ReflexProcess* HttpProxy::server_;
ReflexProcess* HttpProxy::client_;

TEST_F(HttpProxy, RequestsToOneTargetShareOneTunnelAndArriveByteExact) {
  KeepAliveHttpServer origin;
  const int tunnels = Tunnels();
  const std::vector<size_t> sizes = {0, 1000, 300000};
  std::vector<std::string> urls;
  for (size_t n : sizes) urls.push_back(Url(origin, "/bytes/" + std::to_string(n)));
  const CurlRun r = CurlViaProxy(client_->http_port(), urls, "keepalive");
  ASSERT_EQ(r.status, 0) << r.error;
  EXPECT_EQ(r.out, "200 200 200 ");
  for (size_t i = 0; i < sizes.size(); ++i) EXPECT_EQ(Sha256Hex(Body("keepalive", i)), ContentSha256(sizes[i])) << i;
  EXPECT_EQ(origin.connections(), 1) << "one connection to the target";
  EXPECT_EQ(Tunnels() - tunnels, 1) << "one tunnel for the three requests";
  ExpectIdle();
}

TEST_F(HttpProxy, AnotherTargetOnTheSameConnectionGetsATunnelOfItsOwn) {
  KeepAliveHttpServer a, b;
  const int tunnels = Tunnels();
  const CurlRun r = CurlViaProxy(client_->http_port(),
                                 {Url(a, "/bytes/10"), Url(b, "/bytes/20"), Url(b, "/bytes/30", "localhost")}, "two");
  ASSERT_EQ(r.status, 0) << r.error;
  EXPECT_EQ(r.out, "200 200 200 ");
  EXPECT_EQ(Body("two", 0).size(), 10u);
  EXPECT_EQ(Body("two", 1).size(), 20u);
  EXPECT_EQ(Body("two", 2).size(), 30u);
  EXPECT_EQ(Tunnels() - tunnels, 3) << "a tunnel per target: 127.0.0.1:a, 127.0.0.1:b, localhost:b";
  ExpectIdle();
}

TEST_F(HttpProxy, ATargetThatClosedAKeptAliveTunnelGetsTheNextRequestOnANewOne) {
  KeepAliveHttpServer origin;
  const CurlRun r = CurlViaProxy(client_->http_port(),
                                 {Url(origin, "/then-close/100"), Url(origin, "/bytes/200"), Url(origin, "/bytes/300")},
                                 "stale");
  ASSERT_EQ(r.status, 0) << r.error;
  EXPECT_EQ(r.out, "200 200 200 ");
  EXPECT_EQ(Body("stale", 1).size(), 200u);
  EXPECT_EQ(origin.connections(), 2) << "the second request on a new connection, the third reusing it";
  ExpectIdle();
}

TEST_F(HttpProxy, ChunkedBodiesGoBothWays) {
  KeepAliveHttpServer origin;
  CurlRun r = CurlViaProxy(client_->http_port(), {Url(origin, "/chunked/50000")}, "chunked");
  ASSERT_EQ(r.status, 0) << r.error;
  EXPECT_EQ(Sha256Hex(Body("chunked", 0)), ContentSha256(50000));
  const std::string upload = TestDir() + "/upload.bin";
  const Bytes content = Content(0, 100000);
  {
    std::ofstream out(upload, std::ios::binary);
    out.write(reinterpret_cast<const char*>(content.data()), static_cast<std::streamsize>(content.size()));
  }
  for (const bool chunked : {true, false}) {
    SCOPED_TRACE(chunked ? "chunked" : "Content-Length");
    std::vector<std::string> extra = {"--data-binary", "@" + upload};
    if (chunked) extra.insert(extra.end(), {"-H", "Transfer-Encoding: chunked"});
    r = CurlViaProxy(client_->http_port(), {Url(origin, "/upload")}, "upload", extra);
    ASSERT_EQ(r.status, 0) << r.error;
    EXPECT_EQ(Body("upload", 0), "100000 " + ContentSha256(100000) + "\n");
  }
  ExpectIdle();
}

TEST_F(HttpProxy, HopByHopFieldsStayOnTheirHopAndTheTargetGetsOriginForm) {
  KeepAliveHttpServer origin;
  const std::string headers = TestDir() + "/response-head";
  const CurlRun r = CurlViaProxy(client_->http_port(), {Url(origin, "/bytes/5")}, "hop",
                                 {"-D", headers, "-H", "Proxy-Connection: keep-alive", "-H", "Connection: X-Private",
                                  "-H", "X-Private: secret", "-H", "Keep-Alive: timeout=9", "-H", "X-Kept: yes",
                                  "-H", "Host: elsewhere.test"});
  ASSERT_EQ(r.status, 0) << r.error;
  const std::vector<std::string> heads = origin.heads();
  ASSERT_EQ(heads.size(), 1u);
  const std::string& head = heads[0];
  EXPECT_EQ(head.rfind("GET /bytes/5 HTTP/1.1\r\n", 0), 0u) << head;
  EXPECT_NE(head.find("\r\nHost: 127.0.0.1:" + std::to_string(origin.port()) + "\r\n"), std::string::npos) << head;
  EXPECT_EQ(head.find("elsewhere.test"), std::string::npos) << "the URI's host wins: " << head;
  EXPECT_NE(head.find("\r\nX-Kept: yes\r\n"), std::string::npos) << head;
  for (const char* gone : {"Proxy-Connection", "X-Private", "Keep-Alive", "Connection"}) {
    EXPECT_EQ(head.find(gone), std::string::npos) << gone << " reached the target: " << head;
  }
  const std::string response = ReadFile(headers);
  EXPECT_EQ(response.find("Keep-Alive"), std::string::npos) << "the target's own hop: " << response;
  ExpectIdle();
}

TEST_F(HttpProxy, AnUnreachableTargetIsABadGatewayAndAConnectStillWorks) {
  const CurlRun r = CurlViaProxy(client_->http_port(), {"http://127.0.0.1:" + std::to_string(UnusedPort()) + "/"},
                                 "unreachable");
  EXPECT_EQ(r.out, "502 ");
  KeepAliveHttpServer origin;
  const CurlRun tunnelled = CurlViaProxy(client_->http_port(), {Url(origin, "/bytes/7")}, "tunnelled",
                                         {"--proxytunnel"});
  ASSERT_EQ(tunnelled.status, 0) << tunnelled.error;
  EXPECT_EQ(Body("tunnelled", 0).size(), 7u) << "CONNECT as before";
  ExpectIdle();
}

}  // namespace
}  // namespace reflex::proxy::e2e
