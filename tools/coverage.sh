#!/usr/bin/env bash
# Line coverage of pool/ and reflex/ reached by the unit tests (including the
# conformance tool's), the property tests and the fuzz corpora (replayed by //fuzz:*_replay), measured with
# clang's source-based coverage. Prints `llvm-cov report` and the total.
#   tools/coverage.sh            # report in .coverage/
set -euo pipefail
cd "$(dirname "$0")/.."
out=.coverage
rm -rf "$out"
mkdir -p "$out/profraw"

targets=(//pool/... //reflex/... //fuzz/... //property_tests/... //tools/...)
bazel test --config=clangcov --nocache_test_results \
  --test_env=LLVM_PROFILE_FILE="$PWD/$out/profraw/%p-%m.profraw" \
  --test_env=RC_PARAMS=max_success=200 "${targets[@]}"

llvm-profdata merge -sparse "$out"/profraw/*.profraw -o "$out/merged.profdata"

objects=()
query=$(printf 'tests(%s) union ' "${targets[@]}")
for t in $(bazel query "${query% union }" 2>/dev/null); do
  path="bazel-out/k8-fastbuildclangcov/bin/$(echo "${t#//}" | tr : /)"
  # ELF binaries only (sh_tests are scripts).
  [ -x "$path" ] && [ "$(head -c 4 "$path" | tail -c 3)" = "ELF" ] && objects+=(-object "$path")
done
# proxy/ is left out: the fuzz target links part of it, but the proxy is
# tested end to end (real processes), which this report does not run.
ignore='(_test\.cc|_test_util\.h|/usr/|external/|fuzz/|property_tests/|tools/|proxy/)'
llvm-cov report -instr-profile="$out/merged.profdata" "${objects[@]}" \
  -ignore-filename-regex="$ignore" | tee "$out/report.txt"
total=$(awk '/^TOTAL/ {print $(NF-3)}' "$out/report.txt")
echo "coverage: lines of pool/ and reflex/ reached: $total"
