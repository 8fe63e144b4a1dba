#!/usr/bin/env bash
# chromium.sh - make sure a headless-capable Chromium is installed for the
# marketplace browser test (internal/uitest), and print its path last on
# stdout.
#
# Usage: scripts/chromium.sh            install if missing (apt-get; needs root)
#        scripts/chromium.sh path       print the path, exit 1 if none
#
# The browser test runs when MESH_TEST_CHROMIUM names the binary, e.g.
#   MESH_TEST_CHROMIUM=$(scripts/chromium.sh) go test ./internal/uitest/...
set -euo pipefail

log() { echo "chromium.sh: $*" >&2; }

find_chromium() {
  local c
  for c in "${MESH_TEST_CHROMIUM:-}" chromium chromium-browser google-chrome-stable google-chrome; do
    [[ -z $c ]] && continue
    if command -v "$c" >/dev/null 2>&1; then
      command -v "$c"
      return 0
    fi
  done
  return 1
}

if [[ ${1:-} == path ]]; then
  find_chromium
  exit $?
fi

if p=$(find_chromium); then
  echo "$p"
  exit 0
fi

command -v apt-get >/dev/null || { log "error: no chromium and no apt-get to install it"; exit 1; }
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { log "error: installing chromium needs root (or sudo)"; exit 1; }
  SUDO=sudo
fi
log "installing chromium with apt-get (first time only)"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
$SUDO apt-get install -y -qq --no-install-recommends chromium >&2 \
  || $SUDO apt-get install -y -qq --no-install-recommends chromium-browser >&2
p=$(find_chromium) || { log "error: apt-get finished but no chromium binary is on PATH"; exit 1; }
"$p" --version >&2 || true
echo "$p"
