#!/bin/sh
# Entrypoint of the serving image: serve models:/$MODEL_NAME@$MODEL_ALIAS with `mlflow models
# serve`, from the MLflow tracking server at $MLFLOW_TRACKING_URI.
#
# A fresh stack has no registered model yet, so it first waits (polling every
# $MODEL_WAIT_INTERVAL_S seconds, default 30) until the alias exists: train a model and let it
# be promoted, and serving starts by itself. The alias is resolved once, at start: after a new
# promotion, `docker compose restart model-server` serves the new champion.
set -eu

: "${MLFLOW_TRACKING_URI:?MLFLOW_TRACKING_URI must point at the MLflow tracking server}"
: "${MODEL_NAME:?MODEL_NAME must name the registered model}"
MODEL_ALIAS="${MODEL_ALIAS:-champion}"
SERVING_PORT="${SERVING_PORT:-8080}"
SERVING_WORKERS="${SERVING_WORKERS:-2}"
MODEL_WAIT_INTERVAL_S="${MODEL_WAIT_INTERVAL_S:-30}"
model_uri="models:/${MODEL_NAME}@${MODEL_ALIAS}"

until version="$(python -c '
import sys
from mlflow import MlflowClient
print(MlflowClient().get_model_version_by_alias(sys.argv[1], sys.argv[2]).version)
' "$MODEL_NAME" "$MODEL_ALIAS" 2>/dev/null)"; do
  echo "serve-model: ${model_uri} not found at ${MLFLOW_TRACKING_URI} yet;" \
    "retrying in ${MODEL_WAIT_INTERVAL_S} s (train and promote a model first)" >&2
  sleep "$MODEL_WAIT_INTERVAL_S"
done

echo "serve-model: serving ${model_uri} (version ${version}) on port ${SERVING_PORT}" >&2
exec mlflow models serve --model-uri "$model_uri" --env-manager local \
  --host 0.0.0.0 --port "$SERVING_PORT" --workers "$SERVING_WORKERS"
