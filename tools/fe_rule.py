#!/usr/bin/env python3
"""fe_rule: the Great Firewall's "fully encrypted traffic" rule, as Wu et al.
measured it ("How the Great Firewall of China Detects and Blocks Fully
Encrypted Traffic", USENIX Security 2023), applied to captured first flights.

A connection's first client data packet is let through when any exemption
holds; otherwise the connection is a candidate for blocking:

  Ex1  the average number of set bits per byte is <= 3.4 or >= 4.6
  Ex2  the first six bytes are printable ASCII (0x20..0x7e)
  Ex3  more than half of the bytes are printable ASCII
  Ex4  more than 20 contiguous bytes are printable ASCII
  Ex5  the first bytes match TLS (16 or 17, then 03, then 00..09: a
       handshake or application-data record header) or HTTP (a request
       method followed by a space)

Input: one first flight per line, in hex (blank lines and lines starting
with # are skipped). Output: with --each, one line per flight ("NONE" or
the exemptions it satisfies, e.g. "Ex2 Ex4 Ex5"); then a summary:

  flights N
  unexempted M (P%)
  Ex1 a
  ...

where each ExK line counts the flights that satisfy ExK (a flight may
satisfy several). --max-unexempted F exits 1 when more than the fraction F
of the flights match no exemption. A line that is not hex is an error that
names it (exit 2).

Usage: fe_rule.py [--each] [--max-unexempted F] [FILE]   (no FILE: stdin)
"""

import argparse
import sys

# The rule's numbers (set bits per byte in tenths, compared exactly).
POPCOUNT_LOW_TENTHS = 34
POPCOUNT_HIGH_TENTHS = 46
PRINTABLE_PREFIX = 6
PRINTABLE_RUN = 20
TLS_FIRST = (0x16, 0x17)
TLS_THIRD_MAX = 0x09
HTTP_METHODS = (b"GET ", b"HEAD ", b"POST ", b"PUT ", b"DELETE ", b"CONNECT ",
                b"OPTIONS ", b"TRACE ", b"PATCH ")


def printable(b):
    return 0x20 <= b <= 0x7E


def exemptions(flight):
    """The exemptions `flight` (bytes, non-empty) satisfies, in order."""
    found = []
    tenths = 10 * sum(bin(b).count("1") for b in flight)
    if tenths <= POPCOUNT_LOW_TENTHS * len(flight) or tenths >= POPCOUNT_HIGH_TENTHS * len(flight):
        found.append("Ex1")
    if len(flight) >= PRINTABLE_PREFIX and all(printable(b) for b in flight[:PRINTABLE_PREFIX]):
        found.append("Ex2")
    if sum(1 for b in flight if printable(b)) * 2 > len(flight):
        found.append("Ex3")
    run = longest = 0
    for b in flight:
        run = run + 1 if printable(b) else 0
        longest = max(longest, run)
    if longest > PRINTABLE_RUN:
        found.append("Ex4")
    tls = len(flight) >= 3 and flight[0] in TLS_FIRST and flight[1] == 0x03 and flight[2] <= TLS_THIRD_MAX
    if tls or any(flight.startswith(m) for m in HTTP_METHODS):
        found.append("Ex5")
    return found


def main(argv):
    parser = argparse.ArgumentParser(description="the fully-encrypted-traffic rule over first flights")
    parser.add_argument("file", nargs="?", help="hex lines (default: stdin)")
    parser.add_argument("--each", action="store_true", help="one verdict line per flight")
    parser.add_argument("--max-unexempted", type=float, default=None,
                        help="exit 1 if more than this fraction match no exemption")
    args = parser.parse_args(argv)
    stream = open(args.file) if args.file else sys.stdin
    counts = {name: 0 for name in ("Ex1", "Ex2", "Ex3", "Ex4", "Ex5")}
    flights = unexempted = 0
    for number, line in enumerate(stream, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            flight = bytes.fromhex(text)
        except ValueError:
            print(f"fe_rule: line {number}: not hex", file=sys.stderr)
            return 2
        if not flight:
            print(f"fe_rule: line {number}: empty", file=sys.stderr)
            return 2
        found = exemptions(flight)
        flights += 1
        if not found:
            unexempted += 1
        for name in found:
            counts[name] += 1
        if args.each:
            print(" ".join(found) if found else "NONE")
    if flights == 0:
        print("fe_rule: no flights", file=sys.stderr)
        return 2
    print(f"flights {flights}")
    print(f"unexempted {unexempted} ({100.0 * unexempted / flights:.1f}%)")
    for name, n in counts.items():
        print(f"{name} {n}")
    if args.max_unexempted is not None and unexempted > args.max_unexempted * flights:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
