"""docker-compose.yml with the offline override runs, a training run works against it, and
``down -v`` leaves nothing behind (issue 14).

The images of docker-compose.offline.yml are built with ``docker/offline/build.sh`` (BuildKit,
the CA bundle as a build secret), then Debian's Compose 1.29 starts the stack under a unique
project name, on free ports, with random credentials in an env file of its own:

- every long-running service of the server stack reaches ``healthy`` and ``minio-init`` exits 0
  (``model-server`` is left out: it stays unhealthy by design until a model holds the alias);
- a copy of the checkout logs in to the composed ZenML server with a service account's API key,
  stores the two secrets, applies ``stacks/server.yaml`` against the composed MLflow and S3, and
  runs the training pipeline on ``configs/training.yaml``; the run is read back from the ZenML
  server (completed, every step completed), the MLflow registry (a model version from the run's
  experiment) and the bucket (the ZenML artifacts and MLflow's proxied artifacts);
- then ``model-server`` is built and started: it turns healthy and serves the promoted version
  (the same probabilities as the pyfunc loaded from the composed registry);
- ``down -v`` removes every container, volume and network of the project.

Wall times (build, up to healthy, training run, down) are printed.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from scripts.isolated_checkout import OFFLINE_ENV, command_messages, copy_checkout, run_in_checkout
from scripts.ports import free_port
from scripts.server_stack import http_json
from tests.docker.conftest import REPO_ROOT, Docker
from tests.quickstart_run import EXPERIMENT, MODEL_NAME, TRAINING_STEPS

pytestmark = pytest.mark.docker

COMPOSE_FILES = ("docker-compose.yml", "docker-compose.offline.yml")
# What `up` starts: these two and, through depends_on, zenml-db, mlflow-db, minio, minio-init.
UP_SERVICES = ("zenml", "mlflow")
# The services whose images build.sh must build for them (minio-init shares minio's image).
BUILT_SERVICES = ("zenml-db", "zenml", "minio", "mlflow-db", "mlflow")
HEALTHY = {"zenml-db", "zenml", "minio", "mlflow-db", "mlflow"}
HEALTHY_TIMEOUT_S = 420
BUCKET = "tabular-mlops"
RUN_URL = re.compile(r"/runs/([0-9a-f-]{36})")


@dataclass
class ComposedStack:
    """A compose project of the server stack: its name, env file, ports and credentials."""

    docker: Docker
    project: str
    env_file: Path
    values: dict[str, str]
    workdir: Path
    seconds: dict[str, float] = field(default_factory=dict)

    def compose(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        """``docker-compose -p PROJECT --env-file ENV -f ... ARGS``; raise on failure."""
        files = [a for f in COMPOSE_FILES for a in ("-f", str(REPO_ROOT / f))]
        command = ["docker-compose", "-p", self.project, "--env-file", str(self.env_file)]
        result = subprocess.run(
            [*command, *files, *args],
            cwd=REPO_ROOT,
            env=self.docker.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert result.returncode == 0, (
            f"docker-compose {' '.join(args)} exited {result.returncode}\n"
            f"{(result.stdout + result.stderr)[-6000:]}"
        )
        return result

    def url(self, port_variable: str) -> str:
        """``http://127.0.0.1:<port>`` of a published port."""
        return f"http://127.0.0.1:{self.values[port_variable]}"

    def states(self) -> dict[str, str]:
        """Service name -> ``healthy``/``starting``/``unhealthy``, or the state when no check."""
        found = self.docker(
            "ps",
            "-a",
            "--filter",
            f"label=com.docker.compose.project={self.project}",
            "--format",
            '{{.ID}} {{.Label "com.docker.compose.service"}}',
        ).stdout.splitlines()
        states: dict[str, str] = {}
        for line in found:
            container, service = line.split()
            states[service] = self.docker(
                "inspect",
                "-f",
                "{{if .State.Health}}{{.State.Health.Status}}"
                "{{else}}{{.State.Status}} {{.State.ExitCode}}{{end}}",
                container,
            ).stdout.strip()
        return states

    def leftovers(self) -> dict[str, list[str]]:
        """Containers, volumes and networks of the project still on the engine."""
        label = f"label=com.docker.compose.project={self.project}"
        name = f"name={self.project}_"
        found = {
            "containers": self.docker("ps", "-a", "--filter", label, "-q").stdout.split()
            + self.docker("ps", "-a", "--filter", name, "-q").stdout.split(),
            "volumes": self.docker("volume", "ls", "--filter", label, "-q").stdout.split()
            + self.docker("volume", "ls", "--filter", name, "-q").stdout.split(),
            "networks": self.docker("network", "ls", "--filter", label, "-q").stdout.split()
            + self.docker("network", "ls", "--filter", name, "-q").stdout.split(),
        }
        return {kind: sorted(set(ids)) for kind, ids in found.items()}


