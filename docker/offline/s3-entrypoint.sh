#!/bin/sh
# Entrypoint of docker/offline/s3.Dockerfile, for docker-compose.yml's `minio` command
# (`server /data --console-address :9001`): starts moto's S3 server on port 9000 instead of
# MinIO. moto keeps everything in memory: the data directory is accepted and not used, and there
# is no console on the console address. MINIO_ROOT_USER and MINIO_ROOT_PASSWORD are required, as
# MinIO requires them, but moto does not check credentials (README, "Containers offline").
# Any other command than `server` runs as given.
set -eu

if [ "${1:-}" != server ]; then
  exec "$@"
fi
: "${MINIO_ROOT_USER:?MINIO_ROOT_USER must be set}"
: "${MINIO_ROOT_PASSWORD:?MINIO_ROOT_PASSWORD must be set}"
echo "s3-entrypoint: moto S3 server on :9000 (in memory; '${2:-}' and any console address unused)"
exec moto_server -H 0.0.0.0 -p 9000
