# Source this file (`source scripts/env.sh`) before running zenml, mlflow or dvc by hand.
# It keeps every tool offline: no analytics, no telemetry, no hub downloads.
export ZENML_ANALYTICS_OPT_IN=false
export ZENML_DEBUG=false
export ZENML_LOGGING_VERBOSITY="${ZENML_LOGGING_VERBOSITY:-INFO}"
# A failed run ends with Python's plain traceback, not ZenML's boxed rich one: a walkthrough
# counted about 150 extra lines per failure, wrapped at 80 columns, between the step's error
# message and the end of the output. Set it to true for the boxed one (with local variables
# at ZENML_LOGGING_VERBOSITY=DEBUG).
export ZENML_ENABLE_RICH_TRACEBACK="${ZENML_ENABLE_RICH_TRACEBACK:-false}"
# ZenML otherwise prompts to install/upgrade integrations and checks PyPI for a newer release.
export ZENML_ENABLE_REPO_INIT_WARNINGS=false
export MLFLOW_DISABLE_TELEMETRY=true
# No 72-line "Downloading artifacts" progress bars in deployment logs.
export MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR="${MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR:-false}"
export DO_NOT_TRACK=true
export DVC_NO_ANALYTICS=1
export HF_HUB_OFFLINE=1
export TRANSFORMERS_OFFLINE=1
# Quiet git-python when the checkout has no git binary on PATH (container images).
export GIT_PYTHON_REFRESH=quiet
# A remote MLflow tracking server that stops answering fails the step in well under a minute
# (MLflow's defaults, 7 retries with backoff factor 2 and a 120 s timeout, held a step for
# ~12 minutes in a review). Override them for a slow, flaky network.
export MLFLOW_HTTP_REQUEST_MAX_RETRIES="${MLFLOW_HTTP_REQUEST_MAX_RETRIES:-3}"
export MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR="${MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR:-1}"
export MLFLOW_HTTP_REQUEST_TIMEOUT="${MLFLOW_HTTP_REQUEST_TIMEOUT:-60}"

# Where scripts/ensure_uv.sh installs uv when it is missing (pip --user): on PATH, so that the
# README's `uv ...` commands work in the shell that sourced this file.
case ":$PATH:" in
  *":$HOME/.local/bin:"*) ;;
  *) export PATH="$PATH:$HOME/.local/bin" ;;
esac
