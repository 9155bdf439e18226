# MLflow tracking server with a PostgreSQL backend store and S3 (MinIO) artifact proxying.
# It installs only mlflow, psycopg2-binary and boto3, each constrained to the exact versions
# that uv.lock pins for them and for every dependency (`uv export --frozen`): the server runs
# the same MLflow as the clients, without the 6 GB of torch the pipeline environment carries.
# docker-compose.yml runs it as `mlflow`; by hand, from the repository root:
#   docker build -f docker/mlflow.Dockerfile -t REGISTRY/tabular-mlops-mlflow:TAG .
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
    UV_PYTHON=python3.11
WORKDIR /build
COPY pyproject.toml uv.lock .python-version ./
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=secret,id=ca_bundle \
    if [ -f /run/secrets/ca_bundle ]; then export SSL_CERT_FILE=/run/secrets/ca_bundle; fi \
    && uv export --frozen --no-dev --no-emit-project --no-hashes --no-header --no-annotate \
       -o constraints.txt \
    && uv venv /opt/venv \
    && VIRTUAL_ENV=/opt/venv uv pip install --strict --constraint constraints.txt \
       mlflow psycopg2-binary boto3

FROM ${PYTHON_IMAGE} AS runtime
ARG APP_UID=10001
RUN groupadd --system --gid "${APP_UID}" mlflow \
    && useradd --system --uid "${APP_UID}" --gid mlflow --create-home --home-dir /home/mlflow \
       --shell /usr/sbin/nologin mlflow
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    VIRTUAL_ENV=/opt/venv \
    PYTHONUNBUFFERED=1 \
    HOME=/home/mlflow \
    MLFLOW_DISABLE_TELEMETRY=true \
    DO_NOT_TRACK=true
WORKDIR /home/mlflow
USER ${APP_UID}
EXPOSE 5000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5000/health', timeout=4)"]
CMD ["mlflow", "server", "--host", "0.0.0.0", "--port", "5000"]
