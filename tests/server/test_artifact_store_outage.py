"""The S3 artifact store goes off the network in the middle of a run, then comes back.

The S3 endpoint of the ``server`` stack is a TCP proxy in front of moto (moto keeps the
objects). The proxy cuts itself when ``train_model`` first writes its output (a ``PUT`` of an
object whose key holds the step name), so the earlier steps have finished and stored theirs.
Reads of earlier runs' ``train_model`` objects, as the cache check makes them before the run,
do not cut it.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.quickstart_run import MODEL_NAME
from tests.server.conftest import ServerWorkspace, messages, run_id_of

pytestmark = pytest.mark.server


def _production(mariadb: Any) -> list[int]:
    mariadb.execute(
        "SELECT mv.number FROM model_version mv JOIN model m ON m.id = mv.model_id "
        "WHERE m.name = %s AND mv.stage = 'production'",
        (MODEL_NAME,),
    )
    return [row["number"] for row in mariadb.fetchall()]


def _version_count(mariadb: Any) -> int:
    mariadb.execute(
        "SELECT COUNT(*) AS n FROM model_version mv JOIN model m ON m.id = mv.model_id "
        "WHERE m.name = %s",
        (MODEL_NAME,),
    )
    return int(mariadb.fetchone()["n"])


def test_outage_fails_the_step_promotes_nothing_and_the_rerun_reuses_the_cache(
    server_workspace: ServerWorkspace,
    server_run: dict[str, Any],
    mariadb: Any,
    mlflow_client: Any,
) -> None:
    ws = server_workspace
    config = ws.write_config("outage", split={"random_state": 7})
    production_before = _production(mariadb)
    versions_before = _version_count(mariadb)
    champion_before = mlflow_client.get_model_version_by_alias(MODEL_NAME, "champion").version

    ws.proxy.cut_when_seen(f"PUT /{ws.state.s3_bucket}/zenml/train_model/".encode())
    try:
        failed = ws.train(config, check=False)
    finally:
        was_cut = ws.proxy.was_cut.is_set()
        ws.proxy.restore()
    output = messages(failed)
    assert was_cut, "the run never reached train_model's output"
    assert failed.returncode != 0
    # The error names the store that could not be reached and the object being written.
    assert "Could not connect to the endpoint URL" in output, output[-4000:]
    assert f"{ws.proxy.url}/{ws.state.s3_bucket}/zenml/train_model/" in output
    assert "failure in step(s): train_model" in output
    run_id = run_id_of(output)
    steps = {
        s["name"]: s["body"]["status"]
        for s in ws.api(f"steps?pipeline_run_id={run_id}&size=50")["items"]
    }
    assert steps["split_data"] == "completed" and steps["train_model"] == "failed", steps
    assert {"register_model", "promote_model"}.isdisjoint(
        name for name, status in steps.items() if status == "completed"
    )
    assert ws.api(f"runs/{run_id}")["body"]["status"] == "failed"
    # No model version was created, nothing was promoted, MLflow's champion did not move.
    assert _version_count(mariadb) == versions_before
    assert _production(mariadb) == production_before
    assert mlflow_client.get_model_version_by_alias(MODEL_NAME, "champion").version == (
        champion_before
    )

    rerun = ws.train(config)
    rerun_id = run_id_of(messages(rerun))
    steps = {
        s["name"]: s["body"]["status"]
        for s in ws.api(f"steps?pipeline_run_id={rerun_id}&size=50")["items"]
    }
    # What finished before the outage comes from the cache; the rest runs.
    assert {steps[s] for s in ("ingest_data", "validate_data", "split_data")} == {"cached"}, steps
    assert {steps[s] for s in ("train_model", "evaluate_model", "register_model")} == {
        "completed"
    }, steps
    assert steps["promote_model"] == "completed"
    assert _version_count(mariadb) == versions_before + 1
