# Stand-in for minio/minio and minio/mc (docker-compose.yml's minio and minio-init) where no
# registry image can be pulled: moto's S3 server (moto_server, from PyPI, at the version uv.lock
# pins) and `mc`, a small MinIO-client stand-in over boto3 (docker/offline/mc.py) that knows
# exactly the subcommands docker-compose.yml runs. docker-compose.offline.yml uses it for both
# services; docker/offline/build.sh builds it. What moto does and does not enforce: see mc.py
# and the README ("Containers offline"). In short: a real S3 API, in memory (the /data volume is
# not used: the bucket is empty after a restart), and no credential check.
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
    && uv export --frozen --all-groups --no-emit-project --no-hashes --no-header --no-annotate \
       -o constraints.txt \
    && uv venv /opt/venv \
    && VIRTUAL_ENV=/opt/venv uv pip install --strict --constraint constraints.txt \
       "moto[server]" boto3

FROM ${BASE_IMAGE}
ARG APP_UID=10001
RUN groupadd --system --gid "${APP_UID}" s3 \
    && useradd --system --uid "${APP_UID}" --gid s3 --create-home --home-dir /home/s3 \
       --shell /usr/sbin/nologin s3 \
    && mkdir -p /data && chown s3:s3 /data
COPY --from=builder /opt/venv /opt/venv
COPY docker/offline/mc.py /usr/local/bin/mc
COPY docker/offline/s3-entrypoint.sh /usr/local/bin/s3-entrypoint.sh
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HOME=/home/s3
USER ${APP_UID}
WORKDIR /home/s3
EXPOSE 9000
ENTRYPOINT ["/usr/local/bin/s3-entrypoint.sh"]
CMD ["server", "/data"]
