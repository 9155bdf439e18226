# Stand-in for zenmldocker/zenml-server:0.98.0 (docker-compose.yml's zenml) where no registry
# image can be pulled: zenml[server] and pymysql from PyPI, each at the version uv.lock pins (as
# are all their dependencies), on the base image scripts/docker.sh builds.
# docker-compose.offline.yml uses it; docker/offline/build.sh builds it. Like the official image
# it serves the API and dashboard with uvicorn on port 8080, keeps its global config in
# /zenml/.zenconfig and reads its settings from the ZENML_* environment.
ARG BASE_IMAGE=local/debian-py311:bookworm
ARG UV_IMAGE=local/uv:0.13.9

FROM ${UV_IMAGE} AS uv

FROM ${BASE_IMAGE} AS builder
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never UV_PYTHON=python3.11
WORKDIR /build
COPY pyproject.toml uv.lock .python-version ./
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=secret,id=ca_bundle \
    if [ -f /run/secrets/ca_bundle ]; then export SSL_CERT_FILE=/run/secrets/ca_bundle; fi \
    && uv export --frozen --no-dev --no-emit-project --no-hashes --no-header --no-annotate \
       -o constraints.txt \
    && uv venv /opt/venv \
    && VIRTUAL_ENV=/opt/venv uv pip install --strict --constraint constraints.txt \
       "zenml[server]" pymysql

FROM ${BASE_IMAGE}
ARG APP_UID=1000
RUN groupadd --system --gid "${APP_UID}" zenml \
    && useradd --system --uid "${APP_UID}" --gid zenml --create-home --home-dir /zenml \
       --shell /usr/sbin/nologin zenml \
    && mkdir -p /zenml/.zenconfig && chown -R zenml:zenml /zenml
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    VIRTUAL_ENV=/opt/venv \
    PYTHONUNBUFFERED=1 \
    HOME=/zenml \
    ZENML_CONFIG_PATH=/zenml/.zenconfig \
    ZENML_CONTAINER=1 \
    ZENML_ANALYTICS_OPT_IN=false
USER ${APP_UID}
WORKDIR /zenml
EXPOSE 8080
CMD ["uvicorn", "zenml.zen_server.zen_server_api:app", "--no-server-header", "--proxy-headers", \
     "--forwarded-allow-ips", "*", "--host", "0.0.0.0", "--port", "8080"]