def _env_file(path: Path) -> dict[str, str]:
    """Random credentials (hex: URL-safe) and free ports, written as a compose env file."""
    values = {
        "ZENML_DB_ROOT_PASSWORD": secrets.token_hex(16),
        "ZENML_DB_USER": "zenml",
        "ZENML_DB_PASSWORD": secrets.token_hex(16),
        "ZENML_ADMIN_USER": "admin",
        "ZENML_ADMIN_PASSWORD": secrets.token_hex(16),
        "ZENML_SECRETS_ENCRYPTION_KEY": secrets.token_hex(32),
        "ZENML_JWT_SECRET_KEY": secrets.token_hex(32),
        "MLFLOW_DB_USER": "mlflow",
        "MLFLOW_DB_PASSWORD": secrets.token_hex(16),
        "MINIO_ROOT_USER": "minio-root",
        "MINIO_ROOT_PASSWORD": secrets.token_hex(16),
        "S3_ACCESS_KEY_ID": "tabular-mlops",
        "S3_SECRET_ACCESS_KEY": secrets.token_hex(16),
        "S3_BUCKET": BUCKET,
        "MODEL_NAME": MODEL_NAME,
        "MODEL_ALIAS": "champion",
    }
    ports: set[int] = set()
    for name in ("ZENML_PORT", "MLFLOW_PORT", "MINIO_PORT", "MINIO_CONSOLE_PORT", "SERVING_PORT"):
        port = free_port()
        while port in ports:
            port = free_port()
        ports.add(port)
        values[name] = str(port)
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    path.chmod(0o600)
    return values


