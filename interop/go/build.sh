#!/usr/bin/env bash
# Builds OUT_DIR/reflex-go offline (GOPATH mode, Debian Go packages).
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 OUT_DIR" >&2
  exit 2
fi
out="$1"
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
cd "$here/src/reflexport"
"$GO" build -p 1 -trimpath -o "$out/reflex-go" ./cmd/reflex-go
echo "built $out/reflex-go"
