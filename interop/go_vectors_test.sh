#!/usr/bin/env bash
# The Go port's vector checker on every reflex-vectors/1 file: each must end
# "N passed, 0 failed" with N > 0, the line format of FORMAT.md.
set -uo pipefail
checker="$1"; shift
status=0
for file in "$@"; do
  out=$("$checker" check "$file" 2>&1); rc=$?
  last=$(printf '%s\n' "$out" | tail -1)
  echo "$file: $last"
  if [ $rc -ne 0 ] || ! printf '%s\n' "$last" | grep -qE '^[1-9][0-9]* passed, 0 failed$'; then
    printf '%s\n' "$out" | tail -20
    status=1
  fi
done
exit $status
