#!/usr/bin/env bash
# gotest.sh - go test for the real-backend targets: a test that skips there
# fails the run (a suite meant for a real broker must not pass by not running).
#
# Usage: scripts/gotest.sh LOG [GO TEST ARGS...]
#   runs `go test -v ARGS`, the whole output in LOG; prints the verdict lines
#   (ok/FAIL per package, every failed or skipped test), the output before
#   each failure, and last the figures the tests printed ("name.sub: value"
#   lines); exits non-zero when go test failed or any test skipped.
set -uo pipefail

log=${1:?usage: $0 LOG [GO TEST ARGS...]}
shift
mkdir -p "$(dirname "$log")"
${GO:-go} test -v "$@" >"$log" 2>&1
status=$?
grep -E '^(ok|FAIL|PASS|panic:)|^ *--- (FAIL|SKIP)' "$log"
if ((status != 0)); then
  echo "--- output before each failure (whole log: $log):"
  grep -B60 -E '^ *--- FAIL|^panic:' "$log" | tail -n 400
fi
if grep -qE '^ *--- SKIP' "$log"; then
  echo "gotest.sh: a test skipped; on this target every test must run"
  status=1
fi
grep -E '^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+: ' "$log"
exit "$status"
