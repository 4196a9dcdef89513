// The client's local users: RFC 1929 pairs and HTTP Basic credentials.
#include "proxy/local_auth.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <string>

namespace reflex::proxy {
namespace {

class LocalUsersTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_GE(sodium_init(), 0); }
  void SetUp() override {
    std::string bob = "bob:pa:ss";  // a password may contain ':'
    std::string eve = "eve:other";
    ASSERT_TRUE(users_.Add(bob));
    ASSERT_TRUE(users_.Add(eve));
    EXPECT_EQ(bob, std::string(9, '\0')) << "the flag's text is wiped";
  }
  LocalUsers users_;
};

TEST_F(LocalUsersTest, AcceptsEachConfiguredPairAndNothingElse) {
  EXPECT_TRUE(users_.Accepts("bob", "pa:ss"));
  EXPECT_TRUE(users_.Accepts("eve", "other"));
  EXPECT_FALSE(users_.Accepts("bob", "other")) << "another user's password";
  EXPECT_FALSE(users_.Accepts("bob", "pa:sS"));
  EXPECT_FALSE(users_.Accepts("bob:pa", "ss")) << "the split between name and password counts";
  EXPECT_FALSE(users_.Accepts("", "pa:ss"));
  EXPECT_FALSE(users_.Accepts("bob", ""));
  EXPECT_FALSE(users_.Accepts("bob", std::string(256, 'x')));
}

TEST_F(LocalUsersTest, ReadsBasicCredentialsWhateverTheSchemesCaseAndSpacing) {
  // base64("bob:pa:ss") = "Ym9iOnBhOnNz"
  EXPECT_TRUE(users_.AcceptsBasic("Basic Ym9iOnBhOnNz"));
  EXPECT_TRUE(users_.AcceptsBasic("  basic   Ym9iOnBhOnNz  "));
  EXPECT_FALSE(users_.AcceptsBasic(""));
  EXPECT_FALSE(users_.AcceptsBasic("Basic"));
  EXPECT_FALSE(users_.AcceptsBasic("Bearer Ym9iOnBhOnNz"));
  EXPECT_FALSE(users_.AcceptsBasic("Basic Ym9iOnBhOnNz!")) << "not base64";
  EXPECT_FALSE(users_.AcceptsBasic("Basic Ym9i")) << "no ':'";
  EXPECT_FALSE(users_.AcceptsBasic("Basic " + std::string(4000, 'A'))) << "longer than any pair";
}

TEST(LocalUserSpec, NeedsANameWithoutColonAndAPasswordEachOneTo255Bytes) {
  EXPECT_TRUE(IsLocalUserSpec("a:b"));
  EXPECT_TRUE(IsLocalUserSpec("a:b:c"));
  EXPECT_FALSE(IsLocalUserSpec("ab"));
  EXPECT_FALSE(IsLocalUserSpec(":b"));
  EXPECT_FALSE(IsLocalUserSpec("a:"));
  EXPECT_FALSE(IsLocalUserSpec(std::string(256, 'a') + ":b"));
  EXPECT_FALSE(IsLocalUserSpec("a:" + std::string(256, 'b')));
}

}  // namespace
}  // namespace reflex::proxy
