#!/bin/bash -eu
# OSS-Fuzz / ClusterFuzzLite build: compiles the fuzz targets from $CC, $CXX,
# $CFLAGS, $CXXFLAGS and $LIB_FUZZING_ENGINE (no Bazel in those images) and
# writes into $OUT, for each target: the binary, <target>_seed_corpus.zip,
# <target>.dict and <target>.options. libsodium, libcrypto, libcares and
# libhiredis are linked statically so the binaries run on machines without them.
cd "$(dirname "$0")/.."
: "${WORK:=$(mktemp -d)}"
mkdir -p "$WORK/obj" "$OUT"

targets=$(sed -n 's/^ *"\([a-z_]*\)",$/\1/p' fuzz/targets.bzl)
flags="$CXXFLAGS -std=c++20 -I. -Wall -Wextra"

# Every library source the targets link; tests, the allocation counter
# (it interposes malloc), programs with a main() and the command line's
# flags (CLI11, which the image lacks) stay out. The tools
# sources are those of //tools:vectors (the vector file reader and checker,
# and the generator they share a table of kinds with; a kind's checks and
# generators live in tools/checks*.cc and tools/generators*.cc).
tools_sources="$(ls tools/checks*.cc tools/generators*.cc) tools/conformance_checker.cc tools/handshake_v2.cc
  tools/vector_file.cc tools/vector_generator.cc tools/vector_kinds.cc"
sources=$(ls pool/*.cc reflex/*.cc proxy/*.cc $tools_sources \
  base/hex.cc reflex/testing/chunked_decode.cc | grep -v -e '_test\.cc$' -e '^proxy/main\.cc$' -e '^proxy/flags\.cc$' -e '^proxy/jemalloc_config\.cc$')
# Compiled on every core: the proxy's coroutine sources take most of the
# time, and one compiler at a time would leave the other cores idle.
parallel=$(nproc 2>/dev/null || echo 1)
failed=0
objs=()
for src in $sources; do
  while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do wait -n || failed=1; done
  obj="$WORK/obj/$(echo "${src%.cc}" | tr / _).o"
  $CXX $flags -c "$src" -o "$obj" &
  objs+=("$obj")
done
while [ -n "$(jobs -p)" ]; do wait -n || failed=1; done
[ "$failed" -eq 0 ] || { echo "build.sh: a library source failed to compile" >&2; exit 1; }
rm -f "$WORK/libreflex.a"
ar rcs "$WORK/libreflex.a" "${objs[@]}"

for t in $targets; do
  while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do wait -n || failed=1; done
  $CXX $flags "fuzz/${t}_fuzzer.cc" "$WORK/libreflex.a" $LIB_FUZZING_ENGINE \
    -l:libsodium.a -l:libcrypto.a -l:libcares.a -l:libhiredis.a -ldl -lpthread -o "$OUT/$t" &
  rm -f "$OUT/${t}_seed_corpus.zip"
  zip -q -j "$OUT/${t}_seed_corpus.zip" testdata/corpus/"$t"/*
  cp "fuzz/$t.dict" "$OUT/$t.dict"
  cp "fuzz/$t.options" "$OUT/$t.options"
done
while [ -n "$(jobs -p)" ]; do wait -n || failed=1; done
[ "$failed" -eq 0 ] || { echo "build.sh: a fuzz target failed to build" >&2; exit 1; }
echo "built $(echo $targets | wc -w) fuzz targets into $OUT"
