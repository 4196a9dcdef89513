#include "proxy/e2e/test_dns_server.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace reflex::proxy::e2e {
namespace {

constexpr uint16_t kTypeA = 1;
constexpr uint8_t kRcodeNxdomain = 3;

bool InZone(const std::string& name, const std::string& zone) {
  if (name == zone) return true;
  return name.size() > zone.size() && name.ends_with(zone) &&
         name[name.size() - zone.size() - 1] == '.';
}

}  // namespace

FakeDnsServer::FakeDnsServer() {
  fd_ = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0 || pipe(stop_) != 0) {
    ADD_FAILURE() << "cannot start the DNS server";
    return;
  }
  port_ = ntohs(address.sin_port);
  thread_ = std::thread([this] { Serve(); });
}

FakeDnsServer::~FakeDnsServer() {
  if (thread_.joinable()) {
    const char byte = 0;
    (void)!write(stop_[1], &byte, 1);
    thread_.join();
  }
  for (int fd : {fd_, stop_[0], stop_[1]}) {
    if (fd >= 0) close(fd);
  }
}

void FakeDnsServer::Serve() {
  for (;;) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_[0], POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    uint8_t query[512];
    sockaddr_in from{};
    socklen_t from_length = sizeof(from);
    const ssize_t n =
        recvfrom(fd_, query, sizeof(query), 0, reinterpret_cast<sockaddr*>(&from), &from_length);
    if (n > 0) Answer(query, static_cast<size_t>(n), from);
  }
}

void FakeDnsServer::Answer(const uint8_t* query, size_t n, const sockaddr_in& from) {
  if (n < 12) return;
  // The question: labels (no compression in a query), type, class.
  std::string name;
  size_t i = 12;
  for (;;) {
    if (i >= n) return;
    const uint8_t label = query[i++];
    if (label == 0) break;
    if (label > 63 || i + label > n) return;
    if (!name.empty()) name += '.';
    for (size_t j = 0; j < label; ++j) {
      name += static_cast<char>(std::tolower(static_cast<unsigned char>(query[i + j])));
    }
    i += label;
  }
  if (i + 4 > n) return;
  const uint16_t type = static_cast<uint16_t>(query[i] << 8 | query[i + 1]);
  const size_t question_end = i + 4;
  ++queries_;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    names_seen_.push_back(name);
  }
  if (InZone(name, "slow.test")) {
    ++slow_queries_;
    return;
  }

  // The header and the question, echoed; the flags and counts rewritten.
  std::vector<uint8_t> reply(query, query + question_end);
  reply[2] = static_cast<uint8_t>(0x80 | (query[2] & 0x79));  // QR, the opcode, RD
  reply[3] = 0x80;                                            // RA, NOERROR
  std::fill(reply.begin() + 4, reply.begin() + 12, 0);
  reply[5] = 1;  // QDCOUNT
  if (!InZone(name, "fast.test")) {
    reply[3] |= kRcodeNxdomain;
  } else if (type == kTypeA) {
    uint8_t address[4] = {127, 0, 0, 1};
    if (name[0] == 'n' && std::isdigit(static_cast<unsigned char>(name[1]))) {  // nN.fast.test
      address[0] = 192, address[1] = 0, address[2] = 2;
      address[3] = static_cast<uint8_t>(std::atoi(name.c_str() + 1));
    }
    reply[7] = 1;  // ANCOUNT
    const uint8_t record[] = {
        0xc0, 12,       // the name: a pointer to the question's
        0,    1,        // A
        0,    1,        // IN
        0,    0, 0, 60, // TTL
        0,    4,        // RDLENGTH
    };
    reply.insert(reply.end(), std::begin(record), std::end(record));
    reply.insert(reply.end(), std::begin(address), std::end(address));
  }
  sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<const sockaddr*>(&from),
         sizeof(from));
}

}  // namespace reflex::proxy::e2e
