#!/usr/bin/env bash
# The systemd unit is one systemd accepts without a warning (systemd-analyze
# verify), a misspelled directive in it is caught the same way, and the
# example configuration passes the unit's own ExecStartPre check.
#   service_test.sh UNIT REFLEX_BINARY EXAMPLE_CONFIG
set -euo pipefail
unit=$1 reflex=$(realpath "$2") config=$(realpath "$3")
work=${TEST_TMPDIR:-$(mktemp -d)}

"$reflex" server --config "$config" --check-config
echo "service_test: the example configuration passes --check-config"

if ! command -v systemd-analyze >/dev/null; then
  echo "service_test: SKIPPED the unit check: systemd-analyze is not installed (tools/bootstrap.sh installs systemd)"
  exit 0
fi

# verify wants the ExecStart binary to exist: point it at the built one.
verify() {  # verify FILE: systemd-analyze's complaints, empty when none
  systemd-analyze verify "$1" 2>&1 || true
}
mkdir -p "$work/units"
sed "s|/usr/local/bin/reflex|$reflex|g" "$unit" > "$work/units/reflex.service"
out=$(verify "$work/units/reflex.service")
if [ -n "$out" ]; then
  echo "service_test: FAILED: systemd-analyze verify complains:"; echo "$out"; exit 1
fi
echo "service_test: systemd-analyze verify accepts the unit"

sed 's/^NoNewPrivileges=/NoNewPrivilege=/' "$work/units/reflex.service" > "$work/units/broken.service"
out=$(verify "$work/units/broken.service")
if [ -z "$out" ]; then
  echo "service_test: FAILED: a misspelled directive went unreported"; exit 1
fi
echo "service_test: a misspelled directive is reported: $out"
