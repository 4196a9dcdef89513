// The client's HTTP proxy for plain http:// requests (RFC 9112 section
// 3.2.2's absolute form: "GET http://host/path HTTP/1.1"), sans-IO: a
// request head becomes the origin-form head the target gets, a response
// head the one the application gets, both without their hop-by-hop
// fields (RFC 9110 section 7.6.1), and BodyFramer finds where a message's
// body ends (RFC 9112 section 6.3) so one connection carries request after
// request (keep-alive).
#ifndef REFLEX_PROXY_HTTP_FORWARD_H_
#define REFLEX_PROXY_HTTP_FORWARD_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "proxy/address.h"

namespace reflex::proxy {

// The largest response head taken from a target.
inline constexpr size_t kMaxResponseHeadBytes = 64 * 1024;

enum class BodyKind : uint8_t {
  kNone,        // no body
  kLength,      // Content-Length bytes
  kChunked,     // chunked transfer coding, to its last chunk and trailers
  kUntilClose,  // (responses) until the target ends its stream
};

enum class HttpForwardStatus : uint8_t {
  kOk,
  kNeedMore,
  kTooLarge,    // no end of head within the limit (431; 502 for a response)
  kBadRequest,  // malformed (control characters included), or framing a proxy must not guess (400; 502)
  kNotHttp,     // absolute form of another scheme (400)
};

struct ForwardRequest {
  HostPort target;         // from the URI (port 80 when it has none)
  std::string head;        // origin form, hop-by-hop fields removed
  BodyKind body = BodyKind::kNone;
  uint64_t length = 0;     // kLength
  bool head_method = false;  // HEAD: the response has no body
  bool http10 = false;       // an HTTP/1.0 request: no 1xx responses to it
  bool close = false;      // the application asked for the connection to end after
  bool expect_continue = false;  // "Expect: 100-continue" (answered here, not forwarded)
  std::string_view authorization;  // Proxy-Authorization's value (into the input)
};

// A request head in absolute form (`in` holds it and maybe more: *consumed
// is its length).
HttpForwardStatus ParseForwardRequest(std::span<const uint8_t> in, size_t* consumed, ForwardRequest* out);

struct ForwardResponse {
  int status = 0;
  std::string head;  // hop-by-hop fields removed
  BodyKind body = BodyKind::kNone;
  uint64_t length = 0;
  bool close = false;  // the connection ends after it (asked, or its body runs to the end)
};

// A response head; `head_method` for the answer to a HEAD request.
// `searched`: how much of `in` an earlier call already found no end of
// head in (a head arriving a byte at a time costs linear time, not
// quadratic). A 101 is refused: this proxy never forwards an Upgrade.
HttpForwardStatus ParseForwardResponse(std::span<const uint8_t> in, bool head_method, size_t* consumed,
                                       ForwardResponse* out, size_t searched = 0);

// Where a body ends, fed the bytes after its head as they come.
class BodyFramer {
 public:
  BodyFramer(BodyKind kind, uint64_t length) : kind_(kind), left_(length) {}
  // How many of `in` belong to the body (all of them until it ends); false
  // for a chunked coding that is malformed.
  [[nodiscard]] bool Consume(std::span<const uint8_t> in, size_t* used);
  bool done() const;

 private:
  enum class Chunk : uint8_t { kSize, kSizeExtension, kSizeLf, kData, kDataCr, kDataLf, kTrailer, kTrailerLf, kDone };
  bool ConsumeChunked(std::span<const uint8_t> in, size_t* used);

  BodyKind kind_;
  uint64_t left_;  // kLength: bytes still to come; chunked: of the current chunk
  Chunk chunk_ = Chunk::kSize;
  bool size_digits_ = false;
  size_t line_ = 0;  // bytes of the current trailer line
};

// The 100 (Continue) the proxy answers an Expect: 100-continue with, and
// the proxy's own error responses (400, 407, 431, 502, 504).
std::string_view HttpContinueResponse();
std::string_view HttpForwardError(int status);

}  // namespace reflex::proxy

#endif  // REFLEX_PROXY_HTTP_FORWARD_H_
