// Writes the fuzz seed corpora: valid and near-valid inputs for every target,
// taken from the conformance vectors (every frame type, sizes at the limits,
// counters at the edges) plus structured seeds for the stream targets.
//   bazel run //tools:make_corpus -- testdata/corpus
// The campaign (tools/fuzz_campaign.sh --merge) minimizes them later.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <fstream>
#include <string>
#include <vector>

#include "base/hex.h"
#include "reflex/reference_model.h"
#include "tools/vector_generator.h"

namespace {

using Bytes = std::vector<uint8_t>;
namespace fs = std::filesystem;

class Corpus {
 public:
  explicit Corpus(fs::path root) : root_(std::move(root)) {}
  void Add(const std::string& target, const Bytes& input) {
    const fs::path dir = root_ / target;
    fs::create_directories(dir);
    char name[32];
    std::snprintf(name, sizeof(name), "seed-%03d", count_[target]++);
    std::ofstream(dir / name, std::ios::binary)
        .write(reinterpret_cast<const char*>(input.data()),
               static_cast<std::streamsize>(input.size()));
  }

 private:
  fs::path root_;
  std::map<std::string, int> count_;
};

Bytes U64(uint64_t v) {
  Bytes b(8);
  for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
  return b;
}

Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes Hex(const nlohmann::ordered_json& v) {
  return reflex::testing::FromHex(v.get<std::string>());
}

// ChooseCounter: selector 4 then the explicit value; ChooseChunking: one
// chunk size (0x8000 | n-1 for n > 32).
Bytes CounterChoice(uint64_t c) { return Cat({{4}, U64(c)}); }
Bytes OneChunk(size_t n) {
  if (n <= 32) return {0, 0, static_cast<uint8_t>(n - 1)};
  const size_t v = 0x8000 | (n - 1);
  return {0, static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus DIR\n");
    return 2;
  }
  std::string root = argv[1];
  if (const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY"); cwd && root[0] != '/') {
    root = std::string(cwd) + "/" + root;
  }
  Corpus corpus(root);
  const auto vectors = reflex::tools::GenerateVectors(reflex::Profile::kV1Compat);
  for (const auto& group : vectors["groups"]) {
    const std::string kind = group["kind"];
    for (const auto& t : group["tests"]) {
      if (kind == "client_handshake") corpus.Add("client_hello_decode", Hex(t["encoded"]));
      if (kind == "server_handshake") corpus.Add("server_hello_decode", Hex(t["encoded"]));
      if (kind == "request_header") {
        Bytes in = Hex(t["encoded"]);
        if (t.contains("trailing")) in = Cat({in, Hex(t["trailing"])});
        corpus.Add("request_header_decode", in);
        corpus.Add("codec_vs_reference", Cat({{1, 0, static_cast<uint8_t>(in.size())}, in}));
      }
      if (kind == "datagram") corpus.Add("datagram_decode", Hex(t["encoded"]));
      if (kind == "frame") {
        const uint64_t counter = std::stoull(t["counter"].get<std::string>());
        const Bytes wire = Hex(t["wire"]);
        corpus.Add("frame_open", Cat({U64(counter), wire}));
        const size_t n = wire.size();
        corpus.Add("codec_vs_reference",
                   Cat({{3}, CounterChoice(counter), OneChunk(7),
                        {static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)}, wire}));
      }
      if (kind == "frame_stream") {
        const uint64_t first = std::stoull(t["first_counter"].get<std::string>());
        const Bytes wire = Hex(t["wire"]);
        for (size_t chunk : {size_t{1}, size_t{19}, size_t{4096}}) {
          corpus.Add("stream_decode", Cat({{0}, CounterChoice(first), OneChunk(chunk), wire}));
        }
      }
    }
  }
  // First flights in each shape, from the v2 vectors' own hosts re-shaped
  // for the target's fixed host and path: [shape][flight].
  const auto v2 = reflex::tools::GenerateVectors(reflex::Profile::kV2);
  for (const auto& group : v2["groups"]) {
    if (group["kind"] != "first_flight") continue;
    for (const auto& t : group["tests"]) {
      if (t["result"] != "valid") continue;
      const int shape = t["shape"].get<int>();
      const Bytes message1 = Hex(t["message1"]);
      const Bytes filler = t.contains("filler") ? Hex(t["filler"]) : Bytes();
      const Bytes flight = reflex::reference::ShapeFirstFlight(shape, "fuzz.example", "/f/", message1, filler);
      if (!flight.empty()) corpus.Add("first_flight_decode", Cat({{static_cast<uint8_t>(shape)}, flight}));
    }
  }
  // Plaintexts the frame_open target seals itself: every type, empty,
  // unknown types, payloads at and past the limit.
  for (uint8_t type : {0, 1, 2, 3, 4, 5, 255}) {
    for (size_t size : {size_t{0}, size_t{1}, size_t{100}, size_t{16384}, size_t{16385}}) {
      corpus.Add("frame_open", Cat({U64(1), {type}, Bytes(size, 0x61)}));
    }
  }
  corpus.Add("frame_open", U64(1));  // empty plaintext
  // Structured stream seeds: [1][counter][chunking][n][type len payload]...[damage]
  for (uint8_t damage : {0, 1, 2}) {
    corpus.Add("stream_decode",
               Cat({{1, 0}, OneChunk(5), {3}, {1, 0, 4}, Bytes(4, 'a'), {2, 0, 0},
                    {4, 0, 1}, {'z'}, {damage, 0, 30}}));
  }
  // Round trips: [counter][chunking][n] then per frame [type][len][payload][path].
  for (uint8_t path : {0, 1, 2}) {
    corpus.Add("roundtrip", Cat({{0}, OneChunk(3), {2}, {0, 0, 5}, Bytes(5, 'q'), {path},
                                 {3, 0, 0}, {path}}));
    corpus.Add("roundtrip", Cat({{3}, OneChunk(1000), {0}, {0, 0x40, 0x00},
                                 Bytes(16384, 'm'), {path}}));
  }
  // AEAD differential: [key][layout][counter][type][length][payload][ad
  // length][ad][mutations]: each frame type and layout, sizes at the limits,
  // a flipped byte, a cut wire.
  for (uint8_t layout : {0, 1}) {
    for (uint8_t type : {1, 2, 4, 9}) {
      for (size_t n : {size_t{0}, size_t{1}, size_t{64}, size_t{1400}, size_t{16384}}) {
        corpus.Add("aead_differential",
                   Cat({Bytes(32, 0x42), {layout}, U64(layout ? 0 : 1), {type},
                        {static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)}, Bytes(n, 0x61),
                        {12}, Bytes(12, 0x0A), {0, 0, 5, 0x10}, {1, 0, 30, 0}}));
      }
    }
  }
  // Sessions. server_session: [mode][profiles][seed][chunking][clock] then,
  // honest: [profile pick][user][frames]{[what][length][payload]([port][host
  // length])}...[edits], raw: the bytes. client_session: [mode][profile]
  // [seed][chunking] then honest: [frames]{[what][length][payload]}[edits].
  auto text_bytes = [](const char* t) { return Bytes(t, t + std::strlen(t)); };
  for (uint8_t profiles : {1, 2, 3, 6, 7}) {
    for (size_t chunk : {size_t{1}, size_t{13}, size_t{4096}}) {
      corpus.Add("server_session",
                 Cat({{1, profiles, 7}, OneChunk(chunk), {0}, {1, 0}, {3},
                      {0, 0, 20}, Bytes(20, 'd'), {1, 187, 5},
                      {1, 0, 100}, Bytes(100, 'e'), {2, 0, 30}, Bytes(30, 'p'), {0}}));
    }
    corpus.Add("server_session",
               Cat({{1, profiles, 9}, OneChunk(64), {0}, {0, 1}, {2}, {0, 0, 4},
                    Bytes(4, 'x'), {0, 80, 3}, {4, 0, 0}, {1, 1, 0, 40, 0x10}}));
  }
  for (const char* probe : {"GET / HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8\r\n"
                            "Accept: */*\r\nConnection: close\r\n\r\n",
                            "GET / HTTP/1.0\r\n\r\n", "RFXL"}) {
    corpus.Add("server_session", Cat({{0, 3, 1}, OneChunk(32), {0}, text_bytes(probe)}));
  }
  for (uint8_t choice : {0, 1, 2, 3}) {
    for (size_t chunk : {size_t{1}, size_t{48}, size_t{4096}}) {
      corpus.Add("client_session",
                 Cat({{1, choice, 5}, OneChunk(chunk), {4}, {0, 0, 50}, Bytes(50, 's'),
                      {1, 0, 10}, Bytes(10, 'p'), {0, 0x20, 0}, Bytes(0x2000, 'b'), {3, 0, 0},
                      {0}}));
    }
  }
  // The proxy server's connection handler: [mode] then raw: [chunk][bytes];
  // honest: [profile][user][hello chunk][request data length][data]
  // {[op][args]}... (fuzz/proxy_server_connection_fuzzer.cc).
  for (const char* probe : {"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
                            "\x16\x03\x01\x00\x05hello", ""}) {
    corpus.Add("proxy_server_connection", Cat({{0, 7}, text_bytes(probe)}));
  }
  corpus.Add("proxy_server_connection", Cat({{0, 255}, Bytes(76, 0x5a), Bytes(40, 'x')}));
  corpus.Add("proxy_server_connection", Cat({{0, 1}, Bytes(75, 0xa5)}));
  for (uint8_t profile : {0, 1}) {
    for (uint8_t chunk : {0, 1, 75}) {
      corpus.Add("proxy_server_connection",
                 Cat({{1, profile, 0, chunk, 5}, text_bytes("hello"),
                      {0, 0, 40}, Bytes(40, 'u'),          // data
                      {5, 0, 60}, Bytes(60, 'd'),          // the target sends
                      {2, 1, 4}, Bytes(4, 'p'),            // padding
                      {0, 0x40, 0}, Bytes(0x4000, 'U'),    // a full frame
                      {6},                                 // the target ends
                      {7}}));                              // CLOSE
    }
    corpus.Add("proxy_server_connection",
               Cat({{1, profile, 1, 0, 0}, {3, 8}, Bytes(9, 'f'), {0, 3}, {0, 0, 5},
                    Bytes(5, 'a')}));                      // a flipped bit
    corpus.Add("proxy_server_connection",
               Cat({{1, profile, 1, 0, 0}, {4, 3}, Bytes(4, 'j')}));  // junk
    corpus.Add("proxy_server_connection",
               Cat({{1, profile, 0, 0, 0}, {5, 0x9c, 0x40}, Bytes(0x9c40, 'D'),
                    {8, 100}, Bytes(101, 'v')}));          // vanishing mid-frame
  }
  // Vector files: each group of ours with its first tests, as a file of its
  // own (small enough to mutate quickly), and a few malformed files.
  for (const auto& group : vectors["groups"]) {
    nlohmann::ordered_json file = {{"schema", "reflex-vectors/1"}, {"profile", "v1-compat"}};
    nlohmann::ordered_json g = {{"kind", group["kind"]}, {"tests", nlohmann::ordered_json::array()}};
    for (size_t i = 0; i < group["tests"].size() && i < 3; ++i) {
      const auto& t = group["tests"][i];
      if (t.contains("wire") && t["wire"].get<std::string>().size() > 2000) continue;
      g["tests"].push_back(t);
    }
    file["groups"] = nlohmann::ordered_json::array({g});
    const std::string text = file.dump(1);
    corpus.Add("vector_file", Bytes(text.begin(), text.end()));
  }
  for (const char* text : {"{}", "[]", "{\"schema\": 1}",
                           "{\"schema\": \"reflex-vectors/1\", \"profile\": \"v1-compat\", "
                           "\"groups\": [{\"kind\": 3}]}"}) {
    corpus.Add("vector_file", Bytes(text, text + std::strlen(text)));
  }
  std::printf("corpus written under %s\n", root.c_str());
  return 0;
}
