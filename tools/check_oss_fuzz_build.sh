#!/usr/bin/env bash
# Docker does not run on our machines, so CI tests .clusterfuzzlite/build.sh
# directly, with the variables OSS-Fuzz sets: every target must land in $OUT
# with its seed corpus, dictionary and options, and survive 1000 runs over
# its seed corpus.
#   tools/check_oss_fuzz_build.sh [--out DIR]   # keep $OUT in DIR
# The flags are OSS-Fuzz's address build plus UBSan (as --config=fuzz), so
# CI's fuzz campaign can run these binaries (--prebuilt) instead of building
# every target a second time.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
out="$scratch/out"
[ $# -eq 0 ] || { [ $# -eq 2 ] && [ "$1" = --out ]; } ||
  { echo "usage: tools/check_oss_fuzz_build.sh [--out DIR]" >&2; exit 2; }
case "${1:-}" in
  --out) out="$2"
    # Written into, never cleared: refuse a directory that holds anything.
    [ -z "$(ls -A "$out" 2>/dev/null)" ] || { echo "check_oss_fuzz_build: $out is not empty" >&2; exit 2; } ;;
  "") ;;
  *) echo "check_oss_fuzz_build: unknown option $1 (only --out DIR)" >&2; exit 2 ;;
esac

export CC=clang CXX=clang++
export CFLAGS="-O1 -fno-omit-frame-pointer -gline-tables-only -fsanitize=address,undefined,fuzzer-no-link -fno-sanitize=function -fno-sanitize-recover=all"
export CXXFLAGS="$CFLAGS"
export LIB_FUZZING_ENGINE="-fsanitize=fuzzer"
export OUT="$out" WORK="$scratch/work"
mkdir -p "$OUT" "$WORK"
bash .clusterfuzzlite/build.sh

status=0
for t in $(sed -n 's/^ *"\([a-z_]*\)",$/\1/p' fuzz/targets.bzl); do
  for f in "$t" "${t}_seed_corpus.zip" "$t.dict" "$t.options"; do
    [ -s "$OUT/$f" ] || { echo "oss-fuzz build: $OUT/$f missing"; status=1; }
  done
  mkdir -p "$scratch/seeds/$t"
  unzip -q -o "$OUT/${t}_seed_corpus.zip" -d "$scratch/seeds/$t"
  if (cd "$OUT" && ./"$t" -runs=1000 -dict="$t.dict" "$scratch/seeds/$t" >"$scratch/$t.log" 2>&1); then
    echo "oss-fuzz build: $t: $(grep -a -E '^#[0-9]+.*DONE' "$scratch/$t.log" | tail -1)"
  else
    echo "oss-fuzz build: $t FAILED"; tail -30 "$scratch/$t.log"; status=1
  fi
done
exit $status
