#!/usr/bin/env bash
# Installs every Debian package this project needs, from one list. Idempotent:
# a second run installs nothing. Needs root (or sudo) on Debian 12.
#   tools/bootstrap.sh          what the build and every test need
#   tools/bootstrap.sh --bench  also the peer proxies of bench/proxy (the
#                               tests never need them)
set -euo pipefail

PACKAGES=(
  bazel-bootstrap      # Bazel 4.2.3, the only Bazel reachable offline
  bazel-platforms      # @platforms, referenced from WORKSPACE
  build-essential      # g++ 12: the default toolchain
  clang                # clang 14: sanitizers and libFuzzer
  libclang-rt-14-dev   # ASan, UBSan, TSan, libFuzzer runtimes
  llvm                 # llvm-profdata, llvm-cov (tools/coverage.sh)
  libsodium-dev        # X25519, ChaCha20-Poly1305, HMAC-SHA256: the reference crypto
  libssl-dev           # OpenSSL 3 libcrypto: the fast ChaCha20-Poly1305 backend
  googletest           # gtest / gmock sources
  libgtest-dev
  libgmock-dev
  librapidcheck-dev    # property tests
  libbenchmark-dev     # bench/
  nlohmann-json3-dev   # tools/ (conformance vectors), proxy/ (--config)
  libasio-dev          # proxy/: standalone Asio
  libcli11-dev         # proxy/: command-line flags
  libc-ares-dev        # proxy/: DNS lookups on the event loop (resolver)
  libhiredis-dev       # proxy/: the Redis protocol of the shared replay store
  libjemalloc-dev      # proxy/: the reflex program's malloc (proxy/heap.h)
  redis-server         # the shared replay store's engine (its tests start their own)
  curl                 # proxy end-to-end tests
  nginx-light          # the fallback of the differential probe's tests
  openssl              # its certificate when it speaks TLS (tests)
  golang-go            # interop/go and bench/go (GOPATH mode, offline)
  golang-golang-x-crypto-dev     # Go: chacha20poly1305, curve25519, hkdf
  golang-github-flynn-noise-dev  # Go: Noise for the v2 port
  zip                  # OSS-Fuzz seed corpus archives (.clusterfuzzlite/build.sh)
  unzip                # tools/check_oss_fuzz_build.sh
  python3-yaml         # tools/check_workflows.py (.github/workflows)
  systemd              # systemd-analyze verify of proxy/packaging/reflex.service
)

BENCH_PACKAGES=(
  shadowsocks-libev    # bench/proxy: ss-server / ss-local (chacha20-ietf-poly1305)
  v2ray                # bench/proxy: VMess (chacha20-poly1305)
  trojan               # bench/proxy: trojan 1.16 (TLS 1.3, X25519)
  linux-perf           # profiles of the rate workload (issue notes, docs)
)

case "${1:-}" in
  "") ;;
  --bench) PACKAGES+=("${BENCH_PACKAGES[@]}") ;;
  *) echo "usage: $0 [--bench]" >&2; exit 2 ;;
esac

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "bootstrap: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
echo "bootstrap: installing ${missing[*]}"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
echo "bootstrap: done"
