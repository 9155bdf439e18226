"""A checkout on the ``docker`` stack: the server stack up, every step in a container.

Used by ``tests/docker/test_docker_stack.py`` and ``benchmarks/docker_training.py``. The
checkout is a copy of this one made into a git repository of its own (so ZenML's code archive
leaves out what ``.gitignore`` leaves out: the data, the DVC cache, ``.venv``), with its own
``ZENML_CONFIG_PATH``; the servers run on free ports on new databases (``scripts.server_stack``).
The quickstart data is pushed to the DVC remote on the servers' S3 (``s3://BUCKET/dvc``), then
deleted from the checkout: the steps can only get it from there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.isolated_checkout import OFFLINE_ENV, copy_checkout, run_in_checkout
from scripts.isolated_checkout import command_messages as messages
from scripts.server_stack import ServerStackState, down, http_json, up, zenml_admin_token

LOCAL_BASE_IMAGE = "local/debian-py311:bookworm"
LOCAL_UV_IMAGE = "local/uv:0.13.9"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# stacks/docker.yaml labels every step container with this (the orchestrator never removes them).
STEP_LABEL = "com.tabular-mlops.role=pipeline-step"


@dataclass
class StackWorkspace:
    """A checkout logged in to the test servers, with ``stack`` active."""

    root: Path
    env: dict[str, str]
    state: ServerStackState

    def run(
        self, *args: str, check: bool = True, timeout: int = 1800
    ) -> subprocess.CompletedProcess[str]:
        """Run a command in the checkout; on failure (``check``), raise with its messages."""
        return run_in_checkout(
            args, self.root, self.env, check=check, timeout=timeout, error=AssertionError
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        """Start a command in the checkout without waiting; output captured, merged."""
        return subprocess.Popen(
            list(args),
            cwd=self.root,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def write_config(self, name: str, **top_level: Any) -> Path:
        """configs/training.yaml with top-level keys replaced (``enable_cache=False``...)."""
        import yaml

        base = yaml.safe_load((self.root / "configs" / "training.yaml").read_text())
        base.update(top_level)
        path = self.root / "configs" / f"{name}.yaml"
        path.write_text(yaml.safe_dump(base))
        return path

    def train_args(self, config: Path | str, stack: str) -> list[str]:
        """The training command on ``stack``."""
        return [
            "zenml",
            "pipeline",
            "run",
            "pipelines.training.training_pipeline",
            "-c",
            str(config),
            "--stack",
            stack,
        ]

    def api(self, path: str) -> Any:
        """``GET /api/v1/<path>`` on the ZenML server, as its admin."""
        return http_json(
            "GET", f"{self.state.zenml_url}/api/v1/{path}", token=zenml_admin_token(self.state)
        )

    def s3(self) -> Any:
        """A boto3 S3 client on the servers' S3 (moto)."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.state.s3_endpoint_url,
            aws_access_key_id=self.state.s3_access_key_id,
            aws_secret_access_key=self.state.s3_secret_access_key,
            region_name="us-east-1",
        )

    def s3_keys(self, prefix: str) -> list[str]:
        """Every object key under ``prefix`` in the servers' bucket."""
        client = self.s3()
        keys: list[str] = []
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=self.state.s3_bucket, Prefix=prefix
        )
        for page in pages:
            keys.extend(obj["Key"] for obj in page.get("Contents", []))
        return keys


def docker_env(docker_host: str, cli_dir: Path) -> dict[str, str]:
    """What ZenML's local image builder and orchestrator need to use the engine at
    ``docker_host``: BuildKit, Debian's CLI first on PATH, and the local base images and CA
    bundle where no registry is reachable (``pipelines/docker_settings.py``)."""
    cli_dir.mkdir(parents=True, exist_ok=True)
    link = cli_dir / "docker"
    if not link.exists():
        link.symlink_to("/usr/bin/docker")
    env = {
        "DOCKER_HOST": docker_host,
        "DOCKER_BUILDKIT": "1",
        "TABULAR_PYTHON_IMAGE": LOCAL_BASE_IMAGE,
        "TABULAR_UV_IMAGE": LOCAL_UV_IMAGE,
    }
    if CA_BUNDLE.is_file():
        env["TABULAR_BUILD_CA_BUNDLE"] = str(CA_BUNDLE)
    return env


