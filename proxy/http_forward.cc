#include "proxy/http_forward.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <vector>

#include "proxy/http_connect.h"

namespace reflex::proxy {
namespace {

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Whether a comma-separated list (Connection, Transfer-Encoding) holds
// `token`, any case.
bool ListHas(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    if (EqualsIgnoringCase(Trim(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

struct Field {
  std::string_view name, value;
};

// RFC 9110 section 5.6.2's token characters.
bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (const char c : s) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// No control character but HTAB: a lone CR or LF, or a NUL, in what is
// passed on would let the peer after this one see other lines than this
// proxy saw.
bool NoControls(std::string_view s) {
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return false;
  }
  return true;
}

// The head's lines after the first: fields, each "name: value". False for
// a malformed line (no colon, space before it, an obsolete folded line).
bool SplitFields(std::string_view fields, std::vector<Field>* out) {
  while (!fields.empty()) {
    const size_t eol = fields.find("\r\n");
    const std::string_view line = fields.substr(0, eol);
    if (line.empty() || line.front() == ' ' || line.front() == '\t') return false;
    const size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos) return false;
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = Trim(line.substr(colon + 1));
    if (!IsToken(name) || !NoControls(value)) return false;
    out->push_back({name, value});
    if (eol == std::string_view::npos) break;
    fields.remove_prefix(eol + 2);
  }
  return true;
}

// RFC 9110 section 7.6.1: the connection's own fields, and those its
// Connection field names, are not forwarded. Transfer-Encoding stays: the
// body is passed on in the coding it came in.
bool HopByHop(std::string_view name, const std::vector<Field>& fields) {
  static constexpr std::array<std::string_view, 7> kAlways = {
      "connection", "keep-alive", "proxy-connection", "te", "upgrade", "proxy-authorization", "proxy-authenticate"};
  for (std::string_view h : kAlways) {
    if (EqualsIgnoringCase(name, h)) return true;
  }
  for (const Field& f : fields) {
    if (EqualsIgnoringCase(f.name, "connection") && ListHas(f.value, name) &&
        !EqualsIgnoringCase(name, "transfer-encoding") && !EqualsIgnoringCase(name, "content-length")) {
      return true;
    }
  }
  return false;
}

bool AnyHas(const std::vector<Field>& fields, std::string_view name, std::string_view token) {
  for (const Field& f : fields) {
    if (EqualsIgnoringCase(f.name, name) && ListHas(f.value, token)) return true;
  }
  return false;
}

// The body's framing from Transfer-Encoding and Content-Length (RFC 9112
// section 6.3). Both, a coding other than chunked last (requests), or
// Content-Lengths that disagree: false, never a guess (request smuggling
// lives in the guesses).
bool Framing(const std::vector<Field>& fields, bool request, BodyKind* kind, uint64_t* length) {
  bool has_length = false, has_coding = false;
  uint64_t n = 0;
  std::string_view coding;
  for (const Field& f : fields) {
    if (EqualsIgnoringCase(f.name, "transfer-encoding")) {
      if (has_coding) return false;
      has_coding = true;
      coding = f.value;
    } else if (EqualsIgnoringCase(f.name, "content-length")) {
      uint64_t v = 0;
      const auto [end, ec] = std::from_chars(f.value.data(), f.value.data() + f.value.size(), v);
      if (ec != std::errc() || end != f.value.data() + f.value.size() || f.value.empty()) return false;
      if (has_length && v != n) return false;
      has_length = true;
      n = v;
    }
  }
  if (has_coding && has_length) return false;
  if (has_coding) {
    const size_t comma = coding.rfind(',');
    const bool chunked_last = EqualsIgnoringCase(Trim(comma == std::string_view::npos ? coding : coding.substr(comma + 1)), "chunked");
    if (!chunked_last && request) return false;
    *kind = chunked_last ? BodyKind::kChunked : BodyKind::kUntilClose;
    return true;
  }
  *kind = has_length ? (n > 0 ? BodyKind::kLength : BodyKind::kNone) : (request ? BodyKind::kNone : BodyKind::kUntilClose);
  *length = n;
  return true;
}

// The head: through its empty line, within `limit`.
HttpForwardStatus FindHead(std::span<const uint8_t> in, size_t limit, size_t search_from, std::string_view* head,
                           size_t* consumed) {
  const std::string_view text(reinterpret_cast<const char*>(in.data()), in.size());
  const size_t end = text.find("\r\n\r\n", search_from > 3 ? search_from - 3 : 0);
  if (end == std::string_view::npos) {
    return in.size() >= limit ? HttpForwardStatus::kTooLarge : HttpForwardStatus::kNeedMore;
  }
  if (end + 4 > limit) return HttpForwardStatus::kTooLarge;
  *head = text.substr(0, end + 2);  // each line with its CRLF
  *consumed = end + 4;
  return HttpForwardStatus::kOk;
}

void AppendField(std::string* out, std::string_view name, std::string_view value) {
  out->append(name);
  out->append(": ");
  out->append(value);
  out->append("\r\n");
}

// "http://authority/path?query": the authority and the origin form.
bool SplitHttpUri(std::string_view uri, std::string_view* authority, std::string_view* origin) {
  constexpr std::string_view kScheme = "http://";
  if (uri.size() < kScheme.size() || !EqualsIgnoringCase(uri.substr(0, kScheme.size()), kScheme)) return false;
  uri.remove_prefix(kScheme.size());
  const size_t path = uri.find_first_of("/?#");
  *authority = uri.substr(0, path);
  *origin = path == std::string_view::npos ? std::string_view("/") : uri.substr(path);
  return true;
}

}  // namespace

HttpForwardStatus ParseForwardRequest(std::span<const uint8_t> in, size_t* consumed, ForwardRequest* out) {
  std::string_view head;
  size_t used = 0;
  if (const HttpForwardStatus st = FindHead(in, kMaxHeadBytes, 0, &head, &used); st != HttpForwardStatus::kOk) return st;
  const size_t eol = head.find("\r\n");
  const std::string_view line = head.substr(0, eol);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp1 == 0 || sp2 == sp1) return HttpForwardStatus::kBadRequest;
  const std::string_view method = line.substr(0, sp1);
  const std::string_view uri = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return HttpForwardStatus::kBadRequest;
  if (!IsToken(method) || uri.find(' ') != std::string_view::npos || !NoControls(uri)) {
    return HttpForwardStatus::kBadRequest;
  }
  if (uri.find("://") != std::string_view::npos && !EqualsIgnoringCase(uri.substr(0, 7), "http://")) {
    return HttpForwardStatus::kNotHttp;
  }
  std::string_view authority, origin;
  if (!SplitHttpUri(uri, &authority, &origin)) return HttpForwardStatus::kBadRequest;
  if (const size_t hash = origin.find('#'); hash != std::string_view::npos) origin = origin.substr(0, hash);
  // "http://host?q" is "/?q" at the origin (RFC 9112 3.2.1: an empty path is "/").
  const bool slash_first = origin.empty() || origin.front() == '?';
  if (authority.empty() || authority.find('@') != std::string_view::npos) return HttpForwardStatus::kBadRequest;
  HostPort target;
  const bool has_port = authority.front() == '[' ? authority.back() != ']' : authority.find(':') != std::string_view::npos;
  if (!ParseHostPort(has_port ? std::string(authority) : std::string(authority) + ":80", &target) || target.port == 0) {
    return HttpForwardStatus::kBadRequest;
  }
  std::vector<Field> fields;
  if (!SplitFields(head.substr(eol + 2), &fields)) return HttpForwardStatus::kBadRequest;
  ForwardRequest r;
  if (!Framing(fields, /*request=*/true, &r.body, &r.length)) return HttpForwardStatus::kBadRequest;
  // RFC 9112 6.1: a Transfer-Encoding in an HTTP/1.0 message is faulty.
  if (version == "HTTP/1.0" && r.body == BodyKind::kChunked) return HttpForwardStatus::kBadRequest;
  r.head.reserve(head.size() + authority.size() + 32);  // one allocation: no stale copies to wipe
  r.target = target;
  r.head_method = method == "HEAD";
  r.http10 = version == "HTTP/1.0";
  r.close = version == "HTTP/1.0" || AnyHas(fields, "connection", "close") || AnyHas(fields, "proxy-connection", "close");
  // RFC 9112 section 3.2.2: the Host field is the target's, whatever came.
  r.head.append(method);
  r.head.append(" ");
  if (slash_first) r.head.append("/");
  r.head.append(origin);
  r.head.append(" ");
  r.head.append(version);
  r.head.append("\r\n");
  AppendField(&r.head, "Host", authority);
  for (const Field& f : fields) {
    if (EqualsIgnoringCase(f.name, "proxy-authorization") && r.authorization.empty()) r.authorization = f.value;
    if (EqualsIgnoringCase(f.name, "expect") && EqualsIgnoringCase(f.value, "100-continue")) {
      r.expect_continue = true;
      continue;
    }
    if (EqualsIgnoringCase(f.name, "host") || HopByHop(f.name, fields)) continue;
    AppendField(&r.head, f.name, f.value);
  }
  if (r.close) AppendField(&r.head, "Connection", "close");
  r.head.append("\r\n");
  *consumed = used;
  *out = std::move(r);
  return HttpForwardStatus::kOk;
}

HttpForwardStatus ParseForwardResponse(std::span<const uint8_t> in, bool head_method, size_t* consumed,
                                       ForwardResponse* out, size_t searched) {
  std::string_view head;
  size_t used = 0;
  if (const HttpForwardStatus st = FindHead(in, kMaxResponseHeadBytes, searched, &head, &used);
      st != HttpForwardStatus::kOk) {
    return st;
  }
  const size_t eol = head.find("\r\n");
  const std::string_view line = head.substr(0, eol);
  if (line.size() < 12 || (line.substr(0, 9) != "HTTP/1.1 " && line.substr(0, 9) != "HTTP/1.0 ") ||
      (line.size() > 12 && line[12] != ' ') || !NoControls(line)) {
    return HttpForwardStatus::kBadRequest;
  }
  ForwardResponse r;
  const auto [end, ec] = std::from_chars(line.data() + 9, line.data() + 12, r.status);
  if (ec != std::errc() || end != line.data() + 12 || r.status < 100 || r.status > 999) {
    return HttpForwardStatus::kBadRequest;
  }
  std::vector<Field> fields;
  if (!SplitFields(head.substr(eol + 2), &fields)) return HttpForwardStatus::kBadRequest;
  const bool http10 = line.substr(0, 9) == "HTTP/1.0 ";
  // Switching protocols answers an Upgrade, which this proxy never
  // forwards: from a target it is a confused or hostile one.
  if (r.status == 101) return HttpForwardStatus::kBadRequest;
  if (!Framing(fields, /*request=*/false, &r.body, &r.length)) return HttpForwardStatus::kBadRequest;
  if (head_method || r.status < 200 || r.status == 204 || r.status == 304) r.body = BodyKind::kNone;
  r.close = http10 || AnyHas(fields, "connection", "close") || r.body == BodyKind::kUntilClose;
  r.head.reserve(head.size() + 32);
  r.head.append(line);
  r.head.append("\r\n");
  for (const Field& f : fields) {
    if (HopByHop(f.name, fields)) continue;
    AppendField(&r.head, f.name, f.value);
  }
  if (r.close && r.status >= 200) AppendField(&r.head, "Connection", "close");
  r.head.append("\r\n");
  *consumed = used;
  *out = std::move(r);
  return HttpForwardStatus::kOk;
}

bool BodyFramer::done() const {
  switch (kind_) {
    case BodyKind::kNone: return true;
    case BodyKind::kLength: return left_ == 0;
    case BodyKind::kChunked: return chunk_ == Chunk::kDone;
    case BodyKind::kUntilClose: return false;
  }
  return true;
}

bool BodyFramer::Consume(std::span<const uint8_t> in, size_t* used) {
  switch (kind_) {
    case BodyKind::kNone:
      *used = 0;
      return true;
    case BodyKind::kLength:
      *used = static_cast<size_t>(std::min<uint64_t>(left_, in.size()));
      left_ -= *used;
      return true;
    case BodyKind::kUntilClose:
      *used = in.size();
      return true;
    case BodyKind::kChunked:
      return ConsumeChunked(in, used);
  }
  return false;
}

// RFC 9112 section 7.1: chunk-size [; extensions] CRLF, data CRLF, ...,
// "0" CRLF, trailer fields, CRLF. Extension and trailer lines are bounded.
bool BodyFramer::ConsumeChunked(std::span<const uint8_t> in, size_t* used) {
  constexpr size_t kMaxLine = 8192;
  size_t i = 0;
  while (i < in.size() && chunk_ != Chunk::kDone) {
    const uint8_t c = in[i];
    switch (chunk_) {
      case Chunk::kSize: {
        int digit = -1;
        if (c >= '0' && c <= '9') digit = c - '0';
        if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
        if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
        if (digit >= 0) {
          if (left_ >> 56 != 0) return false;  // larger than any real chunk
          left_ = left_ * 16 + static_cast<uint64_t>(digit);
          size_digits_ = true;
        } else if (size_digits_ && (c == ';' || c == ' ' || c == '\t')) {
          chunk_ = Chunk::kSizeExtension;
          line_ = 0;
        } else if (size_digits_ && c == '\r') {
          chunk_ = Chunk::kSizeLf;
        } else {
          return false;
        }
        ++i;
        break;
      }
      case Chunk::kSizeExtension:
        if (c == '\r') {
          chunk_ = Chunk::kSizeLf;
        } else if ((c < 0x20 && c != '\t') || c == 0x7f || ++line_ > kMaxLine) {
          return false;  // a lone LF would end the line for the next parser, not for this one
        }
        ++i;
        break;
      case Chunk::kSizeLf:
        if (c != '\n') return false;
        chunk_ = left_ == 0 ? Chunk::kTrailer : Chunk::kData;
        line_ = 0;
        ++i;
        break;
      case Chunk::kData: {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(left_, in.size() - i));
        left_ -= n;
        i += n;
        if (left_ == 0) chunk_ = Chunk::kDataCr;
        break;
      }
      case Chunk::kDataCr:
        if (c != '\r') return false;
        chunk_ = Chunk::kDataLf;
        ++i;
        break;
      case Chunk::kDataLf:
        if (c != '\n') return false;
        chunk_ = Chunk::kSize;
        size_digits_ = false;
        ++i;
        break;
      case Chunk::kTrailer:
        if (c == '\r') {
          chunk_ = Chunk::kTrailerLf;
        } else if ((c < 0x20 && c != '\t') || c == 0x7f || ++line_ > kMaxLine) {
          return false;
        }
        ++i;
        break;
      case Chunk::kTrailerLf:
        if (c != '\n') return false;
        chunk_ = line_ == 0 ? Chunk::kDone : Chunk::kTrailer;
        line_ = 0;
        ++i;
        break;
      case Chunk::kDone:
        break;
    }
  }
  *used = i;
  return true;
}

std::string_view HttpContinueResponse() { return "HTTP/1.1 100 Continue\r\n\r\n"; }

std::string_view HttpForwardError(int status) { return HttpConnectResponse(status); }

}  // namespace reflex::proxy
