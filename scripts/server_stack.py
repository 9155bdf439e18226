"""The server-backed stack's services as local processes, for users without Docker and for tests.

``python -m scripts.server_stack up`` starts, all bound to 127.0.0.1:

- an S3-compatible object store: moto's server (``docker-compose.yml`` runs MinIO instead; no
  MinIO binary can be installed from our package registries, so moto stands in for it here),
  with one bucket;
- an MLflow tracking server on its own new PostgreSQL database (and role), storing artifacts
  in ``s3://<bucket>/mlflow`` and proxying them for its clients;
- a ZenML server on its own new MariaDB/MySQL database (and user), activated with a generated
  admin password, with a service account and an API key for clients.

Each is health-checked before ``up`` returns. What ``up`` generated (ports, database names,
passwords, the API key) is kept in ``<state dir>/state.json`` (mode 0600, outside the
repository), the servers' logs beside it.

- ``env`` prints the ``export`` lines ``stacks/server.yaml`` needs
  (``eval "$(python -m scripts.server_stack env)"``); ``env --with-credentials`` adds the
  secrets a client needs to log in and create the stack's secrets by hand (``ZENML_API_KEY``,
  ``S3_ACCESS_KEY_ID``, ``S3_SECRET_ACCESS_KEY``, ``MLFLOW_USER``, ``MLFLOW_PASSWORD``);
- ``connect`` reads ``stacks/server.yaml``, logs the ZenML client in to the server with the
  API key (what ``zenml login URL --api-key`` does), validates the stack file against the
  server, creates or updates the ``s3_credentials`` and ``mlflow_credentials`` secrets and
  applies the stack;
- ``down`` logs the ZenML client out if it is logged in to this server (what ``zenml logout``
  does), stops the processes and drops the databases and users ``up`` created.

PostgreSQL and MariaDB must already run (``scripts/services.sh`` starts them on our machines).
Their administrative URLs default to ``postgresql://postgres@127.0.0.1:5432/postgres`` and
``mysql://root@127.0.0.1:3306`` (``--postgres-admin-url`` / ``--mariadb-admin-url``, or
``TABULAR_POSTGRES_ADMIN_URL`` / ``TABULAR_MARIADB_ADMIN_URL``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from scripts.isolated_checkout import OFFLINE_ENV, REPO_ROOT
from scripts.ports import free_port

STATE_DIR_ENV = "TABULAR_SERVER_STACK_DIR"
DEFAULT_STATE_DIR = Path.home() / ".local" / "state" / "tabular-mlops" / "server-stack"
DEFAULT_POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_MARIADB_ADMIN_URL = "mysql://root@127.0.0.1:3306"
BUCKET = "tabular-mlops"
ZENML_ADMIN = "admin"
SERVICE_ACCOUNT = "tabular-mlops-client"
S3_SECRET = "s3_credentials"
MLFLOW_SECRET = "mlflow_credentials"
STACK_FILE = REPO_ROOT / "stacks" / "server.yaml"
# moto accepts any key pair; MinIO and AWS check them.
S3_REGION = "us-east-1"
START_TIMEOUT_S = 180.0
LOOPBACK = "127.0.0.1"


class ServerStackError(RuntimeError):
    """A service could not be started, reached, or stopped; the message says which and why."""


@dataclass
class ServerStackState:
    """Everything ``up`` started and generated; persisted as ``state.json``.

    URLs are ``http://127.0.0.1:<port>``; ``pids`` maps a service name (``s3``, ``mlflow``,
    ``zenml``) to the process id of its process-group leader.
    """

    state_dir: str
    suffix: str
    s3_endpoint_url: str
    s3_bucket: str
    s3_access_key_id: str
    s3_secret_access_key: str
    mlflow_url: str
    mlflow_database: str
    mlflow_db_user: str
    mlflow_db_password: str
    mlflow_username: str
    mlflow_password: str
    zenml_url: str
    zenml_database: str
    zenml_db_user: str
    zenml_db_password: str
    zenml_admin_password: str
    zenml_api_key: str = ""
    postgres_admin_url: str = DEFAULT_POSTGRES_ADMIN_URL
    mariadb_admin_url: str = DEFAULT_MARIADB_ADMIN_URL
    pids: dict[str, int] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        """The state file."""
        return Path(self.state_dir) / "state.json"

    def save(self) -> None:
        """Write the state file, readable by its owner only."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(asdict(self), handle, indent=1)

    @classmethod
    def load(cls, state_dir: Path) -> ServerStackState:
        """Read ``<state_dir>/state.json``.

        Raises:
            ServerStackError: If there is no state file (nothing is up).
        """
        path = state_dir / "state.json"
        if not path.is_file():
            raise ServerStackError(
                f"{path}: no server stack is up here (run `python -m scripts.server_stack up`)"
            )
        return cls(**json.loads(path.read_text()))

    def stack_env(self) -> dict[str, str]:
        """The variables ``stacks/server.yaml`` expands, for this deployment."""
        return {
            "TABULAR_S3_BUCKET": self.s3_bucket,
            "TABULAR_S3_ENDPOINT_URL": self.s3_endpoint_url,
            "MLFLOW_TRACKING_URI": self.mlflow_url,
        }

    def credentials_env(self) -> dict[str, str]:
        """The secrets a client needs by hand: the ZenML API key, the S3 keys, the MLflow pair.

        The names are those of ``docs/server-stack.md``'s manual recipe (and of ``.env`` for
        the S3 keys).
        """
        return {
            "ZENML_API_KEY": self.zenml_api_key,
            "S3_ACCESS_KEY_ID": self.s3_access_key_id,
            "S3_SECRET_ACCESS_KEY": self.s3_secret_access_key,
            "MLFLOW_USER": self.mlflow_username,
            "MLFLOW_PASSWORD": self.mlflow_password,
        }


