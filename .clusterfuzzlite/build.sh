#!/bin/bash -eu
# OSS-Fuzz / ClusterFuzzLite build: compiles the fuzz targets from $CC, $CXX,
# $CFLAGS, $CXXFLAGS and $LIB_FUZZING_ENGINE (no Bazel in those images) and
# writes into $OUT, for each target: the binary, <target>_seed_corpus.zip,
# <target>.dict and <target>.options. libsodium is linked statically so the
# binaries run on machines without it.
cd "$(dirname "$0")/.."
: "${WORK:=$(mktemp -d)}"
mkdir -p "$WORK/obj" "$OUT"

targets=$(sed -n 's/^ *"\([a-z_]*\)",$/\1/p' fuzz/targets.bzl)
flags="$CXXFLAGS -std=c++20 -I. -Wall -Wextra"

objs=()
for src in pool/*.cc reflex/*.cc; do
  case "$src" in *_test.cc) continue ;; esac
  obj="$WORK/obj/$(echo "${src%.cc}" | tr / _).o"
  $CXX $flags -c "$src" -o "$obj"
  objs+=("$obj")
done
rm -f "$WORK/libreflex.a"
ar rcs "$WORK/libreflex.a" "${objs[@]}"

for t in $targets; do
  $CXX $flags "fuzz/${t}_fuzzer.cc" "$WORK/libreflex.a" $LIB_FUZZING_ENGINE \
    -l:libsodium.a -lpthread -o "$OUT/$t"
  rm -f "$OUT/${t}_seed_corpus.zip"
  zip -q -j "$OUT/${t}_seed_corpus.zip" testdata/corpus/"$t"/*
  cp "fuzz/$t.dict" "$OUT/$t.dict"
  cp "fuzz/$t.options" "$OUT/$t.options"
done
echo "built $(echo $targets | wc -w) fuzz targets into $OUT"
