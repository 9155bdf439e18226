#!/bin/sh
# Entrypoint of docker/offline/mariadb.Dockerfile: what the official mysql image's entrypoint does
# on the first start, for MariaDB. With an empty data directory it creates the system tables,
# sets the root password (root@localhost and root@'%', as the official image's default
# MYSQL_ROOT_HOST=%), creates MYSQL_DATABASE and MYSQL_USER with all rights on it, all through a
# server that listens on a private socket only (so the TCP health check does not pass early),
# then starts the server for real on port 3306. A data directory that is already set up is used
# as it is. Any other command than `mariadbd` runs as given.
set -eu

datadir=/var/lib/mysql

if [ "${1:-}" != mariadbd ] && [ "${1:-}" != mysqld ]; then
  exec "$@"
fi
shift

: "${MYSQL_ROOT_PASSWORD:?MYSQL_ROOT_PASSWORD must be set}"
if [ -n "${MYSQL_USER:-}" ] && [ -z "${MYSQL_PASSWORD:-}" ]; then
  echo "mariadb-entrypoint: MYSQL_USER is set but MYSQL_PASSWORD is empty" >&2
  exit 1
fi

mkdir -p /run/mysqld
chown mysql:mysql /run/mysqld "$datadir"

# SQL string literal of $1: backslashes and single quotes escaped.
sql_string() {
  printf "'%s'" "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e "s/'/\\\\'/g")"
}
# SQL identifier of $1: backticks doubled.
sql_name() {
  printf '`%s`' "$(printf '%s' "$1" | sed -e 's/`/``/g')"
}

if [ ! -d "$datadir/mysql" ]; then
  echo "mariadb-entrypoint: initialising $datadir"
  mariadb-install-db --user=mysql --datadir="$datadir" --skip-test-db \
    --auth-root-authentication-method=normal >/dev/null
  socket=/run/mysqld/init.sock
  mariadbd --user=mysql --datadir="$datadir" --skip-networking --socket="$socket" &
  pid=$!
  i=0
  until mariadb-admin --socket="$socket" -u root ping --silent >/dev/null 2>&1; do
    i=$((i + 1))
    if [ "$i" -gt 60 ] || ! kill -0 "$pid" 2>/dev/null; then
      echo "mariadb-entrypoint: the initialisation server did not start" >&2
      exit 1
    fi
    sleep 1
  done
  root_pw="$(sql_string "$MYSQL_ROOT_PASSWORD")"
  {
    echo "ALTER USER 'root'@'localhost' IDENTIFIED BY $root_pw;"
    echo "CREATE USER 'root'@'%' IDENTIFIED BY $root_pw;"
    echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
    if [ -n "${MYSQL_DATABASE:-}" ]; then
      echo "CREATE DATABASE IF NOT EXISTS $(sql_name "$MYSQL_DATABASE");"
    fi
    if [ -n "${MYSQL_USER:-}" ]; then
      echo "CREATE USER $(sql_string "$MYSQL_USER")@'%' IDENTIFIED BY $(sql_string "$MYSQL_PASSWORD");"
      if [ -n "${MYSQL_DATABASE:-}" ]; then
        echo "GRANT ALL ON $(sql_name "$MYSQL_DATABASE").* TO $(sql_string "$MYSQL_USER")@'%';"
      fi
    fi
    echo "FLUSH PRIVILEGES;"
  } | mariadb --socket="$socket" -u root
  mariadb-admin --socket="$socket" -u root --password="$MYSQL_ROOT_PASSWORD" shutdown
  wait "$pid"
  echo "mariadb-entrypoint: initialised (database ${MYSQL_DATABASE:-none}, user ${MYSQL_USER:-none})"
fi

exec mariadbd --user=mysql --datadir="$datadir" --bind-address=0.0.0.0 --port=3306 \
  --skip-name-resolve "$@"