def http_status(url: str, timeout: float = 2.0) -> int | None:
    """The HTTP status of ``GET url``, or ``None`` if nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError):
        return None


def http_json(
    method: str,
    url: str,
    payload: dict[str, Any] | None = None,
    token: str | None = None,
    form: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> Any:
    """Send a JSON (or form-encoded) request and decode the JSON answer.

    Args:
        method: ``GET``, ``POST``, ``PUT``...
        url: The full URL.
        payload: A JSON body.
        token: A bearer token for ``Authorization``.
        form: A form body (``application/x-www-form-urlencoded``) instead of JSON.
        timeout: Seconds to wait for the answer.

    Returns:
        The decoded JSON body (``None`` for an empty body).

    Raises:
        ServerStackError: On an HTTP error status, with the server's answer.
    """
    headers = {"Accept": "application/json"}
    data: bytes | None = None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif payload is not None:
        data = json.dumps(payload).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:2000]
        raise ServerStackError(f"{method} {url}: HTTP {exc.code}: {detail}") from exc
    return json.loads(body) if body else None


def _log_tail(path: Path, lines: int = 40) -> str:
    if not path.is_file():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _wait_until_healthy(
    name: str,
    check: Callable[[], bool],
    process: subprocess.Popen[bytes],
    log_path: Path,
    timeout: float = START_TIMEOUT_S,
) -> float:
    """Poll ``check`` until it is true; fail early if the process exits.

    Returns:
        Seconds it took.

    Raises:
        ServerStackError: If the process exits or ``timeout`` passes, with its log's tail.
    """
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if check():
            return time.monotonic() - start
        code = process.poll()
        if code is not None:
            raise ServerStackError(
                f"{name} exited with status {code} before it was healthy; "
                f"its log ({log_path}) ends with:\n{_log_tail(log_path)}"
            )
        time.sleep(0.5)
    raise ServerStackError(
        f"{name} was not healthy after {timeout:.0f} s; its log ({log_path}) ends with:\n"
        f"{_log_tail(log_path)}"
    )


def _spawn(argv: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start a server in its own process group (so ``down`` can stop it and its workers)."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=log_path.parent,
        )


def _bin(name: str) -> str:
    """An executable of this Python environment (``moto_server``, ``mlflow``)."""
    path = Path(sys.executable).parent / name
    if not path.is_file():
        raise ServerStackError(f"{path}: not installed; run `uv sync --frozen`")
    return str(path)


def _base_env() -> dict[str, str]:
    """The environment for the servers: offline, and none of the caller's ZenML store settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZENML_", "MLFLOW_"))}
    env.update(OFFLINE_ENV)
    return env


# --- databases -------------------------------------------------------------------------------


def _parse_admin_url(url: str, scheme: str, default_port: int) -> dict[str, Any]:
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

    params = _parse_admin_url(admin_url, "mysql", 3306)
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

    params = _parse_admin_url(admin_url, "postgres", 5432)
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


def _create_databases(state: ServerStackState) -> None:
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


def _drop_databases(state: ServerStackState) -> list[str]:
    """Drop what :func:`_create_databases` created; returns the errors, if any."""
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


