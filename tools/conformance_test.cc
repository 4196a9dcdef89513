// The conformance tool on our own vector files, on altered copies of them,
// and on files it must refuse to pass.
#include <gtest/gtest.h>
#include <sodium.h>

#include <cstdlib>
#include <set>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tools/conformance_checker.h"
#include "base/hex.h"
#include "tools/vector_generator.h"

namespace reflex::tools {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

constexpr char kV1File[] = "testdata/vectors/reflex-v1-compat.json";
constexpr char kV2File[] = "testdata/vectors/reflex-v2.json";

std::vector<std::string> VectorFiles() {
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator("testdata/vectors")) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("reflex-", 0) == 0 && entry.path().extension() == ".json") {
      files.push_back(entry.path().string());
    }
  }
  return files;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string WriteTemp(const std::string& name, const std::string& text) {
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(dir ? dir : "/tmp") + "/" + name;
  std::ofstream(path) << text;
  return path;
}

struct CheckRun {
  ConformanceSummary summary;
  std::string report;
};

CheckRun Check(const std::vector<std::string>& files) {
  std::ostringstream report;
  CheckRun r;
  r.summary = CheckVectorFiles(files, report);
  r.report = report.str();
  return r;
}

TEST(Conformance, EveryVectorFileInTestdataPasses) {
  const auto files = VectorFiles();
  ASSERT_FALSE(files.empty());
  const CheckRun r = Check(files);
  EXPECT_EQ(r.summary.failed, 0) << r.report;
  EXPECT_GT(r.summary.passed, 80);
  EXPECT_EQ(r.summary.exit_code(), 0);
  // Nothing failed, so the report is the count alone, in the form ports
  // imitate.
  EXPECT_EQ(r.report, std::to_string(r.summary.passed) + " passed, 0 failed\n");
}

TEST(Conformance, CheckedInVectorsAreWhatTheGeneratorMakes) {
  const std::string v1 = GenerateVectors(Profile::kV1Compat).dump(1) + "\n";
  EXPECT_TRUE(v1 == ReadFile(kV1File)) << "run: bazel run //tools:make_vectors > " << kV1File;
  const std::string v2 = GenerateVectors(Profile::kV2).dump(1) + "\n";
  EXPECT_TRUE(v2 == ReadFile(kV2File))
      << "run: bazel run //tools:make_vectors -- v2 > " << kV2File;
}

TEST(Conformance, TheV2VectorsCoverEveryKindAndEveryV2Refusal) {
  const auto doc = nlohmann::json::parse(ReadFile(kV2File));
  EXPECT_EQ(doc["profile"], "v2");
  std::set<std::string> kinds, errors;
  for (const auto& group : doc["groups"]) {
    kinds.insert(group["kind"].get<std::string>());
    for (const auto& t : group["tests"]) {
      if (t.contains("error")) errors.insert(t["error"].get<std::string>());
    }
  }
  EXPECT_EQ(kinds, (std::set<std::string>{"client_handshake", "server_handshake",
                                          "key_schedule", "frame", "frame_stream",
                                          "request_header", "datagram", "first_flight"}));
  for (const char* e : {"too_short", "trailing_bytes", "auth_failed", "bad_reserved",
                        "low_order_point", "counter_exhausted", "frame_too_large", "bad_shape"}) {
    EXPECT_TRUE(errors.count(e)) << e;
  }
}

