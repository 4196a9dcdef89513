# Sourced by build.sh and test.sh: the offline GOPATH-mode Go environment.
# Not executable on its own.

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
gocode=/usr/share/gocode

GO="${GO:-$(command -v go || true)}"
if [ -z "$GO" ] && [ -x /usr/bin/go ]; then GO=/usr/bin/go; fi
if [ -z "$GO" ]; then
  echo "error: the go tool is not installed (Debian: apt-get install golang-go)" >&2
  exit 1
fi
for pkg in github.com/flynn/noise golang.org/x/crypto/curve25519 \
           golang.org/x/crypto/chacha20poly1305 golang.org/x/crypto/hkdf; do
  if [ ! -d "$gocode/src/$pkg" ]; then
    echo "error: Go package $pkg not found under $gocode/src" >&2
    echo "       (Debian: apt-get install golang-github-flynn-noise-dev golang-golang-x-crypto-dev)" >&2
    exit 1
  fi
done

export GO111MODULE=off
export GOPATH="$here:$gocode"
export GOFLAGS=
export GOPROXY=off
export GOTOOLCHAIN=local
if [ -z "${GOCACHE:-}" ]; then
  GOCACHE="$(mktemp -d "${TMPDIR:-/tmp}/reflex-go-cache.XXXXXX")"
  trap 'rm -rf "$GOCACHE"' EXIT
fi
export GOCACHE
# HOME may be unset or read-only in a sandbox: keep go from needing it.
export GOENV=off
export HOME="${HOME:-$GOCACHE}"
