# The uv stage of docker/*.Dockerfile where ghcr.io/astral-sh/uv cannot be pulled: the same uv
# release, installed from PyPI, at the same path (/uv) as in the official image. scripts/docker.sh
# builds it as local/uv:0.13.9 from the base image it builds from Debian packages; the images
# then build with `--build-arg UV_IMAGE=local/uv:0.13.9`. The machine's CA bundle, where pip needs
# one, comes in as the build secret `ca_bundle` and stays out of the image:
#   docker build -f docker/offline/uv.Dockerfile -t local/uv:0.13.9 \
#     --secret id=ca_bundle,src=/etc/ssl/certs/ca-certificates.crt .
ARG BASE_IMAGE=local/debian-py311:bookworm
FROM ${BASE_IMAGE}
ARG UV_VERSION=0.13.9
RUN --mount=type=secret,id=ca_bundle \
    if [ -f /run/secrets/ca_bundle ]; then export PIP_CERT=/run/secrets/ca_bundle; fi \
    && python3 -m venv /tmp/uv-venv \
    && /tmp/uv-venv/bin/pip install --no-cache-dir --disable-pip-version-check "uv==${UV_VERSION}" \
    && cp /tmp/uv-venv/bin/uv /uv \
    && cp /tmp/uv-venv/bin/uvx /uvx \
    && rm -rf /tmp/uv-venv
