"""Server-stack fixtures: real moto S3, MLflow-on-PostgreSQL and ZenML-on-MariaDB servers.

The session starts the three servers with ``scripts.server_stack.up`` (each on a new database
of its own, dropped at the end) while it copies the checkout and runs ``scripts/quickstart.sh``
there on the embedded ``local`` stack. Then the copy's ZenML client logs in to the ZenML server
and the ``server`` stack is applied, with its S3 endpoint behind a :class:`TcpProxy` so that a
test can take the artifact store off the network.

Every ``zenml`` command runs in a subprocess with its own ``ZENML_CONFIG_PATH``: this process
never imports a ZenML client, so it neither touches nor depends on anyone's ZenML store. Results
are read back from the servers themselves: MariaDB, the ZenML REST API, MLflow's API and S3.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scripts.isolated_checkout import OFFLINE_ENV, copy_checkout, run_in_checkout
from scripts.isolated_checkout import command_messages as messages
from scripts.server_stack import ServerStackState, down, http_json, up, zenml_admin_token
from tests.server.tcp_proxy import TcpProxy

_RUN_URL = re.compile(r"/runs/([0-9a-f-]{36})")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the test that logs out of the server after every other server test."""
    last = [i for i in items if i.get_closest_marker("server") and "back_to_local" in i.name]
    for item in last:
        items.remove(item)
        items.append(item)