// Every valid v2 frame recomputed from libsodium and SPEC.md's v2 layout
// alone (a Noise transport message: nonce = 4 zero bytes || n little-endian).
TEST(Conformance, ValidV2FrameVectorsAreNoiseTransportMessages) {
  ASSERT_GE(sodium_init(), 0);
  const auto doc = nlohmann::json::parse(ReadFile(kV2File));
  int checked = 0;
  for (const auto& group : doc["groups"]) {
    if (group["kind"] != "frame") continue;
    for (const auto& t : group["tests"]) {
      if (t["result"] != "valid") continue;
      const Bytes key = testing::FromHex(t["key"].get<std::string>());
      const uint64_t n = std::stoull(t["counter"].get<std::string>());
      Bytes plaintext = {static_cast<uint8_t>(t["frame_type"].get<int>())};
      const Bytes payload = testing::FromHex(t["payload"].get<std::string>());
      plaintext.insert(plaintext.end(), payload.begin(), payload.end());
      uint8_t nonce[12] = {};
      for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<uint8_t>(n >> (8 * i));
      Bytes sealed(plaintext.size() + 16);
      unsigned long long len = 0;
      crypto_aead_chacha20poly1305_ietf_encrypt(sealed.data(), &len, plaintext.data(),
                                                plaintext.size(), nullptr, 0, nullptr, nonce,
                                                key.data());
      Bytes wire = {static_cast<uint8_t>(sealed.size() >> 8),
                    static_cast<uint8_t>(sealed.size() & 0xff)};
      wire.insert(wire.end(), sealed.begin(), sealed.end());
      EXPECT_EQ(testing::ToHex(wire), t["wire"].get<std::string>()) << "id " << t["id"];
      ++checked;
    }
  }
  EXPECT_GE(checked, 10);
}

TEST(Conformance, TheVectorsCoverEveryKindAndEveryWireErrorCode) {
  const auto doc = nlohmann::json::parse(ReadFile(kV1File));
  std::set<std::string> kinds, errors;
  std::set<std::string> counters;
  for (const auto& group : doc["groups"]) {
    kinds.insert(group["kind"].get<std::string>());
    for (const auto& t : group["tests"]) {
      if (t.contains("error")) errors.insert(t["error"].get<std::string>());
      if (group["kind"] == "frame" && t["result"] == "valid") {
        counters.insert(t["counter"].get<std::string>());
      }
    }
  }
  EXPECT_EQ(kinds, (std::set<std::string>{"client_handshake", "server_handshake",
                                          "key_schedule", "frame", "frame_stream",
                                          "request_header", "datagram"}));
  EXPECT_EQ(errors, (std::set<std::string>{
                        "too_short", "trailing_bytes", "bad_magic", "bad_length",
                        "frame_too_large", "empty_plaintext", "unknown_frame_type",
                        "bad_address_type", "bad_domain_length", "auth_failed",
                        "low_order_point", "counter_exhausted"}));
  for (const char* c : {"1", "2", "4294967295", "4294967296", "9223372036854775808",
                        "18446744073709551615"}) {
    EXPECT_TRUE(counters.count(c)) << "counter " << c;
  }
}

// Every valid frame vector recomputed from libsodium and the notes' layout
// alone, without the codec that generated it.
TEST(Conformance, ValidFrameVectorsFollowTheNotesByteForByte) {
  ASSERT_GE(sodium_init(), 0);
  const auto doc = nlohmann::json::parse(ReadFile(kV1File));
  int checked = 0;
  for (const auto& group : doc["groups"]) {
    if (group["kind"] != "frame") continue;
    for (const auto& t : group["tests"]) {
      if (t["result"] != "valid") continue;
      const Bytes key = testing::FromHex(t["key"].get<std::string>());
      const uint64_t counter = std::stoull(t["counter"].get<std::string>());
      Bytes plaintext = {static_cast<uint8_t>(t["frame_type"].get<int>())};
      const Bytes payload = testing::FromHex(t["payload"].get<std::string>());
      plaintext.insert(plaintext.end(), payload.begin(), payload.end());
      uint8_t nonce[12] = {};  // counter little-endian, then 4 zero bytes
      for (int i = 0; i < 8; ++i) nonce[i] = static_cast<uint8_t>(counter >> (8 * i));
      Bytes sealed(plaintext.size() + 16);
      unsigned long long n = 0;
      crypto_aead_chacha20poly1305_ietf_encrypt(sealed.data(), &n, plaintext.data(),
                                                plaintext.size(), nullptr, 0, nullptr, nonce,
                                                key.data());
      Bytes wire = {static_cast<uint8_t>(sealed.size() >> 8),
                    static_cast<uint8_t>(sealed.size() & 0xff)};
      wire.insert(wire.end(), sealed.begin(), sealed.end());
      EXPECT_EQ(testing::ToHex(wire), t["wire"].get<std::string>()) << "id " << t["id"];
      ++checked;
    }
  }
  EXPECT_GE(checked, 10);
}

