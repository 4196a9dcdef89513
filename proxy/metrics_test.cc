// The Prometheus text (proxy/metrics.h): what an operator scrapes.
#include "proxy/metrics.h"

#include <gtest/gtest.h>

#include <string>

namespace reflex::proxy {
namespace {

TEST(Metrics, UdpAssociationsDatagramsAndDropsAreExposed) {
  Stats stats;
  stats.udp.associations = 3;
  stats.udp.open = 1;
  stats.udp.datagrams_up = 100;
  stats.udp.datagrams_down = 90;
  stats.udp.dropped = 7;
  stats.udp.system_drops = 2;
  const std::string page = PrometheusText(stats, {}, "server");
  for (const char* line : {"reflex_udp_associations_total 3\n", "reflex_udp_associations_open 1\n",
                           "reflex_udp_datagrams_total{direction=\"up\"} 100\n",
                           "reflex_udp_datagrams_total{direction=\"down\"} 90\n",
                           "reflex_udp_dropped_total{by=\"process\"} 7\n",
                           "reflex_udp_dropped_total{by=\"system\"} 2\n",
                           "# TYPE reflex_udp_datagrams_total counter\n"}) {
    EXPECT_NE(page.find(line), std::string::npos) << line << page;
  }
}

}  // namespace
}  // namespace reflex::proxy
