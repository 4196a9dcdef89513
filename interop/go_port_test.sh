#!/usr/bin/env bash
# The Go port's own checks (go vet, go test), offline, from the runfiles.
set -euo pipefail
export GOCACHE="${TEST_TMPDIR:-$(mktemp -d)}/gocache"
exec "$(dirname "$0")/go/test.sh"
