#!/usr/bin/env bash
# Build the images of docker-compose.yml + docker-compose.offline.yml with BuildKit and the
# machine's CA bundle as the build secret `ca_bundle` (pip and uv in containers need it where a
# proxy re-signs TLS; it never enters an image). Compose 1.29 cannot pass build secrets, so
# `docker-compose build` would fail there at the first PyPI download; this script reads each
# service's build section from `docker-compose config` (both files merged, .env interpolated)
# and runs `docker build` for it.
#
#   docker/offline/build.sh [--env-file FILE] [SERVICE...]   (default: every service that builds)
#   DOCKER_BUILD_FLAGS=--no-cache docker/offline/build.sh    (extra `docker build` flags)
#
# Needs: DOCKER_HOST set (scripts/docker.sh prints it) where the engine is not the default one,
# the base images scripts/docker.sh builds, Debian's docker-compose (and its python3-yaml), and
# the .env file docker-compose.yml interpolates (or --env-file). Prints each image's build wall
# time in seconds; exits non-zero, naming the service, at the first failed build.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ca_bundle="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
docker_bin="$(command -v /usr/bin/docker || command -v docker)"
compose=(docker-compose --project-directory "$repo_root")
if [ "${1:-}" = --env-file ]; then
  compose+=(--env-file "$2")
  shift 2
fi
compose+=(-f "$repo_root/docker-compose.yml" -f "$repo_root/docker-compose.offline.yml")

config="$("${compose[@]}" config)"
# One line per service that builds: NAME<TAB>IMAGE<TAB>CONTEXT<TAB>DOCKERFILE<TAB>ARG=V,ARG=V
plan="$(printf '%s' "$config" | /usr/bin/python3 -c '
import sys, yaml
wanted = set(sys.argv[1:])
services = yaml.safe_load(sys.stdin)["services"]
unknown = wanted - set(services)
if unknown:
    sys.exit(f"build.sh: no such service: {sorted(unknown)}")
for name, service in sorted(services.items()):
    build = service.get("build")
    if not build or (wanted and name not in wanted):
        continue
    args = ",".join(f"{k}={v}" for k, v in sorted((build.get("args") or {}).items()))
    print("\t".join([name, service["image"], build["context"], build["dockerfile"], args]))
' "$@")"

secret=()
[ -f "$ca_bundle" ] && secret=(--secret "id=ca_bundle,src=${ca_bundle}")
while IFS=$'\t' read -r name image context dockerfile args; do
  [ -n "$name" ] || continue
  build_args=()
  IFS=, read -r -a pairs <<<"$args"
  for pair in "${pairs[@]}"; do build_args+=(--build-arg "$pair"); done
  started=$(date +%s.%N)
  echo "== build.sh: ${name}: ${image} from ${dockerfile}" >&2
  # shellcheck disable=SC2086 # DOCKER_BUILD_FLAGS is a list of flags
  if ! DOCKER_BUILDKIT=1 "$docker_bin" build ${DOCKER_BUILD_FLAGS:-} --progress=plain \
      -f "$context/$dockerfile" -t "$image" "${build_args[@]}" "${secret[@]}" "$context" >&2; then
    echo "error: build.sh: building ${image} for service ${name} failed (output above)" >&2
    exit 1
  fi
  awk -v n="$name" -v i="$image" -v s="$started" -v e="$(date +%s.%N)" \
    'BEGIN { printf "%s\t%s\t%.1f s\n", n, i, e - s }'
done <<<"$plan"