# --- the three servers -----------------------------------------------------------------------


def _s3_client(state: ServerStackState) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=state.s3_endpoint_url,
        aws_access_key_id=state.s3_access_key_id,
        aws_secret_access_key=state.s3_secret_access_key,
        region_name=S3_REGION,
    )


def _start_s3(state: ServerStackState, port: int) -> float:
    log_path = Path(state.state_dir) / "s3.log"
    process = _spawn([_bin("moto_server"), "-H", LOOPBACK, "-p", str(port)], _base_env(), log_path)
    state.pids["s3"] = process.pid
    state.save()
    seconds = _wait_until_healthy(
        "S3 server (moto)",
        lambda: http_status(f"{state.s3_endpoint_url}/moto-api/") == 200,
        process,
        log_path,
    )
    _s3_client(state).create_bucket(Bucket=state.s3_bucket)
    return seconds


def _start_mlflow(state: ServerStackState, port: int) -> float:
    log_path = Path(state.state_dir) / "mlflow.log"
    backend = (
        f"postgresql+psycopg2://{state.mlflow_db_user}:{state.mlflow_db_password}"
        f"@{_pg_host(state)}/{state.mlflow_database}"
    )
    env = _base_env()
    env.update(
        {
            "MLFLOW_S3_ENDPOINT_URL": state.s3_endpoint_url,
            "AWS_ACCESS_KEY_ID": state.s3_access_key_id,
            "AWS_SECRET_ACCESS_KEY": state.s3_secret_access_key,
            "AWS_DEFAULT_REGION": S3_REGION,
            "MLFLOW_DISABLE_TELEMETRY": "true",
            # The job runner (GenAI evaluation, trace roll-ups) starts seven huey worker
            # processes of about 240 MB each; nothing here uses it.
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        }
    )
    process = _spawn(
        [
            _bin("mlflow"),
            "server",
            "--backend-store-uri",
            backend,
            "--artifacts-destination",
            f"s3://{state.s3_bucket}/mlflow",
            "--host",
            LOOPBACK,
            "--port",
            str(port),
            "--workers",
            "2",
        ],
        env,
        log_path,
    )
    state.pids["mlflow"] = process.pid
    state.save()
    return _wait_until_healthy(
        "MLflow tracking server",
        lambda: http_status(f"{state.mlflow_url}/health") == 200,
        process,
        log_path,
    )


def _pg_host(state: ServerStackState) -> str:
    params = _parse_admin_url(state.postgres_admin_url, "postgres", 5432)
    return f"{params['host']}:{params['port']}"


def _start_zenml(state: ServerStackState, port: int) -> float:
    server_dir = Path(state.state_dir) / "zenml-server"
    server_dir.mkdir(parents=True, exist_ok=True)
    log_path = Path(state.state_dir) / "zenml.log"
    params = _parse_admin_url(state.mariadb_admin_url, "mysql", 3306)
    env = _base_env()
    env.update(
        {
            "ZENML_STORE_URL": (
                f"mysql://{state.zenml_db_user}:{urllib.parse.quote(state.zenml_db_password)}"
                f"@{params['host']}:{params['port']}/{state.zenml_database}"
            ),
            # The server keeps its own global config, never the user's.
            "ZENML_CONFIG_PATH": str(server_dir),
            "ZENML_ANALYTICS_OPT_IN": "false",
            "ZENML_SERVER_JWT_SECRET_KEY": secrets.token_hex(32),
            "ZENML_SECRETS_STORE_TYPE": "sql",
            "ZENML_SECRETS_STORE_ENCRYPTION_KEY": secrets.token_hex(32),
            "ZENML_SERVER_DEPLOYMENT_TYPE": "other",
            "ZENML_LOGGING_VERBOSITY": "WARN",
        }
    )
    process = _spawn(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "zenml.zen_server.zen_server_api:app",
            "--host",
            LOOPBACK,
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env,
        log_path,
    )
    state.pids["zenml"] = process.pid
    state.save()
    seconds = _wait_until_healthy(
        "ZenML server",
        lambda: http_status(f"{state.zenml_url}/health") == 200,
        process,
        log_path,
    )
    _activate_zenml(state)
    return seconds


