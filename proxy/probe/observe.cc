#include "proxy/probe/observe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

namespace reflex::proxy::probe {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::microseconds;
using std::chrono::milliseconds;

// How long a reset may take to come back after a write to a closed peer:
// on loopback it takes microseconds; this only bounds the wait.
constexpr milliseconds kResetWait{200};

int Connect(const HostPort& target) {
  sockaddr_storage a{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a);
  if (inet_pton(AF_INET, target.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(target.port);
    len = sizeof *v4;
  } else if (inet_pton(AF_INET6, target.host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(target.port);
    len = sizeof *v6;
  } else {
    return -1;
  }
  const int fd = socket(a.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), len) != 0) {
    close(fd);
    return -1;
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

const char* WriteOutcome(ssize_t n) {
  if (n >= 0) return "ok";
  if (errno == EPIPE) return "broken pipe";
  if (errno == ECONNRESET) return "reset";
  return "error";
}

// Whether the connection has been reset (the kernel moved it to CLOSE).
bool WasReset(int fd) {
  tcp_info info{};
  socklen_t len = sizeof info;
  return getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0 && info.tcpi_state == TCP_CLOSE;
}

// Two writes after the peer's FIN: the first may be accepted (the peer's
// kernel answers it with a reset if the peer closed), the second shows
// whether that reset came.
std::string WritesAfterEnd(int fd) {
  const uint8_t byte = 'x';
  const ssize_t first = send(fd, &byte, 1, MSG_NOSIGNAL);
  std::string out = WriteOutcome(first);
  const auto until = Clock::now() + kResetWait;
  while (first >= 0 && !WasReset(fd) && Clock::now() < until) {
    std::this_thread::sleep_for(microseconds(200));  // bounded poll of a condition
  }
  const ssize_t second = send(fd, &byte, 1, MSG_NOSIGNAL);
  return out + " then " + WriteOutcome(second);
}

}  // namespace

const char* EndingName(Ending e) {
  switch (e) {
    case Ending::kFin: return "FIN";
    case Ending::kReset: return "reset";
    case Ending::kOpen: return "still open";
  }
  return "?";
}

Observation Observe(const HostPort& target, const Bytes& input, milliseconds max_wait) {
  Observation o;
  const int fd = Connect(target);
  if (fd < 0) return o;
  o.connected = true;
  if (!input.empty() && send(fd, input.data(), input.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(input.size())) {
    o.ending = Ending::kReset;
    close(fd);
    return o;
  }
  const auto sent = Clock::now();
  const auto until = sent + max_wait;
  uint8_t chunk[16 * 1024];
  while (true) {
    const auto left = std::chrono::duration_cast<milliseconds>(until - Clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;
    const ssize_t n = recv(fd, chunk, sizeof chunk, 0);
    const auto at = std::chrono::duration_cast<microseconds>(Clock::now() - sent);
    if (n > 0) {
      if (!o.first_byte) o.first_byte = at;
      const size_t keep = std::min(static_cast<size_t>(n), kObservedHeadBytes - o.head.size());
      o.head.insert(o.head.end(), chunk, chunk + keep);
      o.received += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    o.ended = at;
    o.ending = n == 0 ? Ending::kFin : Ending::kReset;
    break;
  }
  if (o.ending == Ending::kFin) o.write_after_end = WritesAfterEnd(fd);
  // A reset, not a FIN, from the prober's side: it leaves no TIME_WAIT
  // behind thousands of probes, and the far side has answered already.
  const linger hard{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  close(fd);
  return o;
}

}  // namespace reflex::proxy::probe
