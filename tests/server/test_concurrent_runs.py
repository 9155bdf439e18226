"""Four training runs at once, in four processes, on the server-backed stack."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from tests.quickstart_run import MODEL_NAME, TRAINING_STEPS
from tests.server.conftest import ServerWorkspace, run_id_of

pytestmark = pytest.mark.server

N_RUNS = 4


def _read_until(process: subprocess.Popen[str], marker: str) -> str:
    """The process's output up to and including the first line holding ``marker`` (or to EOF)."""
    assert process.stdout is not None
    lines = []
    for line in iter(process.stdout.readline, ""):
        lines.append(line)
        if marker in line:
            break
    return "".join(lines)


def test_four_concurrent_runs_all_complete(
    server_workspace: ServerWorkspace,
    server_run: dict[str, Any],
    mariadb: Any,
    mlflow_client: Any,
) -> None:
    ws = server_workspace
    # Distinct splits, so that no step of one run is a cache hit of another; the small model
    # config keeps four trainings on a two-core machine short.
    configs = [
        ws.write_config(
            f"concurrent_{i}",
            split={"random_state": 100 + i},
            model_config_path="configs/models-configs/model_config_000.yaml",
        )
        for i in range(N_RUNS)
    ]
    # ZenML rewrites the checkout's .zen/config.yaml, not atomically, each time a process builds
    # its Client; a process starting at that instant reads an empty file and dies ("'NoneType'
    # object has no attribute 'update'"). So each run is started once the previous one has
    # built its Client and begun its run; the four runs then execute at the same time.
    processes, heads = [], []
    for config in configs:
        process = ws.start(
            "zenml", "pipeline", "run", "pipelines.training.training_pipeline", "-c", str(config)
        )
        processes.append(process)
        heads.append(_read_until(process, "Initiating a new run"))
    outputs = [
        head + process.communicate(timeout=600)[0]
        for head, process in zip(heads, processes, strict=True)
    ]
    failed = [
        (i, out[-4000:])
        for i, (process, out) in enumerate(zip(processes, outputs, strict=True))
        if process.returncode != 0
    ]
    assert not failed, failed
    run_ids = [run_id_of(out) for out in outputs]
    assert len(set(run_ids)) == N_RUNS
    for run_id in run_ids:
        assert ws.api(f"runs/{run_id}")["body"]["status"] == "completed"
        steps = {
            s["name"]: s["body"]["status"]
            for s in ws.api(f"steps?pipeline_run_id={run_id}&size=50")["items"]
        }
        assert set(steps) == TRAINING_STEPS
        # Same data as the first run: ingestion and validation may come from the cache.
        assert {steps["ingest_data"], steps["validate_data"]} <= {"cached", "completed"}, steps
        assert {steps[s] for s in TRAINING_STEPS - {"ingest_data", "validate_data"}} == {
            "completed"
        }, steps
    # One new ZenML model version per run, and one MLflow registry version per run.
    mariadb.execute(
        "SELECT r.pipeline_run_id, mv.number FROM model_version mv "
        "JOIN model m ON m.id = mv.model_id "
        "JOIN model_versions_runs r ON r.model_version_id = mv.id WHERE m.name = %s",
        (MODEL_NAME,),
    )
    numbers = {
        row["number"]
        for row in mariadb.fetchall()
        if row["pipeline_run_id"] in {run_id.replace("-", "") for run_id in run_ids}
    }
    assert len(numbers) == N_RUNS, numbers
    registered = mlflow_client.search_model_versions(f"name = '{MODEL_NAME}'")
    by_run = {v.tags.get("zenml_pipeline_run_uuid"): v for v in registered}
    assert set(run_ids) <= set(by_run), [
        (v.version, v.run_id, v.tags.get("zenml_pipeline_run_uuid"), v.tags.get("zenml_run_name"))
        for v in registered
    ]
    assert {by_run[r].tags["zenml_model_version"] for r in run_ids} == {str(n) for n in numbers}
    # Whatever order the promotions ran in, exactly one version is in production, and MLflow's
    # champion alias is on that same version.
    mariadb.execute(
        "SELECT mv.number FROM model_version mv JOIN model m ON m.id = mv.model_id "
        "WHERE m.name = %s AND mv.stage = 'production'",
        (MODEL_NAME,),
    )
    production = mariadb.fetchall()
    assert len(production) == 1, production
    champion = mlflow_client.get_model_version_by_alias(MODEL_NAME, "champion")
    assert champion.tags["zenml_model_version"] == str(production[0]["number"])