def _activate_zenml(state: ServerStackState) -> None:
    """Activate the new server, then create the clients' service account and its API key."""
    api = f"{state.zenml_url}/api/v1"
    http_json(
        "PUT",
        f"{api}/activate",
        {
            "admin_username": ZENML_ADMIN,
            "admin_password": state.zenml_admin_password,
            "server_name": "tabular-mlops",
        },
    )
    token = http_json(
        "POST",
        f"{api}/login",
        form={"username": ZENML_ADMIN, "password": state.zenml_admin_password},
    )["access_token"]
    account = http_json(
        "POST",
        f"{api}/service_accounts",
        {
            "name": SERVICE_ACCOUNT,
            "description": "Pipeline runs and stack registration (scripts/server_stack.py)",
            "active": True,
        },
        token=token,
    )
    key = http_json(
        "POST",
        f"{api}/service_accounts/{account['id']}/api_keys",
        {"name": "default", "description": "created by scripts/server_stack.py up"},
        token=token,
    )
    state.zenml_api_key = key["body"]["key"]
    state.save()


def zenml_admin_token(state: ServerStackState) -> str:
    """A bearer token of the server's admin, for REST calls (``/api/v1/...``)."""
    return str(
        http_json(
            "POST",
            f"{state.zenml_url}/api/v1/login",
            form={"username": ZENML_ADMIN, "password": state.zenml_admin_password},
        )["access_token"]
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def up(
    state_dir: Path,
    postgres_admin_url: str = DEFAULT_POSTGRES_ADMIN_URL,
    mariadb_admin_url: str = DEFAULT_MARIADB_ADMIN_URL,
    s3_port: int = 0,
    mlflow_port: int = 0,
    zenml_port: int = 0,
) -> ServerStackState:
    """Create the databases, start the three servers, wait until each is healthy.

    Args:
        state_dir: Where the state file and the logs go (created, mode 0700).
        postgres_admin_url: A PostgreSQL role that may create roles and databases.
        mariadb_admin_url: A MariaDB/MySQL user that may create users and databases.
        s3_port: Port for the S3 server; 0 picks a free one. Likewise ``mlflow_port`` and
            ``zenml_port``.
        mlflow_port: Port for the MLflow tracking server.
        zenml_port: Port for the ZenML server.

    Returns:
        The state: URLs, generated names and credentials, process ids.

    Raises:
        ServerStackError: If a stack is already up in ``state_dir``, a database server is not
            reachable, or a service does not become healthy (everything started is stopped
            and dropped again first).
    """
    state_dir = state_dir.resolve()
    if (state_dir / "state.json").is_file():
        existing = ServerStackState.load(state_dir)
        if any(_alive(pid) for pid in existing.pids.values()):
            raise ServerStackError(
                f"{state_dir}: a server stack is already up (`python -m scripts.server_stack "
                "down` first, or pass another --state-dir)"
            )
        down(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    suffix = secrets.token_hex(4)
    s3_port, mlflow_port, zenml_port = (
        port or free_port() for port in (s3_port, mlflow_port, zenml_port)
    )
    state = ServerStackState(
        state_dir=str(state_dir),
        suffix=suffix,
        s3_endpoint_url=f"http://{LOOPBACK}:{s3_port}",
        s3_bucket=BUCKET,
        s3_access_key_id=f"tabular{suffix}",
        s3_secret_access_key=secrets.token_urlsafe(24),
        mlflow_url=f"http://{LOOPBACK}:{mlflow_port}",
        mlflow_database=f"mlflow_{suffix}",
        mlflow_db_user=f"mlflow_{suffix}",
        mlflow_db_password=secrets.token_urlsafe(18),
        mlflow_username="tabular",
        mlflow_password=secrets.token_urlsafe(18),
        zenml_url=f"http://{LOOPBACK}:{zenml_port}",
        zenml_database=f"zenml_{suffix}",
        zenml_db_user=f"zenml_{suffix}",
        zenml_db_password=secrets.token_urlsafe(18),
        zenml_admin_password=secrets.token_urlsafe(18),
        postgres_admin_url=postgres_admin_url,
        mariadb_admin_url=mariadb_admin_url,
    )
    state.save()
    try:
        _create_databases(state)
        timings = {"s3": _start_s3(state, s3_port)}
        # MLflow and ZenML both run their schema migrations at start: let them overlap.
        timings["zenml+mlflow"] = _start_in_parallel(state, mlflow_port, zenml_port)
    except BaseException:
        down(state_dir)
        raise
    print(
        "server stack up ("
        + ", ".join(f"{k} healthy after {v:.1f} s" for k, v in timings.items())
        + ")",
        file=sys.stderr,
    )
    return state


def _start_in_parallel(state: ServerStackState, mlflow_port: int, zenml_port: int) -> float:
    from concurrent.futures import ThreadPoolExecutor

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:
        mlflow = pool.submit(_start_mlflow, state, mlflow_port)
        zenml = pool.submit(_start_zenml, state, zenml_port)
        mlflow.result()
        zenml.result()
    state.save()
    return time.monotonic() - start


def _stop(pid: int, timeout: float = 15.0) -> None:
    """SIGTERM the process group, then SIGKILL it if it is still there after ``timeout``."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)


def _client_store_url() -> str | None:
    """The store URL this process's ZenML client uses, read without connecting to it.

    ``ZENML_STORE_URL`` if set, else ``store.url`` of the global config file
    (``$ZENML_CONFIG_PATH/config.yaml``); ``None`` if there is neither. Reading the file
    directly, unlike ``GlobalConfiguration()``, creates nothing and contacts no server.
    """
    if os.environ.get("ZENML_STORE_URL"):
        return os.environ["ZENML_STORE_URL"].rstrip("/")
    import yaml
    from zenml.utils.io_utils import get_global_config_directory

    config_file = Path(get_global_config_directory()) / "config.yaml"
    try:
        config = yaml.safe_load(config_file.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return None
    store = config.get("store") if isinstance(config, dict) else None
    url = store.get("url") if isinstance(store, dict) else None
    return str(url).rstrip("/") if url else None


def log_out_of(state: ServerStackState) -> str | None:
    """Run ``zenml logout`` if this process's ZenML client is logged in to ``state``'s server.

    Otherwise the client keeps a store that is gone once ``down`` has stopped the server, and
    its next command retries the connection for half a minute before it fails.

    Args:
        state: The running services.

    Returns:
        A line for the user: what was done, or the command to run by hand; ``None`` if the
        client uses another store.
    """
    if _client_store_url() != state.zenml_url.rstrip("/"):
        return None
    if os.environ.get("ZENML_STORE_URL"):
        return (
            f"ZENML_STORE_URL still points at {state.zenml_url}, which is stopped now: "
            "unset ZENML_STORE_URL ZENML_STORE_API_KEY"
        )
    result = subprocess.run(
        [_bin("zenml"), "logout"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or _client_store_url() == state.zenml_url.rstrip("/"):
        output = (result.stdout + result.stderr).strip()[-2000:]
        return (
            f"the ZenML client is still logged in to {state.zenml_url}, which is stopped now; "
            f"run `zenml logout` (it said: {output})"
        )
    return f"logged the ZenML client out of {state.zenml_url} (back to its local store)"


def down(state_dir: Path) -> None:
    """Log the client out, stop the servers ``up`` started, drop their databases, delete the state.

    The ZenML client of this process (``$ZENML_CONFIG_PATH``) is logged out only if it is
    logged in to this stack's server (see :func:`log_out_of`).

    Args:
        state_dir: The folder ``up`` used.

    Raises:
        ServerStackError: If there is nothing to stop, or a database could not be dropped
            (the state is kept then, so ``down`` can be run again).
    """
    state = ServerStackState.load(state_dir.resolve())
    note = log_out_of(state)
    if note:
        print(note, file=sys.stderr)
    for pid in state.pids.values():
        _stop(pid)
    errors = _drop_databases(state)
    if errors:
        raise ServerStackError("stopped the servers, but: " + "; ".join(errors))
    shutil.rmtree(state.state_dir, ignore_errors=True)


def connect(state: ServerStackState, stack_file: Path = STACK_FILE) -> str:
    """Log this ZenML client in to the server, store the secrets, apply the server stack.

    The same as ``zenml login <url> --api-key`` (the key read from stdin), ``zenml secret
    create s3_credentials ...``, ``zenml secret create mlflow_credentials ...`` and ``python -m
    stacks apply stacks/server.yaml``, in one process. The stack file is read (YAML, keys,
    ``${VAR}`` expansion) before the login, and checked against the server's flavors right
    after it, before any secret is written: an invalid file changes nothing on the server.

    Args:
        state: The running services (from ``up``).
        stack_file: The stack to apply.

    Returns:
        The name of the stack, now active.

    Raises:
        ServerStackError: If the API key is missing or the login fails.
        stacks.registration.StackSpecError: If the stack file is invalid.
    """
    if not state.zenml_api_key:
        raise ServerStackError(f"{state.path}: no API key; run `up` again")
    from stacks.registration import apply_stack, load_stack_spec, validate_against_zenml

    os.environ.update(state.stack_env())
    # Flavors and their settings can only be checked against a store: the server's, after
    # the login. Parsing needs none, so a broken file fails before the client is touched.
    spec = load_stack_spec(stack_file)

    from zenml.cli.login import connect_to_server
    from zenml.client import Client

    connect_to_server(state.zenml_url, api_key=state.zenml_api_key)
    validate_against_zenml(spec, str(stack_file))
    client = Client()
    values = {
        S3_SECRET: {
            "aws_access_key_id": state.s3_access_key_id,
            "aws_secret_access_key": state.s3_secret_access_key,
        },
        MLFLOW_SECRET: {"username": state.mlflow_username, "password": state.mlflow_password},
    }
    for name, secret_values in values.items():
        try:
            existing = client.get_secret(name, allow_partial_name_match=False)
        except KeyError:
            client.create_secret(name, values=secret_values)
        else:
            client.update_secret(existing.id, add_or_update_values=secret_values)
    return apply_stack(stack_file)


def _state_dir(value: str | None) -> Path:
    return Path(value or os.environ.get(STATE_DIR_ENV) or DEFAULT_STATE_DIR)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m scripts.server_stack up|down|env|connect``.

    Returns:
        The exit code: 0 on success, 1 on a :class:`ServerStackError` or an invalid stack file
        (``connect``), with ``error: ...`` on stderr.
    """
    parser = argparse.ArgumentParser(
        prog="python -m scripts.server_stack", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--state-dir",
        help=f"state and logs (default: ${STATE_DIR_ENV} or {DEFAULT_STATE_DIR})",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up_parser = sub.add_parser("up", help="create the databases and start the three servers")
    up_parser.add_argument(
        "--postgres-admin-url",
        default=os.environ.get("TABULAR_POSTGRES_ADMIN_URL", DEFAULT_POSTGRES_ADMIN_URL),
    )
    up_parser.add_argument(
        "--mariadb-admin-url",
        default=os.environ.get("TABULAR_MARIADB_ADMIN_URL", DEFAULT_MARIADB_ADMIN_URL),
    )
    for name in ("s3", "mlflow", "zenml"):
        up_parser.add_argument(f"--{name}-port", type=int, default=0, help="0: a free port")
    env_parser = sub.add_parser(
        "env", help="print `export` lines for stacks/server.yaml and the ZenML URL"
    )
    env_parser.add_argument(
        "--with-credentials",
        action="store_true",
        help="also ZENML_API_KEY, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, MLFLOW_USER and "
        "MLFLOW_PASSWORD (secrets: keep them out of logs and shared terminals)",
    )
    connect_parser = sub.add_parser(
        "connect", help="log in with the API key, create secrets, apply the stack"
    )
    connect_parser.add_argument(
        "--stack-file", type=Path, default=STACK_FILE, help=f"default: {STACK_FILE}"
    )
    sub.add_parser(
        "down",
        help="log the ZenML client out of the server, stop the servers, drop their databases",
    )
    args = parser.parse_args(argv)
    state_dir = _state_dir(args.state_dir)
    try:
        if args.command == "up":
            state = up(
                state_dir,
                postgres_admin_url=args.postgres_admin_url,
                mariadb_admin_url=args.mariadb_admin_url,
                s3_port=args.s3_port,
                mlflow_port=args.mlflow_port,
                zenml_port=args.zenml_port,
            )
            print(f"ZenML server:   {state.zenml_url}  (dashboard; user {ZENML_ADMIN})")
            print(f"MLflow server:  {state.mlflow_url}")
            print(f"S3 endpoint:    {state.s3_endpoint_url}  (bucket {state.s3_bucket})")
            print(f"state and logs: {state.state_dir}")
        elif args.command == "env":
            state = ServerStackState.load(state_dir.resolve())
            exports = {**state.stack_env(), "TABULAR_ZENML_SERVER_URL": state.zenml_url}
            if args.with_credentials:
                exports.update(state.credentials_env())
            for key, value in exports.items():
                print(f"export {key}={shlex.quote(value)}")
        elif args.command == "connect":
            from stacks.registration import StackSpecError, activation_scope

            try:
                name = connect(ServerStackState.load(state_dir.resolve()), args.stack_file)
            except StackSpecError as exc:
                raise ServerStackError(str(exc)) from exc
            print(f"logged in; stack '{name}' registered and active in {activation_scope()[0]}")
        else:
            down(state_dir)
            print(f"server stack in {state_dir} stopped, databases dropped")
    except ServerStackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
