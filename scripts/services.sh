#!/usr/bin/env bash
# The database servers the server-stack tests need (tests/server): PostgreSQL (MLflow's
# backend) and MariaDB (the ZenML server's store), answering on 127.0.0.1.
#   PostgreSQL  127.0.0.1:5432, user postgres (trust auth)
#   MariaDB     127.0.0.1:3306, user root (empty password)
# Anything already answering is left alone (CI's service containers, a developer's own
# servers); otherwise the locally installed servers are started. Exits non-zero, naming the
# server, if one still does not answer. Run it (it exits on failure): `scripts/services.sh`.
set -euo pipefail

_answers() { # host port
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

_postgres_ready() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h 127.0.0.1 -p 5432 -t 2
  else
    _answers 127.0.0.1 5432
  fi
}

_mariadb_ready() {
  if command -v mysqladmin >/dev/null 2>&1; then
    mysqladmin --connect-timeout=2 -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1
  else
    _answers 127.0.0.1 3306
  fi
}

_wait_for() { # name check-function
  local i
  for i in $(seq 1 30); do
    "$2" && return 0
    sleep 1
  done
  echo "error: $1 does not answer on 127.0.0.1 after 30 s" >&2
  return 1
}

if ! _postgres_ready; then
  if [ -d /etc/postgresql ] && command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "== starting PostgreSQL" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  else
    echo "error: PostgreSQL does not answer on 127.0.0.1:5432 and is not installed here" >&2
    exit 1
  fi
  _wait_for PostgreSQL _postgres_ready || exit 1
fi

if ! _mariadb_ready; then
  if [ -x /usr/sbin/mariadbd ] && command -v start-stop-daemon >/dev/null 2>&1; then
    echo "== starting MariaDB" >&2
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  else
    echo "error: MariaDB does not answer on 127.0.0.1:3306 and is not installed here" >&2
    exit 1
  fi
  _wait_for MariaDB _mariadb_ready || exit 1
fi

echo "== PostgreSQL (127.0.0.1:5432) and MariaDB (127.0.0.1:3306) answer" >&2
