#include "proxy/http_connect.h"

#include <algorithm>

namespace reflex::proxy {

namespace {

bool IsProxyAuthorization(std::string_view name) {
  constexpr std::string_view kName = "proxy-authorization";
  if (name.size() != kName.size()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i] >= 'A' && name[i] <= 'Z' ? static_cast<char>(name[i] - 'A' + 'a') : name[i];
    if (c != kName[i]) return false;
  }
  return true;
}

// The first Proxy-Authorization field's value among the header lines
// (everything after the request line, up to the empty line).
std::string_view FindProxyAuthorization(std::string_view headers) {
  while (!headers.empty()) {
    const size_t eol = headers.find("\r\n");
    const std::string_view line = headers.substr(0, eol);
    const size_t colon = line.find(':');
    if (colon != std::string_view::npos && IsProxyAuthorization(line.substr(0, colon))) {
      return line.substr(colon + 1);
    }
    if (eol == std::string_view::npos) break;
    headers.remove_prefix(eol + 2);
  }
  return {};
}

}  // namespace

HttpConnectStatus ParseHttpConnect(std::span<const uint8_t> in, size_t* consumed,
                                   HostPort* target, std::string_view* authorization) {
  const std::string_view text(reinterpret_cast<const char*>(in.data()), in.size());
  const size_t end = text.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    return in.size() >= kMaxHeadBytes ? HttpConnectStatus::kTooLarge : HttpConnectStatus::kNeedMore;
  }
  if (end + 4 > kMaxHeadBytes) return HttpConnectStatus::kTooLarge;
  const std::string_view line = text.substr(0, text.find("\r\n"));
  const size_t sp1 = line.find(' ');
  const size_t sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) return HttpConnectStatus::kBadRequest;
  if (line.substr(0, sp1) != "CONNECT") return HttpConnectStatus::kNotConnect;
  const std::string_view version = line.substr(sp2 + 1);
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return HttpConnectStatus::kBadRequest;
  HostPort hp;
  if (!ParseHostPort(line.substr(sp1 + 1, sp2 - sp1 - 1), &hp) || hp.port == 0) {
    return HttpConnectStatus::kBadRequest;
  }
  *consumed = end + 4;
  *target = hp;
  const size_t line_end = text.find("\r\n");
  *authorization = line_end == end ? std::string_view()
                                   : FindProxyAuthorization(text.substr(line_end + 2, end - line_end - 2));
  return HttpConnectStatus::kOk;
}

std::string_view HttpConnectResponse(int status) {
  switch (status) {
    case 200: return "HTTP/1.1 200 Connection established\r\n\r\n";
    case 400: return "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    case 407:
      return "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic "
             "realm=\"reflex\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    case 431:
      return "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: "
             "close\r\n\r\n";
    case 504: return "HTTP/1.1 504 Gateway Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    default: return "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  }
}

}  // namespace reflex::proxy
