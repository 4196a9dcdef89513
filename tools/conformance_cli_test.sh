#!/usr/bin/env bash
# The conformance binary itself, as users run it: exit 0 and a final
# "N passed, 0 failed" line on every checked-in vector file; exit 1 on a copy
# with one byte changed.
set -euo pipefail
tool="$1"
shift
out=$("$tool" "$@")
echo "$out" | tail -1
echo "$out" | tail -1 | grep -Eq '^[1-9][0-9]* passed, 0 failed$'

altered="${TEST_TMPDIR:-/tmp}/altered.json"
# Flip the first hex digit of the first "session_key" value.
sed '0,/"session_key": "./s//"session_key": "f/' "$1" >"$altered"
if cmp -s "$1" "$altered"; then
  echo "could not alter the file" >&2
  exit 1
fi
set +e
bad=$("$tool" "$altered")
status=$?
set -e
echo "$bad" | tail -2
[ "$status" -eq 1 ]
echo "$bad" | tail -1 | grep -Eq ' passed, [1-9][0-9]* failed$'
echo "$bad" | grep -q '(key_schedule): '
