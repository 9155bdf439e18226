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
scripts/services.sh  # PostgreSQL + MariaDB on 127.0.0.1 for tests/server (started if down)
scripts/ensure_chromium.sh >/dev/null  # the browser of tests/dashboard (apt-get if missing)
set +e
uv run --frozen --no-sync pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
exit "$status"
