// main() of the property tests: gtest, with RapidCheck running 1000 cases
// per property unless RC_PARAMS says otherwise (RC_PARAMS="max_success=5000"
// raises it; a failure prints a `reproduce` string to paste back:
// RC_PARAMS="reproduce=...").
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  const char* given = std::getenv("RC_PARAMS");
  std::string params = given != nullptr ? given : "";
  if (params.find("max_success") == std::string::npos) {
    params += (params.empty() ? "" : " ") + std::string("max_success=1000");
    setenv("RC_PARAMS", params.c_str(), 1);  // read by RapidCheck on first use
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
