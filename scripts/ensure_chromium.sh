#!/usr/bin/env bash
# Make sure Debian's Chromium is at /usr/bin/chromium for the browser tests (tests/ui).
# Playwright never downloads a browser here: the tests drive this one via executable_path.
set -euo pipefail
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [[ -x "$CHROMIUM" ]]; then
  exit 0
fi
SUDO=""
if [[ "$(id -u)" != 0 ]]; then
  SUDO="sudo -n"
fi
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y -q chromium >/dev/null 2>&1; then
  # A fresh machine's package lists may be empty or stale: update once, then retry.
  $SUDO apt-get update -q >/dev/null
  $SUDO apt-get install -y -q chromium >/dev/null
fi
if [[ ! -x "$CHROMIUM" ]]; then
  echo "ensure_chromium: $CHROMIUM still missing after apt-get install chromium" >&2
  exit 1
fi
