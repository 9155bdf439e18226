# Model serving: `mlflow models serve` on a registered model version, by alias
# (models:/<MODEL_NAME>@<MODEL_ALIAS>, default `champion`) from the MLflow tracking server at
# MLFLOW_TRACKING_URI. The environment is exactly uv.lock (no dev group), the one the model was
# trained and evaluated in, so `--env-manager local` serves it without building another one.
# docker-compose.yml runs it as `model-server`; by hand, from the repository root:
#   docker build -f docker/serving.Dockerfile -t REGISTRY/tabular-mlops-serving:TAG .
#   docker run -p 127.0.0.1:5001:8080 -e MLFLOW_TRACKING_URI=http://mlflow.example:5000 \
#     -e MODEL_NAME=breast_cancer_classifier REGISTRY/tabular-mlops-serving:TAG
# Base images are build arguments: the defaults are the official images; where no registry
# is reachable, scripts/docker.sh builds local stand-ins (README, "Containers").
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9

FROM ${UV_IMAGE} AS uv

FROM ${PYTHON_IMAGE} AS builder
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=python3.11 \
    UV_PROJECT_ENVIRONMENT=/opt/venv
WORKDIR /build
COPY pyproject.toml uv.lock .python-version ./
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=secret,id=ca_bundle \
    if [ -f /run/secrets/ca_bundle ]; then export SSL_CERT_FILE=/run/secrets/ca_bundle; fi \
    && uv sync --frozen --no-dev --no-install-project

FROM ${PYTHON_IMAGE} AS runtime
ARG APP_UID=10001
RUN groupadd --system --gid "${APP_UID}" app \
    && useradd --system --uid "${APP_UID}" --gid app --create-home --home-dir /home/app \
       --shell /usr/sbin/nologin app
COPY --from=builder /opt/venv /opt/venv
COPY --chmod=0755 docker/serve-model.sh /usr/local/bin/serve-model
ENV PATH=/opt/venv/bin:$PATH \
    VIRTUAL_ENV=/opt/venv \
    PYTHONUNBUFFERED=1 \
    HOME=/home/app \
    MPLCONFIGDIR=/tmp/matplotlib \
    MLFLOW_DISABLE_TELEMETRY=true \
    DO_NOT_TRACK=true \
    ZENML_ANALYTICS_OPT_IN=false \
    GIT_PYTHON_REFRESH=quiet \
    MODEL_ALIAS=champion \
    SERVING_PORT=8080 \
    SERVING_WORKERS=2
WORKDIR /home/app
USER ${APP_UID}
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ['SERVING_PORT']}/ping\", timeout=4)"]
ENTRYPOINT ["serve-model"]