def _ensure_compose() -> None:
    """Install Debian's docker-compose (Compose 1.29) with apt-get where it is missing, as
    scripts/docker.sh installs docker.io; fail, naming the command, where that fails."""
    if shutil.which("docker-compose"):
        return
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    apt = [*sudo, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]
    for args in (["update", "-qq"], ["install", "-y", "-qq", "--no-install-recommends"]):
        command = apt + args + (["docker-compose"] if args[0] == "install" else [])
        result = subprocess.run(command, capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            pytest.fail(
                f"docker-compose is missing and `{' '.join(command)}` failed:\n"
                f"{result.stderr[-3000:]}",
                pytrace=False,
            )


@pytest.fixture(scope="module")
def stack(docker: Docker) -> Iterator[ComposedStack]:
    """The offline images built and the server stack up under a unique project name.

    Teardown runs ``down -v`` again, whatever the tests did, so that a failure leaves nothing.
    """
    _ensure_compose()
    workdir = Path(tempfile.mkdtemp(prefix="compose-offline-"))
    env_file = workdir / "compose.env"
    composed = ComposedStack(
        docker=docker,
        project=f"tabular-compose-{secrets.token_hex(4)}",
        env_file=env_file,
        values=_env_file(env_file),
        workdir=workdir,
    )
    started = time.monotonic()
    build = subprocess.run(
        ["bash", str(REPO_ROOT / "docker/offline/build.sh"), "--env-file", str(env_file)]
        + list(BUILT_SERVICES),
        cwd=REPO_ROOT,
        env=docker.env(),
        capture_output=True,
        text=True,
        timeout=3600,
    )
    assert build.returncode == 0, build.stderr[-6000:]
    composed.seconds["build"] = time.monotonic() - started
    print(f"image build wall times:\n{build.stdout}")
    try:
        yield composed
    finally:
        subprocess.run(
            ["docker-compose", "-p", composed.project, "--env-file", str(env_file)]
            + [a for f in COMPOSE_FILES for a in ("-f", str(REPO_ROOT / f))]
            + ["down", "-v", "--remove-orphans", "--timeout", "20"],
            cwd=REPO_ROOT,
            env=docker.env(),
            capture_output=True,
            timeout=300,
        )
        shutil.rmtree(workdir, ignore_errors=True)
        print(
            "compose wall times (s): "
            + ", ".join(f"{k} {v:.1f}" for k, v in composed.seconds.items())
        )


def test_the_offline_stack_becomes_healthy(stack: ComposedStack) -> None:
    started = time.monotonic()
    stack.compose("up", "-d", "--no-build", *UP_SERVICES)
    deadline = started + HEALTHY_TIMEOUT_S
    states = stack.states()
    while time.monotonic() < deadline:
        states = stack.states()
        if all(states.get(s) == "healthy" for s in HEALTHY) and states.get("minio-init"):
            break
        assert "unhealthy" not in states.values(), states
        time.sleep(3)
    stack.seconds["up_to_healthy"] = time.monotonic() - started
    logs = stack.compose("logs", "--no-color", "--tail", "30").stdout[-6000:]
    assert {s: states.get(s) for s in HEALTHY} == dict.fromkeys(HEALTHY, "healthy"), logs
    assert states["minio-init"] == "exited 0", logs
    assert "model-server" not in states
    init_log = stack.compose("logs", "--no-color", "minio-init").stdout
    assert f"bucket {BUCKET} and access key tabular-mlops are ready" in init_log
    # The mc stand-in did what minio-init asked, and refuses what MinIO's client refuses.
    mc = ["exec", "-T", "minio", "sh", "-c"]
    login = 'mc alias set s http://127.0.0.1:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" && '
    info = stack.compose(*mc, login + "mc admin user info s tabular-mlops").stdout
    assert "PolicyName: readwrite" in info, info
    again = subprocess.run(
        ["docker-compose", "-p", stack.project, "--env-file", str(stack.env_file)]
        + [a for f in COMPOSE_FILES for a in ("-f", str(REPO_ROOT / f))]
        + [*mc, login + f"mc mb s/{BUCKET}"],
        cwd=REPO_ROOT,
        env=stack.docker.env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 1, again
    assert "Unable to make bucket" in again.stdout + again.stderr, again
    # minio-init again (as on a second `up`): idempotent.
    rerun = stack.compose("run", "--rm", "--no-deps", "-T", "minio-init").stdout
    assert f"bucket {BUCKET} and access key tabular-mlops are ready" in rerun, rerun
    # The server was activated with the admin account from the env file: it logs in.
    token = _admin_token(stack)
    assert token
    # The offline images are what runs.
    images = stack.docker(
        "ps",
        "--filter",
        f"label=com.docker.compose.project={stack.project}",
        "--format",
        "{{.Image}}",
    ).stdout.split()
    assert "tabular-mlops/offline-zenml-server:0.98.0" in images
    assert "tabular-mlops/offline-mariadb:10.11" in images


def _admin_token(stack: ComposedStack) -> str:
    return str(
        http_json(
            "POST",
            f"{stack.url('ZENML_PORT')}/api/v1/login",
            form={
                "username": stack.values["ZENML_ADMIN_USER"],
                "password": stack.values["ZENML_ADMIN_PASSWORD"],
            },
        )["access_token"]
    )


def _s3(stack: ComposedStack) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=stack.url("MINIO_PORT"),
        aws_access_key_id=stack.values["S3_ACCESS_KEY_ID"],
        aws_secret_access_key=stack.values["S3_SECRET_ACCESS_KEY"],
        region_name="us-east-1",
    )


def _keys(s3: Any, prefix: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        keys.extend(obj["Key"] for obj in page.get("Contents", []))
    return keys


def test_a_training_run_works_against_the_composed_stack(stack: ComposedStack) -> None:
    states = stack.states()
    assert {s: states.get(s) for s in HEALTHY} == dict.fromkeys(HEALTHY, "healthy"), states
    root = copy_checkout(stack.workdir / "repo")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZENML_", "MLFLOW_"))}
    env.update(OFFLINE_ENV)
    env["ZENML_CONFIG_PATH"] = str(stack.workdir / "zenml-config")
    env["PATH"] = f"{root / '.venv' / 'bin'}{os.pathsep}{env['PATH']}"
    env.pop("VIRTUAL_ENV", None)
    # MLflow 3.17's server advertises multipart downloads when its artifacts are in S3, and its
    # client then fetches every artifact from a presigned URL on the server's S3 endpoint,
    # http://minio:9000, which only resolves inside the compose network: without this the
    # register step retries that URL forever. With it, artifacts come through the server's proxy.
    env["MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD"] = "false"
    env["ZENML_ADMIN_USER"] = stack.values["ZENML_ADMIN_USER"]
    env["ZENML_ADMIN_PASSWORD"] = stack.values["ZENML_ADMIN_PASSWORD"]

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return run_in_checkout(args, root, env, stdin=stdin, timeout=900, error=AssertionError)

    started = time.monotonic()
    run("zenml", "init")
    run("python", "-m", "scripts.materialize_data")
    # The headless login docs/stacks.md gives: an API key made with the admin from .env.
    key = run(
        "python", "-m", "scripts.zenml_api_key", stack.url("ZENML_PORT"),
        "--account", "tabular-compose-client",
    ).stdout.strip().splitlines()[-1]  # fmt: skip
    assert key.startswith("ZENKEY_"), key
    run("zenml", "login", stack.url("ZENML_PORT"), "--api-key", stdin=key + "\n")
    run(
        "zenml", "secret", "create", "s3_credentials",
        f"--aws_access_key_id={stack.values['S3_ACCESS_KEY_ID']}",
        f"--aws_secret_access_key={stack.values['S3_SECRET_ACCESS_KEY']}",
    )  # fmt: skip
    # The composed MLflow has no authentication; stacks/server.yaml references these keys.
    run("zenml", "secret", "create", "mlflow_credentials", "--username=tabular", "--password=x")
    env.update(
        {
            "TABULAR_S3_BUCKET": BUCKET,
            "TABULAR_S3_ENDPOINT_URL": stack.url("MINIO_PORT"),
            "MLFLOW_TRACKING_URI": stack.url("MLFLOW_PORT"),
        }
    )
    run("python", "-m", "stacks", "apply", "stacks/server.yaml")
    stack.seconds["connect"] = time.monotonic() - started
    started = time.monotonic()
    result = run(
        "zenml", "pipeline", "run", "pipelines.training.training_pipeline",
        "-c", "configs/training.yaml",
    )  # fmt: skip
    stack.seconds["training_run"] = time.monotonic() - started
    output = command_messages(result)

    # The run, from the composed ZenML server.
    found = RUN_URL.findall(output)
    assert found, f"no run URL in the output:\n{output[-3000:]}"
    run_id = found[-1]
    token = _admin_token(stack)
    api = f"{stack.url('ZENML_PORT')}/api/v1"
    pipeline_run = http_json("GET", f"{api}/runs/{run_id}?hydrate=true", token=token)
    assert pipeline_run["body"]["status"] == "completed", output[-3000:]
    assert pipeline_run["resources"]["stack"]["name"] == "server"
    steps = http_json("GET", f"{api}/steps?pipeline_run_id={run_id}&size=50", token=token)
    assert {s["name"]: s["body"]["status"] for s in steps["items"]} == dict.fromkeys(
        TRAINING_STEPS, "completed"
    )
    train = http_json(
        "GET", f"{api}/steps?pipeline_run_id={run_id}&name=train_model&hydrate=true", token=token
    )["items"][0]
    classifier_uri = train["resources"]["outputs"]["classifier"][0]["body"]["uri"]
    assert classifier_uri.startswith(f"s3://{BUCKET}/zenml/"), classifier_uri

    # The model version, from the composed MLflow registry, trained in the run's experiment.
    from mlflow.tracking import MlflowClient

    mlflow_url = stack.url("MLFLOW_PORT")
    client = MlflowClient(tracking_uri=mlflow_url, registry_uri=mlflow_url)
    versions = client.search_model_versions(f"name='{MODEL_NAME}'")
    assert [v.version for v in versions] == ["1"], output[-3000:]
    mlflow_run = client.get_run(versions[0].run_id)
    assert client.get_experiment(mlflow_run.info.experiment_id).name == EXPERIMENT
    assert mlflow_run.info.status == "FINISHED"
    assert mlflow_run.data.metrics, "the training run logged no metrics"
    # The first promoted version: the promotion step gave it the alias model-server waits for.
    assert client.get_model_version_by_alias(MODEL_NAME, "champion").version == "1"

    # The artifacts, in the composed S3 bucket: ZenML's, and MLflow's (proxied by its server).
    s3 = _s3(stack)
    names = {
        k.rsplit("/", 1)[-1] for k in _keys(s3, classifier_uri.removeprefix(f"s3://{BUCKET}/"))
    }
    assert {"model.safetensors", "preprocessor.json", "metadata.json", "model_card.md"} <= names
    mlflow_keys = _keys(s3, "mlflow/")
    assert any(key.endswith("/MLmodel") for key in mlflow_keys), mlflow_keys
    assert any(key.endswith("evaluation/roc_curve.png") for key in mlflow_keys), mlflow_keys
    print(f"objects: classifier {len(names)}, mlflow {len(mlflow_keys)}")


def test_model_server_serves_the_promoted_version(
    stack: ComposedStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Started once a version holds the alias, model-server turns healthy and serves it."""
    import json
    import urllib.request

    import mlflow
    import pandas as pd

    data = stack.workdir / "repo" / "data" / "breast_cancer.csv"
    assert data.is_file(), "the training test materializes the data first"
    started = time.monotonic()
    build = subprocess.run(
        ["bash", str(REPO_ROOT / "docker/offline/build.sh"), "--env-file", str(stack.env_file)]
        + ["model-server"],
        cwd=REPO_ROOT,
        env=stack.docker.env(),
        capture_output=True,
        text=True,
        timeout=3600,
    )
    assert build.returncode == 0, build.stderr[-6000:]
    stack.seconds["build_model_server"] = time.monotonic() - started
    started = time.monotonic()
    stack.compose("up", "-d", "--no-build", "model-server")
    deadline = started + HEALTHY_TIMEOUT_S
    while time.monotonic() < deadline and stack.states().get("model-server") != "healthy":
        assert stack.states().get("model-server") != "unhealthy", stack.compose(
            "logs", "--no-color", "--tail", "40", "model-server"
        ).stdout[-4000:]
        time.sleep(3)
    stack.seconds["model_server_to_healthy"] = time.monotonic() - started
    assert set(stack.states().values()) == {"healthy", "exited 0"}, stack.states()

    rows = pd.read_csv(data, nrows=5).drop(columns=["target"])
    request = urllib.request.Request(
        f"{stack.url('SERVING_PORT')}/invocations",
        data=json.dumps(
            {"dataframe_split": {"columns": list(rows.columns), "data": rows.values.tolist()}}
        ).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        served = pd.DataFrame(json.loads(response.read())["predictions"])
    # The same version, loaded here from the composed registry (through MLflow's proxy).
    monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD", "false")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", stack.url("MLFLOW_PORT"))
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", stack.url("MLFLOW_PORT"))
    expected = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@champion").predict(rows)
    assert served["model_version"].astype(str).tolist() == ["1"] * 5
    assert served["probability"].tolist() == pytest.approx(
        expected["probability"].tolist(), abs=1e-6
    )
    assert served["label"].astype(str).tolist() == expected["label"].astype(str).tolist()


def test_down_removes_every_container_volume_and_network(stack: ComposedStack) -> None:
    before = stack.leftovers()
    assert before["containers"] and before["volumes"] and before["networks"], before
    started = time.monotonic()
    stack.compose("down", "-v", "--remove-orphans", "--timeout", "20", timeout=300)
    stack.seconds["down"] = time.monotonic() - started
    assert stack.leftovers() == {"containers": [], "volumes": [], "networks": []}
