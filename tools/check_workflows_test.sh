#!/usr/bin/env bash
# The GitHub workflows parse and carry what GitHub Actions and
# ClusterFuzzLite need (tools/check_workflows.py), and the checker reports
# each kind of damage it is meant to catch (--self-test).
#   check_workflows_test.sh CHECKER PROJECT_YAML WORKFLOW...
set -euo pipefail
exec /usr/bin/python3 "$1" --self-test "$(dirname "$3")" "$2"
