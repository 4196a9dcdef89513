#!/usr/bin/env bash
# Go's x/crypto ChaCha20-Poly1305 beside our codec, in one run on this
# machine, in one table: builds bench/go offline (Debian's golang-go and
# golang-golang-x-crypto-dev, GOPATH mode), runs it, then runs
# //bench:codec_bench with Go's figures as extra baselines
# (REFLEX_BENCH_BASELINES), so the ratio table has Go rows.
#   bench/go/run.sh [codec_bench flags, e.g. --benchmark_filter=...]
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/gopath/src/reflexbench"
cp bench/go/*.go "$work/gopath/src/reflexbench/"
(cd "$work/gopath/src/reflexbench" &&
  GOPATH="$work/gopath:/usr/share/gocode" GO111MODULE=off GOFLAGS= GOCACHE="$work/cache" \
    go build -o "$work/go_aead_bench" .)
echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores; $(go version)"
"$work/go_aead_bench" | tee "$work/go.txt"
bazel build --config=bench //bench:codec_bench
REFLEX_BENCH_BASELINES="$work/go.txt" bazel-bin/bench/codec_bench "$@"
