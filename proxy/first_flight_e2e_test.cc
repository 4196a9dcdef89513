// The first flight on the wire, from the real client through a relay that
// records it, judged by the published "fully encrypted traffic" rule
// (tools/fe_rule.py, SPEC.md 11.8): raw hellos match no exemption almost
// always; the http and tls shapes never do. Every tunnel carries data
// intact through the server of the same shape.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "proxy/e2e/child_process.h"
#include "proxy/e2e/load_driver.h"
#include "proxy/e2e/reflex_process.h"
#include "proxy/e2e/test_servers.h"
#include "reflex/first_flight.h"

namespace reflex::proxy::e2e {
namespace {

using namespace std::chrono_literals;

// Per shape; REFLEX_FIRST_FLIGHTS asks for more (the 10,000), in
// rounds of at most kRound tunnels at once (the open-file limit).
constexpr size_t kDefaultFlights = 2000;
constexpr size_t kRound = 2000;

size_t Flights() {
  const char* asked = std::getenv("REFLEX_FIRST_FLIGHTS");
  return asked != nullptr && std::atol(asked) > 0 ? static_cast<size_t>(std::atol(asked)) : kDefaultFlights;
}

struct Judged {
  size_t flights = 0;
  size_t unexempted = 0;
  std::string report;
};

// fe_rule.py over the recorded flights.
Judged Judge(const std::vector<Bytes>& flights, const std::string& tag) {
  const std::string path = TestDir() + "/" + tag + ".hex";
  {
    std::ofstream out(path);
    for (const Bytes& f : flights) {
      for (const uint8_t b : f) {
        char hex[3];
        std::snprintf(hex, sizeof hex, "%02x", b);
        out << hex;
      }
      out << "\n";
    }
  }
  ChildProcess rule({"/usr/bin/python3", Runfile("tools/fe_rule.py"), path}, TestDir(), tag + "-rule");
  EXPECT_EQ(rule.Wait(60s).value_or(-1), 0) << rule.ReadStderr();
  Judged j;
  j.report = rule.ReadStdout();
  std::sscanf(j.report.c_str(), "flights %zu\nunexempted %zu", &j.flights, &j.unexempted);
  return j;
}

// `flights` tunnels from `reflex client` in `shape`, through a relay that
// records each first flight, to a server of the same shape.
std::vector<Bytes> RecordFirstFlights(const FirstFlight& shape, size_t flights) {
  const std::string name(FirstFlightShapeName(shape.shape));
  std::vector<std::string> flags = {"--first-flight", name, "--log-level", "warn"};
  if (shape.shape != FirstFlightShape::kRaw) {
    flags.insert(flags.end(), {"--first-flight-host", shape.host, "--first-flight-path", shape.path});
  }
  RecordingListener echo({"127.0.0.1", 0}, RecordingListener::Mode::kEcho, "", /*record_limit=*/0);
  auto server = ReflexProcess::Server("shape-server-" + name, 1, flags);
  EXPECT_TRUE(server->ok()) << server->child().ReadStderr();
  RecordingRelay relay(server->port(), FirstFlightBytes(shape));
  auto client = ReflexProcess::Client("shape-client-" + name, relay.port(), flags);
  EXPECT_TRUE(client->ok()) << client->child().ReadStderr();
  for (size_t done = 0; done < flights; done += kRound) {
    const size_t n = std::min(kRound, flights - done);
    const LoadResult r = RunEchoLoad(client->port(), echo.port(), n, 64, 300s);
    EXPECT_EQ(r.intact, n) << name << ": " << r.failed << " failed; first: " << r.first_error;
  }
  return relay.Recorded();
}

TEST(FirstFlightOnTheWire, RawHellosMatchNoExemptionAndTheHttpAndTlsShapesAlwaysDo) {
  const FirstFlight raw;
  const FirstFlight http{FirstFlightShape::kHttp, "cdn.example.com", "/assets/"};
  const FirstFlight tls{FirstFlightShape::kTls, "cdn.example.com", "/"};
  for (const FirstFlight& shape : {raw, http, tls}) {
    const std::string name(FirstFlightShapeName(shape.shape));
    SCOPED_TRACE(name);
    const size_t count = Flights();
    const std::vector<Bytes> flights = RecordFirstFlights(shape, count);
    ASSERT_EQ(flights.size(), count);
    for (const Bytes& f : flights) ASSERT_EQ(f.size(), FirstFlightBytes(shape));
    const Judged j = Judge(flights, "flights-" + name);
    std::printf("first flights, %s: %s", name.c_str(), j.report.c_str());
    ASSERT_EQ(j.flights, count) << j.report;
    if (shape.shape == FirstFlightShape::kRaw) {
      EXPECT_GE(j.unexempted, count * 95 / 100) << "the problem the shapes solve\n" << j.report;
    } else {
      EXPECT_EQ(j.unexempted, 0u) << j.report;
      // The exemptions each shape meets by construction (SPEC 11.8).
      const std::vector<const char*> met = shape.shape == FirstFlightShape::kHttp
                                               ? std::vector<const char*>{"Ex2", "Ex3", "Ex4", "Ex5"}
                                               : std::vector<const char*>{"Ex5"};
      for (const char* ex : met) {
        EXPECT_NE(j.report.find(std::string("\n") + ex + " " + std::to_string(count) + "\n"), std::string::npos)
            << ex << " on every flight\n" << j.report;
      }
    }
  }
}

}  // namespace
}  // namespace reflex::proxy::e2e