@contextmanager
def stack_workspace(docker_host: str, prefix: str = "docker-stack-") -> Iterator[StackWorkspace]:
    """Servers up, a checkout on the ``docker`` stack (and ``server``), the data in S3 only.

    Args:
        docker_host: The engine's ``DOCKER_HOST`` (``unix://...``).
        prefix: The temporary folder's name prefix.

    Yields:
        The workspace; everything (servers, databases, folder) is removed afterwards.
    """
    session_dir = Path(tempfile.mkdtemp(prefix=prefix))
    root = session_dir / "repo"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZENML_", "MLFLOW_"))}
    env.update(OFFLINE_ENV)
    env["ZENML_CONFIG_PATH"] = str(session_dir / "zenml-config")
    env.update(docker_env(docker_host, session_dir / "docker-cli"))
    env["PATH"] = os.pathsep.join(
        [str(root / ".venv" / "bin"), str(session_dir / "docker-cli"), env["PATH"]]
    )
    env.pop("VIRTUAL_ENV", None)
    copy_checkout(root)
    state = up(session_dir / "server-stack")
    workspace = StackWorkspace(root=root, env=env, state=state)
    try:
        env.update(state.stack_env())
        # A git repository of the copy's own: the copied `.git` (a worktree's is a file pointing
        # at the original repository) would make these commands commit to the original.
        dot_git = root / ".git"
        if dot_git.is_dir() and not dot_git.is_symlink():
            shutil.rmtree(dot_git)
        else:
            dot_git.unlink(missing_ok=True)
        git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
        workspace.run("git", "init", "-q")
        workspace.run("git", "add", "-A")
        workspace.run(*git, "commit", "-q", "-m", "checkout under test")
        workspace.run("zenml", "init")
        workspace.run(
            "python",
            "-m",
            "scripts.server_stack",
            "--state-dir",
            state.state_dir,
            "connect",
            "--stack-file",
            "stacks/server.yaml",
        )
        workspace.run("python", "-m", "stacks", "apply", "stacks/docker.yaml")
        # The data, exported and checked against its pointer, into the stack's DVC remote (the
        # dvc/ prefix of the artifact store's bucket, as the steps derive it);
        # then off this checkout: the step containers must get it from S3.
        workspace.run("python", "-m", "scripts.materialize_data", "--push")
        (root / "data" / "breast_cancer.csv").unlink()
        shutil.rmtree(root / ".dvc" / "cache", ignore_errors=True)
        yield workspace
    finally:
        down(Path(state.state_dir))
        shutil.rmtree(session_dir, ignore_errors=True)


def step_containers(docker: Any, exclude: set[str]) -> dict[str, dict[str, Any]]:
    """The engine's step containers (by :data:`STEP_LABEL`) not in ``exclude``.

    Args:
        docker: ``tests.docker.conftest.Docker``.
        exclude: Container ids to leave out (those that existed before).

    Returns:
        ``{id: {"step": name, "snapshot": id, "running": bool, "exit_code": int}}``, from
        ``docker inspect`` (ZenML's step entrypoint arguments name the step and snapshot).
    """
    import json

    ids = docker("ps", "-aq", "--no-trunc", "--filter", f"label={STEP_LABEL}").stdout.split()
    ids = [i for i in ids if i not in exclude]
    if not ids:
        return {}
    found: dict[str, dict[str, Any]] = {}
    for item in json.loads(docker("inspect", *ids, check=False).stdout or "[]"):
        args = list(item.get("Args") or [])
        value = {a: args[i + 1] for i, a in enumerate(args[:-1]) if a.startswith("--")}
        found[item["Id"]] = {
            "step": value.get("--step_name"),
            "snapshot": value.get("--snapshot_id"),
            "running": bool(item["State"]["Running"]),
            "exit_code": int(item["State"]["ExitCode"]),
        }
    return found


def existing_step_containers(docker: Any) -> set[str]:
    """Ids of the step containers there now."""
    return set(docker("ps", "-aq", "--no-trunc", "--filter", f"label={STEP_LABEL}").stdout.split())


def command_output(process: subprocess.Popen[str]) -> str:
    """Wait for a started command; its messages (colour codes and traceback frames removed)."""
    stdout, _ = process.communicate()
    return messages(subprocess.CompletedProcess(process.args, process.returncode, stdout, ""))
