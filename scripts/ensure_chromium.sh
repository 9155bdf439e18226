#!/usr/bin/env bash
# The browser the dashboard test (tests/dashboard) drives: Debian's Chromium, installed with apt
# if it is missing. Playwright (in the lock's dev group) drives this system browser; it never
# downloads one of its own. $TABULAR_CHROMIUM, when set, names another Chromium to use instead.
# Prints the browser's path; exits non-zero, saying why, if there is none and apt cannot add it.
set -euo pipefail

_find() {
  if [ -n "${TABULAR_CHROMIUM:-}" ]; then
    [ -x "$TABULAR_CHROMIUM" ] && { echo "$TABULAR_CHROMIUM"; return 0; }
    echo "error: TABULAR_CHROMIUM=$TABULAR_CHROMIUM is not an executable" >&2
    exit 1
  fi
  for name in chromium chromium-browser; do
    if command -v "$name" >/dev/null 2>&1; then
      command -v "$name"
      return 0
    fi
  done
  return 1
}

if ! _find >/dev/null; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: no chromium, and no apt-get to install Debian's: install Chromium and set" \
      "TABULAR_CHROMIUM to its executable (tests/dashboard needs it)" >&2
    exit 1
  fi
  echo "chromium not found; installing Debian's chromium package (apt-get install chromium)" >&2
  SUDO=()
  [ "$(id -u)" -eq 0 ] || SUDO=(sudo)
  "${SUDO[@]}" apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends \
    chromium >&2
fi
_find || { echo "error: no chromium after apt-get install chromium" >&2; exit 1; }
