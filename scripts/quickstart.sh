#!/usr/bin/env bash
# The main job on the embedded default stack, from a fresh clone:
#   install the locked environment, `zenml init`, register the `local` stack, materialize the
#   DVC-tracked data, and run the training pipeline. Safe to run again.
#   It also prepares the local dashboard (`zenml login --local`): the account form answered with
#   email opt-in off, announcements and update notices off (scripts/dashboard_settings.py;
#   `python -m scripts.dashboard_settings undo` reverts it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh
source scripts/ensure_uv.sh

# --inexact: keep what a user added on top (the bench group of the treatment example).
# --check first: a full sync recompiles all ~40,000 files of the venv (4-13 s) even when
# nothing changed.
uv sync --frozen --inexact --check >/dev/null 2>&1 || uv sync --frozen --inexact
PY=(uv run --frozen --no-sync)

# The quickstart trains on the embedded store. A client still logged in to a ZenML server
# (`zenml login URL`, or a composed stack since taken down) would register the local stack on
# that server and train there, or fail with a traceback once it is gone: say so and stop.
store_url="$("${PY[@]}" python -c \
  'from scripts.server_stack.login import client_store_url; print(client_store_url() or "")')"
case "$store_url" in
  http://* | https://*)
    echo "error: the ZenML client is logged in to the server ${store_url}; the quickstart" \
      "trains on the embedded local store. Run \`zenml logout\`, then scripts/quickstart.sh" \
      "again" >&2
    exit 1
    ;;
esac

# Before `zenml init`: a user whose email opt-in is answered is not prompted for an email there.
"${PY[@]}" python -m scripts.dashboard_settings apply >/dev/null
echo "Local dashboard: account form answered (email opt-in off), announcements and update notices off"
[ -d .zen ] || "${PY[@]}" zenml init
"${PY[@]}" zenml analytics opt-out >/dev/null 2>&1 || true
"${PY[@]}" python -m stacks apply stacks/local.yaml
"${PY[@]}" python -m scripts.materialize_data
"${PY[@]}" zenml pipeline run pipelines.training.training_pipeline -c configs/training.yaml "$@"