@dataclass
class ServerWorkspace:
    """A copy of the checkout whose ZenML client is logged in to the test ZenML server."""

    root: Path
    env: dict[str, str]
    state: ServerStackState
    proxy: TcpProxy

    def run(
        self, *args: str, check: bool = True, stdin: str | None = None, timeout: int = 600
    ) -> subprocess.CompletedProcess[str]:
        """Run a command in the checkout; on failure, raise with its output (messages only)."""
        return run_in_checkout(
            args,
            self.root,
            self.env,
            check=check,
            timeout=timeout,
            stdin=stdin,
            error=AssertionError,
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        """Start a command in the checkout without waiting; output is captured."""
        return subprocess.Popen(
            list(args),
            cwd=self.root,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def write_config(self, name: str, **parameters: Any) -> Path:
        """A copy of configs/training.yaml with some ``parameters`` replaced (dicts merged)."""
        import yaml

        base = yaml.safe_load((self.root / "configs" / "training.yaml").read_text())
        for key, value in parameters.items():
            if isinstance(value, dict):
                base["parameters"].setdefault(key, {}).update(value)
            else:
                base["parameters"][key] = value
        path = self.root / "configs" / f"{name}.yaml"
        path.write_text(yaml.safe_dump(base))
        return path

    def train(self, config: Path | str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``zenml pipeline run pipelines.training.training_pipeline -c CONFIG``."""
        return self.run(
            "zenml",
            "pipeline",
            "run",
            "pipelines.training.training_pipeline",
            "-c",
            str(config),
            check=check,
        )

    def step_output(self, run_id: str, step: str, output: str) -> dict[str, Any]:
        """The artifact version a step of a run produced, from the REST API."""
        steps = self.api(f"steps?pipeline_run_id={run_id}&name={step}&hydrate=true")["items"]
        assert len(steps) == 1, steps
        return dict(steps[0]["resources"]["outputs"][output][0])

    def api(self, path: str) -> Any:
        """``GET /api/v1/<path>`` on the ZenML server, as its admin."""
        return http_json(
            "GET", f"{self.state.zenml_url}/api/v1/{path}", token=zenml_admin_token(self.state)
        )


def run_id_of(output: str) -> str:
    """The pipeline run id from the dashboard URL ZenML prints when a run starts."""
    found = _RUN_URL.findall(output)
    assert found, f"no run URL in the output:\n{output[-3000:]}"
    return found[-1]


@pytest.fixture(scope="session")
def server_workspace() -> Iterator[ServerWorkspace]:
    """The servers up, the checkout copied and quickstarted, the client on the server stack."""
    session_dir = Path(tempfile.mkdtemp(prefix="server-e2e-"))
    root = session_dir / "repo"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZENML_", "MLFLOW_"))}
    env.update(OFFLINE_ENV)
    env["ZENML_CONFIG_PATH"] = str(session_dir / "zenml-config")
    env["PATH"] = f"{root / '.venv' / 'bin'}{os.pathsep}{env['PATH']}"
    env.pop("VIRTUAL_ENV", None)
    copy_checkout(root)
    with ThreadPoolExecutor(max_workers=1) as pool:
        starting = pool.submit(up, session_dir / "server-stack")
        quickstart = subprocess.run(
            ["bash", "scripts/quickstart.sh"], cwd=root, env=env, capture_output=True, text=True
        )
        state = starting.result()
    proxy = TcpProxy("127.0.0.1", int(state.s3_endpoint_url.rsplit(":", 1)[1]))
    workspace = ServerWorkspace(root=root, env=env, state=state, proxy=proxy)
    try:
        assert quickstart.returncode == 0, messages(quickstart)[-8000:]
        _log_in(workspace)
        yield workspace
    finally:
        proxy.close()
        down(Path(state.state_dir))
        shutil.rmtree(session_dir, ignore_errors=True)


def _log_in(workspace: ServerWorkspace) -> None:
    """The documented way in: API-key login, the two secrets, the stack file, `stack set`."""
    state = workspace.state
    workspace.run("zenml", "login", state.zenml_url, "--api-key", stdin=state.zenml_api_key + "\n")
    workspace.run(
        "zenml",
        "secret",
        "create",
        "s3_credentials",
        f"--aws_access_key_id={state.s3_access_key_id}",
        f"--aws_secret_access_key={state.s3_secret_access_key}",
    )
    workspace.run(
        "zenml",
        "secret",
        "create",
        "mlflow_credentials",
        f"--username={state.mlflow_username}",
        f"--password={state.mlflow_password}",
    )
    # The S3 endpoint is the proxy, so that tests can cut the artifact store off.
    workspace.env.update(state.stack_env())
    workspace.env["TABULAR_S3_ENDPOINT_URL"] = workspace.proxy.url
    workspace.run("python", "-m", "stacks", "apply", "--no-activate", "stacks/server.yaml")
    workspace.run("zenml", "stack", "set", "server")


@pytest.fixture(scope="session")
def server_run(server_workspace: ServerWorkspace) -> dict[str, Any]:
    """The quickstart's training run, again, unchanged, on the server stack."""
    result = server_workspace.train("configs/training.yaml")
    output = messages(result)
    return {"run_id": run_id_of(output), "output": output}


@pytest.fixture(scope="session")
def mariadb(server_workspace: ServerWorkspace) -> Iterator[Any]:
    """A cursor on the ZenML server's MariaDB database, as its own database user."""
    import pymysql

    state = server_workspace.state
    connection = pymysql.connect(
        host="127.0.0.1",
        port=3306,
        user=state.zenml_db_user,
        password=state.zenml_db_password,
        database=state.zenml_database,
        autocommit=True,
    )
    with connection.cursor(pymysql.cursors.DictCursor) as cursor:
        yield cursor
    connection.close()


@pytest.fixture(scope="session")
def mlflow_client(server_workspace: ServerWorkspace) -> Any:
    """An MLflow client on the remote tracking server's URL."""
    from mlflow.tracking import MlflowClient

    # The registry URI too: MlflowClient otherwise takes the process-wide registry URI, which
    # earlier tests in this pytest process (tests/e2e) point at their local SQLite database.
    url = server_workspace.state.mlflow_url
    return MlflowClient(tracking_uri=url, registry_uri=url)


@pytest.fixture(scope="session")
def s3(server_workspace: ServerWorkspace) -> Any:
    """A boto3 S3 client on moto, directly (not through the proxy)."""
    import boto3

    state = server_workspace.state
    return boto3.client(
        "s3",
        endpoint_url=state.s3_endpoint_url,
        aws_access_key_id=state.s3_access_key_id,
        aws_secret_access_key=state.s3_secret_access_key,
        region_name="us-east-1",
    )


def s3_keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    """Every object key under ``prefix``."""
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(obj["Key"] for obj in page.get("Contents", []))
    return keys
