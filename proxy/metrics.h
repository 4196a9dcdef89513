// The statistics in the Prometheus text exposition format (version 0.0.4),
// served over HTTP at --metrics HOST:PORT, path /metrics. Every series of
// Stats appears, with per-user series labelled by the user's short hash
// (the log lines' user=), never by the id.
//
// The endpoint answers only GET /metrics (404 for other paths, 405 for
// other methods, 400 for anything not HTTP/1.x), reads a request head of
// at most kMaxMetricsRequestBytes within kMetricsRequestTimeout, and
// closes after each answer.
#ifndef REFLEX_PROXY_METRICS_H_
#define REFLEX_PROXY_METRICS_H_

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/asio_config.h"
#include "proxy/stats.h"

namespace reflex::proxy {

inline constexpr size_t kMaxMetricsRequestBytes = 8 * 1024;
inline constexpr std::chrono::seconds kMetricsRequestTimeout{5};

std::string PrometheusText(const Stats& stats, const std::vector<NamedPoolStats>& pools,
                           std::string_view role);

// The whole HTTP response to a request head (the bytes up to and
// including the empty line); `render` makes the page only when asked for.
std::string MetricsResponse(std::string_view request_head, const std::function<std::string()>& render);

// One connection to the endpoint: one request, one answer, then close.
awaitable<void> ServeMetricsConnection(asio::ip::tcp::socket socket, std::function<std::string()> render);

}  // namespace reflex::proxy

#endif  // REFLEX_PROXY_METRICS_H_
