// reflex probe fallback against the Go port's server (interop/go, written
// from SPEC.md alone) in front of nginx: a second implementation of SPEC
// 12.1 that a prober cannot tell from its fallback either. In v1-compat the
// five altered hellos v1 cannot authenticate are the only differences
// (SPEC 9, row 3).
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "proxy/e2e/child_process.h"
#include "proxy/e2e/nginx.h"
#include "proxy/e2e/reflex_process.h"

namespace reflex::proxy::e2e {
namespace {

using namespace std::chrono_literals;

std::string Loopback(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

bool Has(const std::string& out, const std::string& line_start) {
  return out.find("\n" + line_start) != std::string::npos || out.rfind(line_start, 0) == 0;
}

TEST(GoServerBehindNginx, IsLikeNginxOnEveryProbeInV2AndButForWhatV1CannotAuthenticateInV1Compat) {
  Nginx nginx("nginx-go");
  ASSERT_TRUE(nginx.ok()) << "nginx-light is needed (tools/bootstrap.sh installs it)";
  ChildProcess go({Runfile("interop/reflex-go"), "server", "--listen", "127.0.0.1:0", "--user", kUser1,
                   "--fallback", Loopback(nginx.port()), "--profile", "v2", "--profile", "v1-compat",
                   "--hello-wait", "1500ms"},
                  TestDir(), "go-server-behind-nginx");
  const uint16_t port = go.WaitForListening("server", 20s);
  ASSERT_NE(port, 0) << go.ReadStderr();
  for (const char* profile : {"v2", "v1-compat"}) {
    SCOPED_TRACE(profile);
    const CommandRun r =
        RunReflex({"probe", "fallback", "--target", Loopback(port), "--fallback", Loopback(nginx.port()),
                   "--max-wait", "6", "--user", kUser1, "--profile", profile},
                  std::string("probe-go-") + profile);
    if (std::string(profile) == "v2") {
      EXPECT_EQ(r.status, 0) << r.out;
      EXPECT_NE(r.out.find(" passed, 0 failed"), std::string::npos) << r.out;
      EXPECT_TRUE(Has(r.out, "SAME silence")) << r.out;
      continue;
    }
    for (const char* key_or_nonce : {"16", "31", "32", "60", "75"}) {
      const std::string name = std::string("genuine-hello-byte-") + key_or_nonce + "-changed";
      EXPECT_TRUE(Has(r.out, "DIFFERENT " + name + ": answer (direct ")) << name << "\n" << r.out;
    }
    EXPECT_NE(r.out.find(" passed, 5 failed"), std::string::npos) << r.out;
  }
}

}  // namespace
}  // namespace reflex::proxy::e2e