// Alters one hex digit at the n-th occurrence of `"field": "` (+ offset).
std::string AlterOneByte(std::string text, const std::string& field, int occurrence,
                         size_t offset) {
  size_t at = 0;
  for (int i = 0; i <= occurrence; ++i) {
    at = text.find("\"" + field + "\": \"", at + 1);
    if (at == std::string::npos) return "";
  }
  const size_t digit = at + field.size() + 5 + offset;
  text[digit] = text[digit] == '0' ? '1' : '0';
  return text;
}

TEST(Conformance, OneAlteredByteAnywhereFailsLoudly) {
  const std::string original = ReadFile(kV1File);
  struct Alteration {
    const char* field;
    int occurrence;
    size_t offset;
    const char* kind;
  };
  const Alteration alterations[] = {
      {"encoded", 0, 0, "client_handshake"},    // the magic
      {"encoded", 0, 150, "client_handshake"},  // the nonce
      {"public_key", 0, 10, "client_handshake"},
      {"session_key", 0, 63, "key_schedule"},
      {"shared_secret", 1, 0, "key_schedule"},
      {"wire", 0, 40, "frame"},
      {"payload", 0, 0, "frame"},
      {"counter", 0, 0, "frame"},
      {"wire", 30, 60, "frame_stream"},
  };
  for (const Alteration& a : alterations) {
    const std::string altered = AlterOneByte(original, a.field, a.occurrence, a.offset);
    ASSERT_FALSE(altered.empty()) << a.field;
    const CheckRun r = Check({WriteTemp("altered.json", altered)});
    EXPECT_GE(r.summary.failed, 1) << a.field << " #" << a.occurrence;
    EXPECT_EQ(r.summary.exit_code(), 1);
    EXPECT_NE(r.report.find(std::string("(") + a.kind + "): "), std::string::npos) << r.report;
  }
}

TEST(Conformance, UnknownKindsProfilesAndFieldsAreFailuresNotSkips) {
  const std::string original = ReadFile(kV1File);
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string t = original;
    t.replace(t.find(from), from.size(), to);
    return t;
  };
  const CheckRun kind = Check({WriteTemp("k.json", replaced("\"kind\": \"frame\"", "\"kind\": \"frames\""))});
  EXPECT_GT(kind.summary.failed, 0);
  EXPECT_NE(kind.report.find("unknown kind 'frames'"), std::string::npos);
  const CheckRun profile =
      Check({WriteTemp("p.json", replaced("\"profile\": \"v1-compat\"", "\"profile\": \"v3\""))});
  EXPECT_EQ(profile.summary.exit_code(), 1);
  EXPECT_NE(profile.report.find("unknown profile 'v3'"), std::string::npos);
  const CheckRun field = Check({WriteTemp(
      "f.json", replaced("\"comment\": \"first frame of a direction\"",
                         "\"comment\": \"first frame of a direction\", \"aad\": \"\""))});
  EXPECT_EQ(field.summary.failed, 1);
  EXPECT_NE(field.report.find("unknown field 'aad'"), std::string::npos) << field.report;
  // A name from the file with a newline in it (JSON "\n") stays on its
  // report line, escaped: every line names its file (found by the
  // vector_file fuzzer).
  const CheckRun newline = Check({WriteTemp(
      "n.json", replaced("\"comment\": \"first frame of a direction\"",
                         "\"comment\": \"first frame of a direction\", \"a\\nb\": \"\""))});
  EXPECT_EQ(newline.summary.failed, 1);
  EXPECT_NE(newline.report.find("unknown field 'a\\nb'"), std::string::npos) << newline.report;
  for (size_t at = 0, end; (end = newline.report.find('\n', at)) != std::string::npos; at = end + 1) {
    const std::string line = newline.report.substr(at, end - at);
    EXPECT_TRUE(line.find("n.json: ") != std::string::npos || line.find("passed,") != std::string::npos) << line;
  }
  const CheckRun error = Check({WriteTemp("e.json", replaced("\"error\": \"bad_magic\"",
                                                        "\"error\": \"too_short\""))});
  EXPECT_EQ(error.summary.failed, 1);
  EXPECT_NE(error.report.find("expected error too_short, got bad_magic"), std::string::npos)
      << error.report;
}

