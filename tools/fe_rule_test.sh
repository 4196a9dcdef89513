#!/usr/bin/env bash
# fe_rule.py against flights built to sit on each side of each exemption.
set -euo pipefail
rule="$1"
fail=0
expect() {  # expect HEX VERDICT WHY
  local got
  got=$(echo "$1" | python3 "$rule" --each | head -1)
  if [ "$got" != "$2" ]; then
    echo "FAIL $3: got '$got', want '$2'"; fail=1
  else
    echo "ok   $3"
  fi
}
# 10 bytes 0x0f (4 bits each, 40 bits: 4.0 per byte), none printable.
expect "0f0f0f0f0f0f0f0f0f0f" "NONE" "4.0 bits per byte, nothing printable"
# 0x07 has 3 bits: 3.0 per byte <= 3.4.
expect "07070707070707070707" "Ex1" "3.0 bits per byte"
# Exactly 3.4: four 0x07 (3 bits) and one 0x1f (5 bits) = 17 bits / 5 bytes.
expect "070707071f" "Ex1" "exactly 3.4 bits per byte"
# Four 0x0f (4 bits) and one 0x07 (3) = 19 / 5 = 3.8: not exempt.
expect "0f0f0f0f07" "NONE" "3.8 bits per byte"
# Exactly 4.6: four 0x1f (5 bits) and one 0x07 (3) = 23 / 5.
expect "1f1f1f1f07" "Ex1" "exactly 4.6 bits per byte"
# Six printable bytes first ('GETXYZ' is no method), then 14 non-printable.
expect "474554585a59$(printf '0f%.0s' $(seq 14))" "Ex2" "six printable bytes first"
# Five printable then not: no Ex2 (and 5 of 20 printable).
expect "4745545859$(printf '0f%.0s' $(seq 15))" "NONE" "five printable bytes first"
# (0x55 'U' is printable and 0x0f is not; both have 4 bits set.)
# More than half printable, none of the others.
expect "0f550f550f55550f55" "Ex3" "more than half printable"
# Exactly half printable: not Ex3.
expect "0f550f550f550f55" "NONE" "exactly half printable"
# 21 printable in a run after a non-printable byte, among 40 non-printable.
expect "0f$(printf '55%.0s' $(seq 21))$(printf '0f%.0s' $(seq 40))" "Ex4" "21 printable in a row"
expect "0f$(printf '55%.0s' $(seq 20))$(printf '0f%.0s' $(seq 40))" "NONE" "20 printable in a row"
# TLS record headers and an HTTP method.
expect "160301$(printf '0f%.0s' $(seq 20))" "Ex5" "a TLS handshake record"
expect "170303$(printf '0f%.0s' $(seq 20))" "Ex5" "a TLS application-data record"
expect "16030a$(printf '0f%.0s' $(seq 20))" "NONE" "no TLS version 03 0a"
expect "474554202f$(printf '0f%.0s' $(seq 20))" "Ex5" "'GET /' (five printable: Ex5 only)"
# The summary and the threshold.
out=$(printf '0f0f0f0f0f0f0f0f0f0f\n07070707070707070707\n' | python3 "$rule")
if ! grep -q '^unexempted 1 (50.0%)$' <<<"$out"; then echo "FAIL summary: $out"; fail=1; else echo "ok   summary"; fi
if printf '0f0f0f0f0f0f0f0f0f0f\n' | python3 "$rule" --max-unexempted 0.5 >/dev/null; then
  echo "FAIL --max-unexempted: exit 0 with every flight unexempted"; fail=1
else
  echo "ok   --max-unexempted"
fi
if printf 'zz\n' | python3 "$rule" 2>/dev/null; then echo "FAIL: bad hex accepted"; fail=1; else echo "ok   bad hex refused"; fi
exit $fail
