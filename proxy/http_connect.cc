#include "proxy/http_connect.h"

#include <algorithm>

namespace reflex::proxy {

HttpConnectStatus ParseHttpConnect(std::span<const uint8_t> in, size_t* consumed,
                                   HostPort* target) {
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
  return HttpConnectStatus::kOk;
}

std::string_view HttpConnectResponse(int status) {
  switch (status) {
    case 200: return "HTTP/1.1 200 Connection established\r\n\r\n";
    case 400: return "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    case 405: return "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    case 431:
      return "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: "
             "close\r\n\r\n";
    case 504: return "HTTP/1.1 504 Gateway Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    default: return "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  }
}

}  // namespace reflex::proxy
