# The image that pipeline steps run in on a containerized orchestrator (Kubernetes on the cloud
# stack). It holds the environment only, exactly as uv.lock pins it (no dev group): ZenML uploads
# the code of each run to the artifact store and the step pods download it, so a code change
# needs no new image. pipelines/docker_settings.py tells ZenML to build it from this file and
# to install nothing on top. To build and push it yourself, from the repository root:
#   docker build -f docker/pipeline.Dockerfile -t REGISTRY/tabular-mlops-pipeline:TAG .
# Base images are build arguments: the defaults are the official images; where no registry
# is reachable, scripts/docker.sh builds local stand-ins (README, "Containers").
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9

FROM ${UV_IMAGE} AS uv

FROM ${PYTHON_IMAGE} AS builder
COPY --from=uv /uv /usr/local/bin/uv
# Bytecode is compiled at install time: without it every step process recompiles zenml, torch
# and mlflow from source (measured: about 8 s of a 15 s two-step run).
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=python3.11 \
    UV_PROJECT_ENVIRONMENT=/opt/venv
WORKDIR /build
COPY pyproject.toml uv.lock .python-version ./
# The cloud stack builds this image with Kaniko, which parses `RUN --mount` (since 1.8) but
# mounts neither the cache nor the secret: there it downloads everything and trusts the
# system CAs. With BuildKit, the uv cache persists between builds, and the CA bundle of a
# machine behind a TLS-inspecting proxy comes in as the build secret `ca_bundle`, never as
# a layer (scripts/docker.sh, tests/docker).
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=secret,id=ca_bundle \
    if [ -f /run/secrets/ca_bundle ]; then export SSL_CERT_FILE=/run/secrets/ca_bundle; fi \
    && uv sync --frozen --no-dev --group cloud --no-install-project

FROM ${PYTHON_IMAGE} AS runtime
ARG APP_UID=10001
RUN groupadd --system --gid "${APP_UID}" app \
    && useradd --system --uid "${APP_UID}" --gid app --create-home --home-dir /home/app \
       --shell /usr/sbin/nologin app \
    && install -d -o app -g app /app
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    VIRTUAL_ENV=/opt/venv \
    PYTHONUNBUFFERED=1 \
    PYTHONFAULTHANDLER=1 \
    HOME=/home/app \
    MPLCONFIGDIR=/tmp/matplotlib \
    ZENML_CONTAINER=1 \
    ZENML_ANALYTICS_OPT_IN=false \
    ZENML_DEBUG=false \
    ZENML_ENABLE_REPO_INIT_WARNINGS=false \
    MLFLOW_DISABLE_TELEMETRY=true \
    DO_NOT_TRACK=true \
    DVC_NO_ANALYTICS=1 \
    GIT_PYTHON_REFRESH=quiet
# ZenML extracts each run's code into ./code, so the working directory belongs to the user.
WORKDIR /app
USER ${APP_UID}
