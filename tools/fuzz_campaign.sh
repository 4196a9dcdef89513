#!/usr/bin/env bash
# The fuzz campaign: builds every libFuzzer target (--config=fuzz) unless
# given --prebuilt, runs each for a time budget on all cores (seeds and known
# crash inputs first), keeps new inputs in a work corpus outside testdata/,
# prints progress while it runs and a summary table at the end. Exits 1 if
# any target crashed, broke an invariant or did not run to its end.
#
#   tools/fuzz_campaign.sh                       # every target, 60 s each
#   tools/fuzz_campaign.sh --time 600 --target stream_decode --target roundtrip
#   tools/fuzz_campaign.sh --merge               # then minimize new inputs
#                                                # into testdata/corpus
#   tools/fuzz_campaign.sh --prebuilt DIR        # run binaries DIR/<target>
#                                                # (an OSS-Fuzz $OUT) unbuilt
set -uo pipefail
cd "$(dirname "$0")/.."

ALL_TARGETS=$(sed -n 's/^ *"\([a-z_]*\)",$/\1/p' fuzz/targets.bzl)
time_per_target=60
jobs=$(nproc)
work=.fuzz-work
merge=0
prebuilt=
targets=()

usage() {
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
  echo "options: --time SECONDS  --target NAME (repeatable)  --jobs N  --work DIR  --merge  --prebuilt DIR"
  echo "targets: $(echo $ALL_TARGETS)"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --time) time_per_target="$2"; shift 2 ;;
    --target) targets+=("$2"); shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --merge) merge=1; shift ;;
    --prebuilt) prebuilt="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "fuzz_campaign: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
