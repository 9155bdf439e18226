#!/usr/bin/env bash
# The test suite: unit, data, model, end-to-end and server-stack tests on isolated stores.
# Extra arguments go to pytest (e.g. `scripts/test.sh tests/unit -x`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh
source scripts/ensure_uv.sh
# --inexact keeps an added group (bench, cloud); .ci/run syncs exactly. --check first: a full
# sync recompiles all ~40,000 files of the venv (4-13 s) even when nothing changed.
uv sync --frozen --inexact --check >/dev/null 2>&1 || uv sync --frozen --inexact
# Which services the run needs: all of them for the whole suite (no path given, or `tests`);
# for named paths, the databases only for tests/server and the browser only for tests/dashboard
# (`scripts/test.sh tests/unit/test_x.py` starts neither).
need_dbs=1
need_browser=1
paths=()
for arg in "$@"; do
  path="${arg%%::*}"
  if [[ "$arg" != -* && -e "$path" ]]; then
    paths+=("$(realpath --relative-to=. "$path")")
  fi
done
if [ "${#paths[@]}" -gt 0 ]; then
  need_dbs=0
  need_browser=0
  for path in "${paths[@]}"; do
    case "$path" in
      . | tests) need_dbs=1; need_browser=1 ;;
      tests/server | tests/server/*) need_dbs=1 ;;
      tests/dashboard | tests/dashboard/*) need_browser=1 ;;
    esac
  done
fi
if [ "$need_dbs" -eq 1 ]; then
  scripts/services.sh  # PostgreSQL + MariaDB on 127.0.0.1 for tests/server (started if down)
fi
if [ "$need_browser" -eq 1 ]; then
  scripts/ensure_chromium.sh >/dev/null  # the browser of tests/dashboard (apt-get if missing)
fi
set +e
uv run --frozen --no-sync pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
exit "$status"
