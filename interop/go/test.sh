#!/usr/bin/env bash
# Runs the port's Go tests offline (GOPATH mode, Debian Go packages).
# Extra arguments go to `go test` (e.g. -run TestEndToEnd -v).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$here/src/reflexport"
"$GO" vet ./...
"$GO" test -p 1 -count=1 -timeout 300s "$@" ./...
