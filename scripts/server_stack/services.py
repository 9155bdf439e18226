"""The three servers (S3 via moto, MLflow on PostgreSQL, ZenML on MariaDB): ``up`` and ``down``."""

from __future__ import annotations

import secrets
import shutil
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

from scripts.ports import free_port
from scripts.server_stack.databases import (
    create_databases,
    drop_databases,
    parse_admin_url,
    postgres_host,
)
from scripts.server_stack.login import log_out_of
from scripts.server_stack.processes import (
    alive,
    base_env,
    executable,
    http_json,
    http_status,
    spawn,
    stop,
    wait_until_healthy,
)
from scripts.server_stack.state import (
    BUCKET,
    DEFAULT_MARIADB_ADMIN_URL,
    DEFAULT_POSTGRES_ADMIN_URL,
    LOOPBACK,
    S3_REGION,
    SERVICE_ACCOUNT,
    ZENML_ADMIN,
    ServerStackError,
    ServerStackState,
)


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
    process = spawn(
        [executable("moto_server"), "-H", LOOPBACK, "-p", str(port)], base_env(), log_path
    )
    state.pids["s3"] = process.pid
    state.save()
    seconds = wait_until_healthy(
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
        f"@{postgres_host(state)}/{state.mlflow_database}"
    )
    env = base_env()
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
    process = spawn(
        [
            executable("mlflow"),
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
    return wait_until_healthy(
        "MLflow tracking server",
        lambda: http_status(f"{state.mlflow_url}/health") == 200,
        process,
        log_path,
    )


def _start_zenml(state: ServerStackState, port: int) -> float:
    server_dir = Path(state.state_dir) / "zenml-server"
    server_dir.mkdir(parents=True, exist_ok=True)
    log_path = Path(state.state_dir) / "zenml.log"
    params = parse_admin_url(state.mariadb_admin_url, "mysql", 3306)
    env = base_env()
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
    process = spawn(
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
    seconds = wait_until_healthy(
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
            "description": "Pipeline runs and stack registration (scripts/server_stack)",
            "active": True,
        },
        token=token,
    )
    key = http_json(
        "POST",
        f"{api}/service_accounts/{account['id']}/api_keys",
        {"name": "default", "description": "created by python -m scripts.server_stack up"},
        token=token,
    )
    state.zenml_api_key = key["body"]["key"]
    state.save()


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
        if any(alive(pid) for pid in existing.pids.values()):
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
        create_databases(state)
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
        stop(pid)
    errors = drop_databases(state)
    if errors:
        raise ServerStackError("stopped the servers, but: " + "; ".join(errors))
    shutil.rmtree(state.state_dir, ignore_errors=True)
