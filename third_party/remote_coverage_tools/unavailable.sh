#!/bin/sh
echo "remote_coverage_tools is not available offline; use tools/coverage.sh" >&2
exit 1
