"""PostgreSQL and MariaDB administration: the databases and users of one server stack.

MLflow gets a PostgreSQL database and role, ZenML a MariaDB/MySQL database and user, each named
after the stack's random suffix. The admin URLs come from ``up``'s arguments (defaults in
:mod:`scripts.server_stack.state`).
"""

from __future__ import annotations

import contextlib
import urllib.parse
from collections.abc import Iterator
from typing import Any

from scripts.server_stack.state import LOOPBACK, ServerStackError, ServerStackState


def parse_admin_url(url: str, scheme: str, default_port: int) -> dict[str, Any]:
    """Split an admin URL into ``host``, ``port``, ``user``, ``password`` and ``database``.

    Args:
        url: E.g. ``postgresql://postgres@127.0.0.1:5432/postgres`` or
            ``mysql://root@127.0.0.1:3306``.
        scheme: The scheme the URL must start with (``postgres``, ``mysql``).
        default_port: The port when the URL has none.

    Raises:
        ServerStackError: If the URL has another scheme.
    """
    parsed = urllib.parse.urlsplit(url)
    if not parsed.scheme.startswith(scheme):
        raise ServerStackError(f"{url}: expected a {scheme}:// URL")
    return {
        "host": parsed.hostname or LOOPBACK,
        "port": parsed.port or default_port,
        "user": urllib.parse.unquote(parsed.username or ""),
        "password": urllib.parse.unquote(parsed.password or ""),
        "database": parsed.path.lstrip("/") or None,
    }


@contextlib.contextmanager
def _mariadb(admin_url: str) -> Iterator[Any]:
    import pymysql

    params = parse_admin_url(admin_url, "mysql", 3306)
    try:
        connection = pymysql.connect(
            host=params["host"],
            port=params["port"],
            user=params["user"] or "root",
            password=params["password"],
            autocommit=True,
            connect_timeout=5,
        )
    except pymysql.MySQLError as exc:
        raise ServerStackError(
            f"MariaDB at {params['host']}:{params['port']} refused the admin connection: {exc} "
            "(is it running? `scripts/services.sh` starts it)"
        ) from exc
    try:
        with connection.cursor() as cursor:
            yield cursor
    finally:
        connection.close()


@contextlib.contextmanager
def _postgres(admin_url: str) -> Iterator[Any]:
    import psycopg2

    params = parse_admin_url(admin_url, "postgres", 5432)
    try:
        connection = psycopg2.connect(
            host=params["host"],
            port=params["port"],
            user=params["user"] or "postgres",
            password=params["password"] or None,
            dbname=params["database"] or "postgres",
            connect_timeout=5,
        )
    except psycopg2.Error as exc:
        raise ServerStackError(
            f"PostgreSQL at {params['host']}:{params['port']} refused the admin connection: "
            f"{exc} (is it running? `scripts/services.sh` starts it)"
        ) from exc
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            yield cursor
    finally:
        connection.close()


def create_databases(state: ServerStackState) -> None:
    """A MariaDB database + user for ZenML, a PostgreSQL database + role for MLflow."""
    with _mariadb(state.mariadb_admin_url) as cursor:
        cursor.execute(
            f"CREATE DATABASE `{state.zenml_database}` "
            "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )
        # Both host spellings: MariaDB maps a TCP client on 127.0.0.1 to 'localhost' or not,
        # depending on name resolution.
        for host in ("localhost", LOOPBACK):
            cursor.execute(
                f"CREATE USER '{state.zenml_db_user}'@'{host}' IDENTIFIED BY %s",
                (state.zenml_db_password,),
            )
            cursor.execute(
                f"GRANT ALL PRIVILEGES ON `{state.zenml_database}`.* "
                f"TO '{state.zenml_db_user}'@'{host}'"
            )
    with _postgres(state.postgres_admin_url) as cursor:
        cursor.execute(
            f'CREATE ROLE "{state.mlflow_db_user}" LOGIN PASSWORD %s',
            (state.mlflow_db_password,),
        )
        cursor.execute(f'CREATE DATABASE "{state.mlflow_database}" OWNER "{state.mlflow_db_user}"')


def drop_databases(state: ServerStackState) -> list[str]:
    """Drop what :func:`create_databases` created; returns the errors, if any."""
    errors: list[str] = []
    try:
        with _mariadb(state.mariadb_admin_url) as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{state.zenml_database}`")
            for host in ("localhost", LOOPBACK):
                cursor.execute(f"DROP USER IF EXISTS '{state.zenml_db_user}'@'{host}'")
    except Exception as exc:  # noqa: BLE001 - report and go on with PostgreSQL
        errors.append(f"MariaDB: {exc}")
    try:
        with _postgres(state.postgres_admin_url) as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{state.mlflow_database}" WITH (FORCE)')
            cursor.execute(f'DROP ROLE IF EXISTS "{state.mlflow_db_user}"')
    except Exception as exc:  # noqa: BLE001 - report it
        errors.append(f"PostgreSQL: {exc}")
    return errors


def postgres_host(state: ServerStackState) -> str:
    """``host:port`` of the PostgreSQL server of ``state``'s admin URL."""
    params = parse_admin_url(state.postgres_admin_url, "postgres", 5432)
    return f"{params['host']}:{params['port']}"