TEST(Conformance, OurInvalidTestsAlwaysNameTheirError) {
  // Optional in files from others (FORMAT.md), required in ours.
  for (const std::string& file : VectorFiles()) {
    const auto doc = nlohmann::json::parse(ReadFile(file));
    for (const auto& group : doc["groups"]) {
      for (const auto& t : group["tests"]) {
        if (t["result"] == "invalid") {
          EXPECT_TRUE(t.contains("error")) << file << " test " << t["id"];
        }
      }
    }
  }
}

// A header for hand-written files.
std::string File(const std::string& groups, const std::string& profile = "\"v1-compat\"") {
  return R"({"schema": "reflex-vectors/1", "profile": )" + profile + R"(, "groups": )" + groups +
         "}";
}

TEST(Conformance, MalformedFilesGiveAClearLineAndAFailureNeverACrash) {
  const std::string key = "\"key\": \"" + std::string(64, '0') + "\"";
  struct Case {
    std::string text;
    std::string expected_line;
  };
  const Case cases[] = {
      {R"({"schema": 1, "profile": "v1-compat", "groups": []})", "schema is not"},
      {R"({"schema": ["reflex-vectors/1"], "groups": []})", "schema is not"},
      {File("[]", "7"), "'profile' is missing or not a string"},
      {File("[]", "[\"v1-compat\"]"), "'profile' is missing or not a string"},
      {File("[{\"kind\": 3, \"tests\": []}]"), "'kind' is missing or not a string"},
      {File("[{\"kind\": null, \"tests\": []}]"), "'kind' is missing or not a string"},
      {File("[{\"kind\": \"frame\", \"tests\": {}}]"), "has no list of tests"},
      {File("[7]"), "a group is not a JSON object"},
      {File("{}"), "'groups' is missing or not a list"},
      {File("[{\"kind\": \"frame\", \"tests\": [3]}]"), "a test is not a JSON object"},
      {File("[{\"kind\": \"frame_stream\", \"tests\": [{\"id\": 1, \"result\": \"valid\", " +
            key + ", \"first_counter\": \"1\", \"wire\": \"\"}]}]"),
       "missing field 'frames'"},
      {File("[{\"kind\": \"frame_stream\", \"tests\": [{\"id\": 1, \"result\": \"valid\", " +
            key + ", \"first_counter\": \"1\", \"wire\": \"\", \"frames\": [{\"frame_type\": 1}]}]}]"),
       "lacks 'frame_type' or 'payload'"},
      {File("[{\"kind\": \"frame\", \"tests\": [{\"id\": 18446744073709551615, "
            "\"result\": \"invalid\", " + key + ", \"counter\": \"1\", \"wire\": \"\"}]}]"),
       "no integer id"},
      {File("[{\"kind\": \"frame\", \"tests\": [{\"id\": 1, \"result\": \"invalid\", " + key +
            ", \"counter\": \"-1\", \"wire\": \"AB\"}]}]"),
       "field 'counter' is not a decimal string"},
      {File("[{\"kind\": \"frame\", \"tests\": [{\"id\": 1, \"result\": \"invalid\", " + key +
            ", \"counter\": \"1\", \"wire\": \"AB\"}]}]"),
       "field 'wire' is not a lowercase hex string"},
      {File("[{\"kind\": \"frame\", \"tests\": [{\"id\": 1, \"result\": \"invalid\", " + key +
            ", \"counter\": \"1\", \"wire\": \"\", \"error\": \"ok\"}]}]"),
       "field 'error' is not an error name"},
      {std::string(100000, '[') + std::string(100000, ']'), "not a JSON object"},
      {std::string("\xff\xfe{}", 4), "not JSON"},
      {"", "not JSON"},
  };
  for (const Case& c : cases) {
    const CheckRun r = Check({WriteTemp("malformed.json", c.text)});
    EXPECT_GE(r.summary.failed, 1) << c.text.substr(0, 200);
    EXPECT_EQ(r.summary.exit_code(), 1);
    EXPECT_NE(r.report.find(c.expected_line), std::string::npos)
        << "expected a line with \"" << c.expected_line << "\"; got:\n" << r.report;
  }
  // A directory given as FILE.
  const char* dir = std::getenv("TEST_TMPDIR");
  const CheckRun d = Check({dir != nullptr ? dir : "/tmp"});
  EXPECT_EQ(d.summary.failed, 1);
  EXPECT_NE(d.report.find("is a directory"), std::string::npos) << d.report;
}

