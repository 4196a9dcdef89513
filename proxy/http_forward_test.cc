// The HTTP proxy's absolute-form requests (RFC 9112 section 3.2.2), their
// responses, hop-by-hop fields (RFC 9110 section 7.6.1), and where bodies
// end (RFC 9112 section 6.3).
#include "proxy/http_forward.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace reflex::proxy {
namespace {

std::span<const uint8_t> S(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

ForwardRequest Request(std::string_view text, HttpForwardStatus expect = HttpForwardStatus::kOk) {
  ForwardRequest r;
  size_t used = 0;
  EXPECT_EQ(ParseForwardRequest(S(text), &used, &r), expect) << text;
  if (expect == HttpForwardStatus::kOk) {
    EXPECT_EQ(used, text.size());
  }
  return r;
}

TEST(HttpForward, AnAbsoluteFormRequestBecomesOriginFormWithTheTargetsHost) {
  const ForwardRequest r = Request(
      "GET http://example.test:8080/a/b?c=d HTTP/1.1\r\nHost: wrong.test\r\nUser-Agent: curl\r\n"
      "Proxy-Connection: keep-alive\r\nAccept: */*\r\n\r\n");
  EXPECT_EQ(r.target.host, "example.test");
  EXPECT_EQ(r.target.port, 8080);
  EXPECT_EQ(r.head,
            "GET /a/b?c=d HTTP/1.1\r\nHost: example.test:8080\r\nUser-Agent: curl\r\nAccept: */*\r\n\r\n");
  EXPECT_EQ(r.body, BodyKind::kNone);
  EXPECT_FALSE(r.close);
}

TEST(HttpForward, TheDefaultPortIs80AndAnEmptyPathIsTheRoot) {
  const ForwardRequest r = Request("HEAD http://example.test HTTP/1.1\r\n\r\n");
  EXPECT_EQ(r.target.port, 80);
  EXPECT_TRUE(r.head_method);
  EXPECT_EQ(r.head, "HEAD / HTTP/1.1\r\nHost: example.test\r\n\r\n");
  const ForwardRequest v6 = Request("GET http://[2001:db8::1]/x HTTP/1.1\r\n\r\n");
  EXPECT_EQ(v6.target.host, "2001:db8::1");
  EXPECT_EQ(v6.target.port, 80);
  EXPECT_EQ(Request("GET http://[::1]:81/ HTTP/1.1\r\n\r\n").target.port, 81);
}

TEST(HttpForward, HopByHopFieldsAndThoseConnectionNamesAreNotForwarded) {
  const ForwardRequest r = Request(
      "POST http://t.test/ HTTP/1.1\r\nConnection: keep-alive, X-Secret\r\nKeep-Alive: timeout=5\r\n"
      "X-Secret: 1\r\nTE: trailers\r\nUpgrade: h2c\r\nProxy-Authorization: Basic eDp5\r\n"
      "Content-Length: 3\r\nX-Kept: yes\r\n\r\n");
  EXPECT_EQ(r.head, "POST / HTTP/1.1\r\nHost: t.test\r\nContent-Length: 3\r\nX-Kept: yes\r\n\r\n");
  EXPECT_EQ(r.authorization, "Basic eDp5");
  EXPECT_EQ(r.body, BodyKind::kLength);
  EXPECT_EQ(r.length, 3u);
}

TEST(HttpForward, CloseIsWhatTheApplicationAskedOrHttp10) {
  EXPECT_TRUE(Request("GET http://t.test/ HTTP/1.1\r\nConnection: close\r\n\r\n").close);
  EXPECT_TRUE(Request("GET http://t.test/ HTTP/1.1\r\nProxy-Connection: close\r\n\r\n").close);
  const ForwardRequest old = Request("GET http://t.test/ HTTP/1.0\r\n\r\n");
  EXPECT_TRUE(old.close);
  EXPECT_EQ(old.head, "GET / HTTP/1.0\r\nHost: t.test\r\nConnection: close\r\n\r\n");
}

TEST(HttpForward, ExpectContinueIsAnsweredHereNotForwarded) {
  const ForwardRequest r = Request("PUT http://t.test/f HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n");
  EXPECT_TRUE(r.expect_continue);
  EXPECT_EQ(r.head, "PUT /f HTTP/1.1\r\nHost: t.test\r\nContent-Length: 1\r\n\r\n");
}

TEST(HttpForward, AmbiguousFramingAndOtherSchemesAreRefused) {
  Request("POST http://t.test/ HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
          HttpForwardStatus::kBadRequest);
  Request("POST http://t.test/ HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", HttpForwardStatus::kBadRequest);
  Request("POST http://t.test/ HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", HttpForwardStatus::kBadRequest);
  Request("POST http://t.test/ HTTP/1.1\r\nContent-Length: -1\r\n\r\n", HttpForwardStatus::kBadRequest);
  Request("GET https://t.test/ HTTP/1.1\r\n\r\n", HttpForwardStatus::kNotHttp);
  Request("GET http://user@t.test/ HTTP/1.1\r\n\r\n", HttpForwardStatus::kBadRequest);
  Request("GET /relative HTTP/1.1\r\n\r\n", HttpForwardStatus::kBadRequest);
  Request("GET http://t.test/ HTTP/2\r\n\r\n", HttpForwardStatus::kBadRequest);
  Request("GET http://t.test/ HTTP/1.1\r\n folded\r\n\r\n", HttpForwardStatus::kBadRequest);
  Request("GET http://t.test/ HTTP/1.1\r\nX : y\r\n\r\n", HttpForwardStatus::kBadRequest);
  Request("GET http://t.test/ HTTP/1.1\r\n", HttpForwardStatus::kNeedMore);
  EXPECT_EQ(Request("POST http://t.test/ HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n").body, BodyKind::kChunked);
}

// A lone LF or CR, a NUL: what the next parser would read as another line
// than this proxy did is refused, never passed on.
TEST(HttpForward, ControlCharactersAnywhereInAHeadAreRefused) {
  Request("GET http://t.test/ HTTP/1.1\r\nX: a\nInjected: 1\r\n\r\n", HttpForwardStatus::kBadRequest);
  Request("GET http://t.test/ HTTP/1.1\r\nX: a\rb\r\n\r\n", HttpForwardStatus::kBadRequest);
  Request(std::string("GET http://t.test/ HTTP/1.1\r\nX: a") + '\0' + "b\r\n\r\n", HttpForwardStatus::kBadRequest);
  Request("GET http://t.test/a\nb HTTP/1.1\r\n\r\n", HttpForwardStatus::kBadRequest);
  Request("GET http://t.test/a b HTTP/1.1\r\n\r\n", HttpForwardStatus::kBadRequest);
  Request("G(T http://t.test/ HTTP/1.1\r\n\r\n", HttpForwardStatus::kBadRequest);
  Request("POST http://t.test/ HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", HttpForwardStatus::kBadRequest);
  ForwardResponse r;
  size_t used = 0;
  EXPECT_EQ(ParseForwardResponse(S("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"), false,
                                 &used, &r),
            HttpForwardStatus::kBadRequest);
  EXPECT_EQ(ParseForwardResponse(S("HTTP/1.1 200 O\x01K\r\n\r\n"), false, &used, &r), HttpForwardStatus::kBadRequest);
}

TEST(HttpForward, AQueryOrFragmentRightAfterTheHostIsTheRootsAtTheOrigin) {
  EXPECT_EQ(Request("GET http://t.test?x=1 HTTP/1.1\r\n\r\n").head, "GET /?x=1 HTTP/1.1\r\nHost: t.test\r\n\r\n");
  EXPECT_EQ(Request("GET http://t.test#f HTTP/1.1\r\n\r\n").head, "GET / HTTP/1.1\r\nHost: t.test\r\n\r\n");
}

TEST(HttpForward, SwitchingProtocolsIsRefusedSinceNoUpgradeIsForwarded) {
  ForwardResponse r;
  size_t used = 0;
  EXPECT_EQ(ParseForwardResponse(S("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n"), false, &used, &r),
            HttpForwardStatus::kBadRequest);
}

TEST(HttpForward, ResponsesLoseHopByHopFieldsAndSayWhenTheConnectionEnds) {
  ForwardResponse r;
  size_t used = 0;
  const std::string_view ok = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nKeep-Alive: timeout=5\r\nConnection: keep-alive\r\n\r\nhello";
  ASSERT_EQ(ParseForwardResponse(S(ok), false, &used, &r), HttpForwardStatus::kOk);
  EXPECT_EQ(used, ok.size() - 5);
  EXPECT_EQ(r.head, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
  EXPECT_EQ(r.body, BodyKind::kLength);
  EXPECT_FALSE(r.close);

  ASSERT_EQ(ParseForwardResponse(S("HTTP/1.1 200 OK\r\nServer: x\r\n\r\n"), false, &used, &r), HttpForwardStatus::kOk);
  EXPECT_EQ(r.body, BodyKind::kUntilClose) << "no length: the body runs to the end";
  EXPECT_TRUE(r.close);
  EXPECT_EQ(r.head, "HTTP/1.1 200 OK\r\nServer: x\r\nConnection: close\r\n\r\n");

  ASSERT_EQ(ParseForwardResponse(S("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"), true, &used, &r), HttpForwardStatus::kOk);
  EXPECT_EQ(r.body, BodyKind::kNone) << "the answer to HEAD";
  for (const char* bodiless : {"HTTP/1.1 204 No Content\r\n\r\n", "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
                               "HTTP/1.1 100 Continue\r\n\r\n"}) {
    ASSERT_EQ(ParseForwardResponse(S(bodiless), false, &used, &r), HttpForwardStatus::kOk) << bodiless;
    EXPECT_EQ(r.body, BodyKind::kNone) << bodiless;
    EXPECT_FALSE(r.close) << bodiless;
  }
  EXPECT_EQ(ParseForwardResponse(S("HTTP/1.1 2000 OK\r\n\r\n"), false, &used, &r), HttpForwardStatus::kBadRequest);
  EXPECT_EQ(ParseForwardResponse(S("SSH-2.0-x\r\n\r\n"), false, &used, &r), HttpForwardStatus::kBadRequest);
}

// The body's bytes, fed in pieces of every size: where it ends.
size_t BodyEnd(BodyKind kind, uint64_t length, std::string_view stream, size_t piece, bool* ok) {
  BodyFramer f(kind, length);
  size_t at = 0;
  *ok = true;
  while (at < stream.size() && !f.done()) {
    size_t used = 0;
    if (!f.Consume(S(stream.substr(at, piece)), &used)) {
      *ok = false;
      return at;
    }
    at += used;
    if (used < std::min(piece, stream.size() - at + used)) break;
  }
  return at;
}

TEST(HttpForward, AChunkedBodyEndsAfterItsLastChunkAndTrailersWhateverThePieces) {
  const std::string body = "5\r\nhello\r\n1a; ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: 1\r\n\r\n";
  const std::string next = "GET http://t.test/ HTTP/1.1\r\n\r\n";
  for (size_t piece = 1; piece <= body.size() + 1; ++piece) {
    bool ok = false;
    EXPECT_EQ(BodyEnd(BodyKind::kChunked, 0, body + next, piece, &ok), body.size()) << piece;
    EXPECT_TRUE(ok);
  }
  bool ok = true;
  (void)BodyEnd(BodyKind::kChunked, 0, "5;a\nb\r\nhello\r\n0\r\n\r\n", 24, &ok);
  EXPECT_FALSE(ok) << "a lone LF in an extension";
  (void)BodyEnd(BodyKind::kChunked, 0, "0\r\nX: 1\n\r\n", 12, &ok);
  EXPECT_FALSE(ok) << "a lone LF in a trailer";
  (void)BodyEnd(BodyKind::kChunked, 0, "zz\r\n", 4, &ok);
  EXPECT_FALSE(ok) << "not a size";
  (void)BodyEnd(BodyKind::kChunked, 0, "1\r\nab\r\n", 7, &ok);
  EXPECT_FALSE(ok) << "more data than the size";
  (void)BodyEnd(BodyKind::kChunked, 0, "ffffffffffffffffff\r\n", 20, &ok);
  EXPECT_FALSE(ok) << "a size no chunk has";
}

TEST(HttpForward, ALengthBodyEndsAtItsLength) {
  bool ok = false;
  EXPECT_EQ(BodyEnd(BodyKind::kLength, 5, "helloGET", 3, &ok), 5u);
  BodyFramer none(BodyKind::kNone, 0);
  EXPECT_TRUE(none.done());
}

}  // namespace
}  // namespace reflex::proxy