[ ${#targets[@]} -eq 0 ] && read -r -a targets <<<"$(echo $ALL_TARGETS)"
for t in "${targets[@]}"; do
  echo " $ALL_TARGETS " | tr '\n' ' ' | grep -q " $t " || { echo "fuzz_campaign: no target '$t'" >&2; exit 2; }
done

echo "fuzz campaign: ${#targets[@]} target(s), ${time_per_target}s each, $jobs at a time, work dir $work"
bin_dir=$prebuilt
if [ -z "$bin_dir" ]; then
  labels=()
  for t in "${targets[@]}"; do labels+=("//fuzz:$t"); done
  bazel build --config=fuzz "${labels[@]}" || { echo "fuzz_campaign: build failed" >&2; exit 1; }
  bin_dir=bazel-bin/fuzz
fi

mkdir -p "$work/bin" "$work/logs"
for t in "${targets[@]}"; do
  # A private copy: another bazel build may replace bazel-bin while we run.
  cp -f "$bin_dir/$t" "$work/bin/$t" || { echo "fuzz_campaign: no binary $bin_dir/$t" >&2; exit 1; }
  mkdir -p "$work/corpus/$t" "$work/artifacts/$t"
done

option() {  # option TARGET KEY: a value from fuzz/TARGET.options
  sed -n "s/^$2 = //p" "fuzz/$1.options"
}

run_target() {
  local t=$1
  # The known crash inputs are read too (never written: libFuzzer writes
  # new inputs into the first directory only), so they are replayed first.
  local crashes=()
  [ -d "testdata/crashes/$t" ] && crashes=("testdata/crashes/$t")
  # strict_string_checks as in the asan config's tests; libFuzzer's own
  # leak detection stays on.
  ASAN_OPTIONS=${ASAN_OPTIONS:-strict_string_checks=1} "$work/bin/$t" \
    -max_total_time="$time_per_target" \
    -max_len="$(option "$t" max_len)" \
    -dict="fuzz/$(option "$t" dict)" \
    -timeout=25 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/$t/" \
    "$work/corpus/$t" "testdata/corpus/$t" "${crashes[@]+"${crashes[@]}"}" >"$work/logs/$t.log" 2>&1
  # Its exit status, for the verdict: a fuzzer killed (out of memory, say)
  # or refused at start leaves no artifact and no sanitizer report.
  echo $? >"$work/logs/$t.status"
}

status_of() {  # the last libFuzzer status line of a target, shortened
  grep -a -E '^#[0-9]+' "$work/logs/$1.log" 2>/dev/null | tail -1 |
    awk '{for (i = 1; i <= NF; i++) if ($i ~ /^(cov|ft|exec\/s):$/) s = s " " $i " " $(i+1); print $1 s}'
}

start=$(date +%s)
pids=()
names=()
next=0
while [ $next -lt ${#targets[@]} ] || [ ${#pids[@]} -gt 0 ]; do
  # Fill free slots.
  while [ $next -lt ${#targets[@]} ] && [ ${#pids[@]} -lt "$jobs" ]; do
    run_target "${targets[$next]}" &
    pids+=($!)
    names+=("${targets[$next]}")
    next=$((next + 1))
  done
  sleep 5
  line="[fuzz $(( $(date +%s) - start ))s]"
  keep_pids=()
  keep_names=()
  for i in "${!pids[@]}"; do
    if kill -0 "${pids[$i]}" 2>/dev/null; then
      keep_pids+=("${pids[$i]}")
      keep_names+=("${names[$i]}")
      line="$line ${names[$i]}: $(status_of "${names[$i]}") |"
    else
      wait "${pids[$i]}"
      line="$line ${names[$i]}: done |"
    fi
  done
  pids=("${keep_pids[@]+"${keep_pids[@]}"}")
  names=("${keep_names[@]+"${keep_names[@]}"}")
  if [ $(( ($(date +%s) - start) % 15 )) -lt 5 ] || [ ${#pids[@]} -eq 0 ]; then echo "$line"; fi
done

stat() {  # stat TARGET NAME: a final libFuzzer statistic
  sed -n "s/^stat::$2: *//p" "$work/logs/$1.log" | tail -1
}

crashed=0
echo
echo "| target | executions | exec/s | coverage (edges) | features | corpus (work + seeds) | crashes |"
echo "|---|---:|---:|---:|---:|---:|---|"
for t in "${targets[@]}"; do
  last=$(grep -a -E '^#[0-9]+' "$work/logs/$t.log" | tail -1)
  cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
  ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
  corpus=$(( $(ls "$work/corpus/$t" | wc -l) + $(ls "testdata/corpus/$t" | wc -l) ))
  artifacts=$(ls "$work/artifacts/$t" 2>/dev/null | sed "s|^|$work/artifacts/$t/|" | tr '\n' ' ')
  status=$(cat "$work/logs/$t.status" 2>/dev/null || echo missing)
  if [ -n "$artifacts" ] || grep -a -q -E 'ERROR: (AddressSanitizer|libFuzzer)|invariant broken|runtime error' "$work/logs/$t.log"; then
    crashed=1
    # A report without an artifact must not print as "none" (a pass in CI).
    artifacts=${artifacts:-"report in $work/logs/$t.log"}
  elif [ "$status" != 0 ] || [ -z "$(stat "$t" number_of_executed_units)" ]; then
    crashed=1
    artifacts="exit status $status, see $work/logs/$t.log"
  fi
  echo "| $t | $(stat "$t" number_of_executed_units) | $(stat "$t" average_exec_per_sec) | ${cov:-?} | ${ft:-?} | $corpus | ${artifacts:-none} |"
done

if [ "$merge" = 1 ]; then
  echo
  for t in "${targets[@]}"; do
    fresh=$(mktemp -d)
    "$work/bin/$t" -merge=1 -max_len="$(option "$t" max_len)" "$fresh" \
      "testdata/corpus/$t" "$work/corpus/$t" >"$work/logs/$t.merge.log" 2>&1
    before=$(ls "testdata/corpus/$t" | wc -l)
    rm -f "testdata/corpus/$t"/*
    cp "$fresh"/* "testdata/corpus/$t"/
    rm -rf "$fresh"
    echo "merged $t: testdata/corpus/$t $before -> $(ls "testdata/corpus/$t" | wc -l) inputs (minimized)"
  done
fi

if [ "$crashed" = 1 ]; then
  echo
  echo "fuzz campaign: FAILED. Logs: $work/logs/. Reproduce without libFuzzer:"
  echo "  bazel build //fuzz:TARGET && bazel-bin/fuzz/TARGET ARTIFACT"
  echo "then fix, and keep the artifact in testdata/crashes/TARGET/."
  exit 1
fi
echo
echo "fuzz campaign: no crash in ${#targets[@]} target(s)"