TEST(Conformance, EveryFieldTheFormatDefinesIsAcceptedInInvalidTestsAndChecked) {
  const std::string zeros(64, '0');
  const std::string low_order_test =
      R"({"id": 1, "result": "invalid", "client_private": ")" +
      std::string("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a") +
      R"(", "server_public": ")" + zeros + R"(", "shared_secret": "SECRET", "error": "low_order_point"})";
  auto with_secret = [&](const std::string& secret) {
    std::string t = low_order_test;
    t.replace(t.find("SECRET"), 6, secret);
    return File("[{\"kind\": \"key_schedule\", \"tests\": [" + t + "]}]");
  };
  const CheckRun accepted = Check({WriteTemp("shared.json", with_secret(zeros))});
  EXPECT_EQ(accepted.summary.failed, 0) << accepted.report;
  EXPECT_EQ(accepted.summary.passed, 1);
  const CheckRun wrong = Check({WriteTemp("shared.json", with_secret("01" + zeros.substr(2)))});
  EXPECT_EQ(wrong.summary.failed, 1);
  EXPECT_NE(wrong.report.find("must be all zeros"), std::string::npos) << wrong.report;
  // An invalid hello may give the fields it was made from: checked too.
  const std::string fields =
      R"("public_key": ")" + std::string(64, 'a') + R"(", "user_id": ")" + std::string(32, '0') +
      R"(", "timestamp": "5", "nonce": ")" + std::string(32, '0') + R"(")";
  const std::string made_from = std::string("52465821") + std::string(64, 'a') +
                                std::string(32, '0') + "0000000000000005" + std::string(32, '0');
  auto hello = [&](const std::string& encoded) {
    return File(R"([{"kind": "client_handshake", "tests": [{"id": 2, "result": "invalid", "encoded": ")" +
                encoded + R"(", )" + fields + R"(, "error": "bad_magic"}]}])");
  };
  const CheckRun good = Check({WriteTemp("hello.json", hello(made_from))});
  EXPECT_EQ(good.summary.failed, 0) << good.report;
  std::string other = made_from;
  other[20] = 'b';
  const CheckRun bad = Check({WriteTemp("hello.json", hello(other))});
  EXPECT_EQ(bad.summary.failed, 1);
  EXPECT_NE(bad.report.find("the fields do not describe 'encoded'"), std::string::npos)
      << bad.report;
}

TEST(Conformance, NothingToCheckIsNotAPass) {
  const CheckRun empty = Check({WriteTemp(
      "empty.json", R"({"schema": "reflex-vectors/1", "profile": "v1-compat", "groups": []})")});
  EXPECT_EQ(empty.summary.passed, 0);
  EXPECT_EQ(empty.summary.exit_code(), 1);
  EXPECT_NE(empty.report.find("0 passed, 0 failed"), std::string::npos);
  const CheckRun missing = Check({"/nonexistent/vectors.json"});
  EXPECT_EQ(missing.summary.failed, 1);
  const CheckRun garbage = Check({WriteTemp("garbage.json", "{ not json")});
  EXPECT_EQ(garbage.summary.failed, 1);
}

}  // namespace
}  // namespace reflex::tools
