#!/usr/bin/env bash
# A Docker engine for this project's images and tests (tests/docker), on a machine that may
# have none, and may reach no container registry (only Debian's and PyPI's package mirrors).
#
#   1. Engine: if nothing answers at $DOCKER_HOST (or at this project's own socket), it installs
#      Debian's docker.io with apt-get where dockerd is missing, and starts a dockerd of its own,
#      bound to a unix socket only (no TCP), with its own data and exec roots so that it stays
#      apart from any other engine on the machine:
#        socket    unix:///var/run/${TABULAR_DOCKER_NAME}.sock   (default tabular-docker)
#        data      /var/lib/${TABULAR_DOCKER_NAME}   (image layers persist here between runs)
#        log       /var/log/${TABULAR_DOCKER_NAME}.log
#   2. Base image: where the official python:3.11-slim image cannot be pulled, it builds
#      ${LOCAL_BASE_IMAGE} (default local/debian-py311:bookworm, Python 3.11.2) from Debian
#      packages with debootstrap, from the mirror in the machine's apt sources, and imports it.
#      It is built once; delete it (`docker rmi`) to rebuild.
#   3. uv image: where ghcr.io/astral-sh/uv cannot be pulled, it builds ${LOCAL_UV_IMAGE} (default
#      local/uv:0.13.9) from docker/offline/uv.Dockerfile: the same uv release, from PyPI.
#   The images then build with (tests/docker does this):
#      --build-arg PYTHON_IMAGE=local/debian-py311:bookworm --build-arg UV_IMAGE=local/uv:0.13.9
#      --secret id=ca_bundle,src=/etc/ssl/certs/ca-certificates.crt   (DOCKER_BUILDKIT=1)
#
# Idempotent: a second run finds the engine and the image and does nothing. Needs root for the
# install and for dockerd. Its last line on stdout is the DOCKER_HOST to use:
#   export DOCKER_HOST="$(scripts/docker.sh | tail -n 1)"
# Progress and errors go to stderr; it exits non-zero, saying what failed, when the engine does
# not answer or the base image cannot be built.
set -euo pipefail

name="${TABULAR_DOCKER_NAME:-tabular-docker}"
own_host="unix:///var/run/${name}.sock"
base_image="${LOCAL_BASE_IMAGE:-local/debian-py311:bookworm}"
official_image="${PYTHON_IMAGE:-python:3.11.14-slim-bookworm}"
uv_image="${LOCAL_UV_IMAGE:-local/uv:0.13.9}"
official_uv_image="${UV_IMAGE:-ghcr.io/astral-sh/uv:0.13.9}"
ca_bundle="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

_log() { echo "== docker.sh: $*" >&2; }
_die() { echo "error: docker.sh: $*" >&2; exit 1; }

# Debian's client (20.10) talks to Debian's engine with BuildKit built in; a newer client
# elsewhere on PATH would need the buildx plugin for `docker build`.
docker_bin="$(command -v /usr/bin/docker || command -v docker || true)"

_answers() { # DOCKER_HOST
  [ -n "$docker_bin" ] && DOCKER_HOST="$1" timeout 10 "$docker_bin" version >/dev/null 2>&1
}

_as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

_apt_install() { # package...
  _log "installing $* (apt-get)"
  _as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 \
    || _die "apt-get update failed"
  _as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2 \
    || _die "apt-get install $* failed"
}

_start_engine() {
  if ! command -v dockerd >/dev/null 2>&1 || [ ! -x /usr/bin/docker ]; then
    _apt_install docker.io
  fi
  docker_bin=/usr/bin/docker
  local sock="/var/run/${name}.sock"
  _as_root mkdir -p "/var/lib/${name}" "/var/run/${name}"
  _as_root rm -f "$sock"
  _log "starting dockerd on ${own_host} (data root /var/lib/${name}, log /var/log/${name}.log)"
  # setsid: the engine outlives this script and the shell that ran it.
  _as_root setsid dockerd --host "$own_host" --data-root "/var/lib/${name}" \
    --exec-root "/var/run/${name}" --pidfile "/var/run/${name}.pid" \
    >>"/var/log/${name}.log" 2>&1 </dev/null &
  local i
  for i in $(seq 1 60); do
    _answers "$own_host" && return 0
    sleep 1
  done
  tail -n 20 "/var/log/${name}.log" >&2 || true
  _die "dockerd does not answer on ${own_host} after 60 s (log above: /var/log/${name}.log)"
}

_debian_mirror() {
  local uri
  uri="$(grep -hs -E '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null \
    | awk '{print $2}' | grep -v -- '-security' | head -n 1 || true)"
  if [ -z "$uri" ]; then
    uri="$(grep -hs -E '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
      | awk '{for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; exit}}' \
      | grep -v -- '-security' | head -n 1 || true)"
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

_build_base_image() {
  command -v debootstrap >/dev/null 2>&1 || _apt_install debootstrap
  local mirror root
  mirror="$(_debian_mirror)"
  root="$(mktemp -d /var/tmp/debian-py311.XXXXXX)"
  trap '_as_root rm -rf "$root"' RETURN
  _log "building ${base_image} with debootstrap from ${mirror} (about 2 minutes)"
  # python3-venv brings ensurepip, so that a Dockerfile can install uv with pip where the uv
  # image cannot be pulled; passwd (groupadd/useradd) is in minbase already.
  _as_root debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$root" "$mirror" >&2 || _die "debootstrap from ${mirror} failed"
  _as_root rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  _as_root tar -C "$root" -c . | DOCKER_HOST="$host" "$docker_bin" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' - "$base_image" >&2 || _die "docker import of ${base_image} failed"
}

if [ -n "${DOCKER_HOST:-}" ] && _answers "$DOCKER_HOST"; then
  host="$DOCKER_HOST"
elif _answers "$own_host"; then
  host="$own_host"
else
  _start_engine
  host="$own_host"
fi
_log "engine answers at ${host} ($(DOCKER_HOST="$host" "$docker_bin" version -f '{{.Server.Version}}'))"

_have() { # image
  DOCKER_HOST="$host" "$docker_bin" image inspect "$1" >/dev/null 2>&1
}

_pullable() { # image
  _have "$1" || DOCKER_HOST="$host" timeout 60 "$docker_bin" pull -q "$1" >/dev/null 2>&1
}

if _have "$base_image"; then
  _log "base image ${base_image} is there"
elif _pullable "$official_image"; then
  _log "${official_image} is available; the Dockerfiles' default base builds as it is"
else
  _build_base_image
  _log "built ${base_image}"
fi

if _have "$uv_image"; then
  _log "uv image ${uv_image} is there"
elif _pullable "$official_uv_image"; then
  _log "${official_uv_image} is available; the Dockerfiles' default uv stage builds as it is"
elif _have "$base_image"; then
  secret=()
  [ -f "$ca_bundle" ] && secret=(--secret "id=ca_bundle,src=${ca_bundle}")
  _log "building ${uv_image} from PyPI (docker/offline/uv.Dockerfile)"
  DOCKER_HOST="$host" DOCKER_BUILDKIT=1 "$docker_bin" build -q \
    -f "${repo_root}/docker/offline/uv.Dockerfile" --build-arg "BASE_IMAGE=${base_image}" \
    "${secret[@]}" -t "$uv_image" "$repo_root" >&2 || _die "building ${uv_image} failed"
else
  _die "neither ${official_uv_image} nor ${base_image} is available to build uv from"
fi
echo "$host"
