"""Issue 14: training on the ``docker`` stack, every step in a container, data from S3 via DVC.

The servers (moto S3, MLflow on PostgreSQL, ZenML on MariaDB) run on free ports on new
databases; the checkout is a copy with its own ZenML config (``tests/docker/stack_workspace.py``).
The quickstart data is pushed to the DVC remote ``s3://BUCKET/dvc`` and removed from the
checkout, so a step can only read it by pulling it from there. ZenML builds the pipeline image
from ``docker/pipeline.Dockerfile`` (from BuildKit's cache once ``tests/docker/test_images.py``
or an earlier run has built it; a cold build takes minutes).

Run: ``.venv/bin/python -m pytest tests/docker/test_docker_stack.py -p no:cacheprovider``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tabular_classifier.data_version import read_dvc_md5
from tests.docker.conftest import Docker
from tests.docker.stack_workspace import (
    StackWorkspace,
    command_output,
    existing_step_containers,
    stack_workspace,
    step_containers,
)
from tests.quickstart_run import MODEL_NAME as MODEL
from tests.quickstart_run import TRAINING_STEPS

pytestmark = pytest.mark.docker

KILL_WITHIN_S = 900
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def workspace(docker: Docker) -> Iterator[StackWorkspace]:
    """The servers up and a checkout on the ``docker`` stack, its data in S3 only."""
    with stack_workspace(docker.host, prefix="docker-data-stack-") as ws:
        yield ws


@pytest.fixture(scope="module")
def before_containers(docker: Docker) -> Iterator[set[str]]:
    """Step containers that existed before; the ones these tests leave are removed after."""
    before = existing_step_containers(docker)
    yield before
    for container in existing_step_containers(docker) - before:
        docker("rm", "-f", "-v", container, check=False, timeout=60)


def _run_id(output: str) -> str:
    found = re.findall(r"/runs/([0-9a-f-]{36})", output)
    assert found, f"no run URL in the output:\n{output[-4000:]}"
    return str(found[-1])


def _registry_versions(ws: StackWorkspace) -> list[str]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=ws.state.mlflow_url, registry_uri=ws.state.mlflow_url)
    return sorted(v.version for v in client.search_model_versions(f"name = '{MODEL}'"))


def _zenml_versions(ws: StackWorkspace) -> list[str]:
    models = ws.api(f"models?name={MODEL}")["items"]
    if not models:
        return []
    items = ws.api(f"model_versions?model_id={models[0]['id']}&size=1000")["items"]
    return sorted(str(v["body"]["number"]) for v in items)


def test_training_runs_every_step_in_a_container_reading_data_from_s3(
    workspace: StackWorkspace, docker: Docker, before_containers: set[str]
) -> None:
    ws = workspace
    pointer_md5 = read_dvc_md5(ws.root / "data" / "breast_cancer.csv.dvc")
    dvc_remote = f"s3://{ws.state.s3_bucket}/dvc"
    assert not (ws.root / "data" / "breast_cancer.csv").exists()
    # The remote holds the data's bytes under DVC's md5 layout.
    assert f"dvc/files/md5/{pointer_md5[:2]}/{pointer_md5[2:]}" in ws.s3_keys("dvc/")

    config = ws.write_config("docker_training", enable_cache=False)
    started = time.monotonic()
    result = ws.run(*ws.train_args(config, "docker"), check=False)
    seconds = time.monotonic() - started
    output = command_output_of(result)
    print(f"training on the docker stack: {seconds:.1f} s wall")
    assert result.returncode == 0, output[-8000:]
    run_id = _run_id(output)

    run = ws.api(f"runs/{run_id}?hydrate=true")
    assert run["body"]["status"] == "completed", run["body"]
    steps = ws.api(f"steps?pipeline_run_id={run_id}&size=100&hydrate=true")["items"]
    assert {s["name"] for s in steps} == TRAINING_STEPS
    assert {s["body"]["status"] for s in steps} == {"completed"}

    # Each step ran in a container of its own, of this run's snapshot, and exited 0.
    containers = step_containers(docker, before_containers)
    ran = {c["step"]: c for c in containers.values()}
    assert set(ran) == TRAINING_STEPS, containers
    assert len({c["snapshot"] for c in ran.values()}) == 1
    assert all(c["exit_code"] == 0 and not c["running"] for c in ran.values()), containers
    # The ingest container pulled the data from the DVC remote on S3 and checked it.
    ingest_id = next(i for i, c in containers.items() if c["step"] == "ingest_data")
    ingest_logs = docker("logs", ingest_id).stdout + docker("logs", ingest_id).stderr
    # A new container has no DVC cache: the bytes were downloaded, not checked out from a cache.
    assert f"data/breast_cancer.csv: downloaded from the DVC remote {dvc_remote}" in ingest_logs
    assert f"Got data/breast_cancer.csv through DVC (remote {dvc_remote})" in ingest_logs
    assert f"md5 {pointer_md5}" in ingest_logs
    # The client streamed the containers' logs: the same lines reached the run's output.
    assert f"Got data/breast_cancer.csv through DVC (remote {dvc_remote})" in output

    # The run records the data version it trained on: the relative path and the S3 remote.
    record = run["metadata"]["run_metadata"]["data_version"]
    assert record["path"] == "data/breast_cancer.csv"
    assert record["md5"] == pointer_md5 and record["dvc_remote"] == dvc_remote

    # Every artifact of the run is in the bucket (the artifact store), under zenml/.
    keys = set(ws.s3_keys("zenml/"))
    bucket_prefix = f"s3://{ws.state.s3_bucket}/"
    uris = [
        version["body"]["uri"]
        for s in steps
        for versions in s["resources"]["outputs"].values()
        for version in versions
    ]
    assert len(uris) >= len(TRAINING_STEPS)
    for uri in uris:
        assert uri.startswith(f"{bucket_prefix}zenml/"), uri
        prefix = uri[len(bucket_prefix) :]
        assert any(k.startswith(prefix) for k in keys), f"{uri}: nothing in the bucket"
    assert _registry_versions(ws) == ["1"]


def command_output_of(result: Any) -> str:
    """The messages of a finished command (colour codes removed)."""
    from scripts.isolated_checkout import command_messages

    return command_messages(result)


def test_a_step_container_killed_mid_step_fails_the_run_and_registers_nothing(
    workspace: StackWorkspace, docker: Docker, before_containers: set[str]
) -> None:
    ws = workspace
    registry_before, zenml_before = _registry_versions(ws), _zenml_versions(ws)
    known = existing_step_containers(docker)
    config = ws.write_config("docker_training_killed", enable_cache=False)
    process = ws.start(*ws.train_args(config, "docker"))
    killed: str | None = None
    deadline = time.monotonic() + KILL_WITHIN_S
    try:
        while killed is None and process.poll() is None and time.monotonic() < deadline:
            for container, info in step_containers(docker, known).items():
                if info["step"] != "train_model" or not info["running"]:
                    continue
                logs = docker("logs", container, check=False)
                # Mid-step: ZenML has started the step's code in the container (its console
                # colours what is between backticks, so compare without colours and backticks).
                text = _ANSI.sub("", logs.stdout + logs.stderr).replace("`", "")
                if "Step train_model has started" in text:
                    docker("kill", container)
                    killed = container
            time.sleep(0.3)
    finally:
        if process.poll() is None and killed is None:
            process.kill()
        output = command_output(process)
    assert killed is not None, f"train_model never ran in a container:\n{output[-6000:]}"
    assert process.returncode != 0, output[-6000:]
    # ZenML's message names the step; the container says how it ended (SIGKILL: 128 + 9).
    assert "Pipeline run has failed due to failure in step(s): train_model" in output, output[
        -6000:
    ]
    assert step_containers(docker, known)[killed]["exit_code"] == 137
    assert "Skipping step register_model due to failure in upstream step(s): train_model" in output

    run = ws.api(f"runs/{_run_id(output)}?hydrate=true")
    assert run["body"]["status"] == "failed", run["body"]
    steps = {s["name"] for s in ws.api(f"steps?pipeline_run_id={run['id']}&size=100")["items"]}
    assert "register_model" not in steps and "promote_model" not in steps
    # No model version, in MLflow's registry or in ZenML, came out of the killed run.
    assert _registry_versions(ws) == registry_before
    assert _zenml_versions(ws) == zenml_before
