"""A table with every logical type, end to end: train, deploy, serve, batch, monitor (issue 9).

The Parquet table has a float column with nulls, an int64 and a nullable ``Int64`` column, a
nullable ``boolean``, a ``string`` column holding ``pd.NA`` and a ``category`` column. Each of
the issue's cases is asserted on the real pipelines and servers:

1. a null boolean is the missing category on every path, never ``false``, and the deployment's
   smoke test passes with the default tolerance;
2. a null in an integer column is accepted over HTTP;
3. ``1e308`` is a 422 naming the column, never a 500 or a NaN, and nothing is logged;
4. a batch input with ``category`` columns is scored, and monitoring reads its output;
5. a window whose column is entirely null is monitored: a data-quality finding, no crash;
6. unseen categories are reported to the caller.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.conftest import core_mixed_table
from tests.e2e.workspace import Workspace

pytestmark = pytest.mark.e2e

MODEL = "mixed_classifier"
FEATURES = ["x", "amount", "code", "visits", "is_member", "city", "plan"]


def _post(rows: list[list[Any]], columns: list[str] = FEATURES) -> tuple[int, dict[str, Any]]:
    body = json.dumps({"dataframe_split": {"columns": columns, "data": rows}}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{os.environ['TABULAR_GATEWAY_PORT']}/invocations",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture(scope="module")
def mixed(
    workspace: Workspace, quickstart: subprocess.CompletedProcess[str], zenml_client: Any
) -> Iterator[dict[str, Any]]:
    """The mixed table trained, promoted and deployed behind the gateway."""
    core_mixed_table(1200, seed=3).to_parquet(workspace.root / "data" / "mixed.parquet")
    training = workspace.write_config(
        "training_mixed",
        {
            "parameters": {
                "model_name": MODEL,
                "data": {
                    "path": "data/mixed.parquet",
                    "target": "churn",
                    "positive_label": "yes",
                    "drop_columns": ["row_id"],
                },
                "promotion": {"min_accuracy": 0.7, "min_roc_auc": 0.7},
            },
            "settings": {"experiment_tracker.mlflow": {"experiment_name": "mixed-types"}},
        },
    )
    workspace.zenml_pipeline_run(training)
    version = zenml_client.get_model_version(MODEL, "production")
    deploy = workspace.write_config(
        "deploy_mixed", {"parameters": {"model_name": MODEL}}, base_config="deployment.yaml"
    )
    workspace.run("python", "-m", "release", "stop", check=False)
    workspace.zenml_pipeline_run(deploy, pipeline="pipelines.deployment.deployment_pipeline")
    bundle = version.get_artifact("classifier").load()
    yield {"version": str(version.number), "bundle": bundle}
    workspace.run("python", "-m", "release", "stop", check=False)
    deployer = zenml_client.active_stack.model_deployer
    for service in deployer.find_model_server(model_name=MODEL):
        deployer.delete_model_server(service.uuid, force=True)


def _prediction_log() -> Path:
    from zenml.config.global_config import GlobalConfiguration

    return Path(GlobalConfiguration().config_directory) / "serving" / "predictions"


def test_logical_types_were_learned_from_the_parquet_dtypes(mixed: dict[str, Any]) -> None:
    types = {spec.name: spec.type for spec in mixed["bundle"].contract.features}
    assert types == {
        "x": "float",
        "amount": "float",
        "code": "integer",
        "visits": "integer",
        "is_member": "boolean",
        "city": "categorical",
        "plan": "categorical",
    }


def test_nulls_in_every_column_are_served_as_in_training(mixed: dict[str, Any]) -> None:
    from tabular_classifier.predictor import Predictor

    status, answer = _post([[None] * len(FEATURES)])
    assert status == 200, answer
    predictor = Predictor(mixed["bundle"])
    expected = predictor.predict_proba(pd.DataFrame({c: [None] for c in FEATURES}))
    # The gateway scores with the NumPy scorer, equal to the torch predictor to 1e-6
    # (tabular_classifier/scoring.py; tests/unit/test_scoring.py).
    assert answer["predictions"][0]["probability"] == pytest.approx(expected[0], abs=1e-6)
    assert answer["model_version"] == mixed["version"]


def test_a_null_boolean_is_not_false(mixed: dict[str, Any]) -> None:
    row = [0.3, 80.0, 104, 5, None, "paris", "pro"]
    status, as_null = _post([row])
    assert status == 200, as_null
    status, as_false = _post([[*row[:4], False, *row[5:]]])
    assert status == 200, as_false
    assert as_null["predictions"][0]["probability"] != as_false["predictions"][0]["probability"]


def test_a_null_integer_is_accepted(mixed: dict[str, Any]) -> None:
    status, answer = _post([[0.3, 80.0, None, None, True, "paris", "pro"]])
    assert status == 200, answer
    assert 0.0 <= answer["predictions"][0]["probability"] <= 1.0


def test_an_extreme_number_is_a_422_naming_the_column(mixed: dict[str, Any]) -> None:
    log = _prediction_log()
    before = {p: p.stat().st_size for p in log.glob("serving-*.jsonl")}
    status, answer = _post([[1e308, None, None, None, None, None, None]])
    assert status == 422, answer
    assert (answer["kind"], answer["field"], answer["row"]) == ("out_of_range", "x", 0)
    assert {p: p.stat().st_size for p in log.glob("serving-*.jsonl")} == before
    assert _post([[None] * len(FEATURES)])[0] == 200


def test_unknown_categories_are_reported(mixed: dict[str, Any]) -> None:
    status, answer = _post(
        [[0.1, 10.0, 101, 2, True, "rome", "pro"], [0.1, 10.0, 101, 2, True, "paris", "gold"]]
    )
    assert status == 200, answer
    assert answer["unknown_categories"] == {"city": 1, "plan": 1}
    assert [p["unknown_categories"] for p in answer["predictions"]] == [1, 1]


def test_category_typed_batch_is_scored_like_the_gateway(
    workspace: Workspace, mixed: dict[str, Any]
) -> None:
    batch = core_mixed_table(40, seed=9).drop(columns=["churn"])
    batch["city"] = batch["city"].astype("category")
    batch.to_parquet(workspace.root / "data" / "mixed_batch.parquet")
    config = workspace.write_config(
        "batch_mixed",
        {
            "parameters": {
                "model_name": MODEL,
                "path": "data/mixed_batch.parquet",
                "passthrough_columns": [],
            }
        },
        base_config="batch_inference.yaml",
    )
    before = set(_prediction_log().glob("batch-*.parquet"))
    result = workspace.zenml_pipeline_run(
        config, pipeline="pipelines.batch_inference.batch_inference_pipeline"
    )
    # Walkthrough: ZenML's pandas materializer warned on every batch with a nullable column.
    assert "Failed to extract materializer metadata" not in result.stdout + result.stderr
    (written,) = set(_prediction_log().glob("batch-*.parquet")) - before
    logged = pd.read_parquet(written)
    assert not any(isinstance(t, pd.CategoricalDtype) for t in logged.dtypes)
    assert str(logged["visits"].dtype) == "Int64" and str(logged["is_member"].dtype) == "boolean"
    rows = [
        [None if pd.isna(v) else (v.item() if isinstance(v, np.generic) else v) for v in row]
        for row in batch[FEATURES].astype(object).itertuples(index=False)
    ]
    status, served = _post(rows)
    assert status == 200, served
    np.testing.assert_allclose(
        logged["probability"].to_numpy(),
        [p["probability"] for p in served["predictions"]],
        rtol=0,
        atol=1e-6,  # batch runs the torch predictor, the gateway the NumPy scorer
    )


def _monitor(workspace: Workspace, name: str, window: dict[str, Any]) -> dict[str, Any]:
    config = workspace.write_config(
        name,
        {"parameters": {"monitoring": {"model_name": MODEL, "window": window}}},
        base_config="monitoring.yaml",
    )
    workspace.zenml_pipeline_run(config, pipeline="pipelines.monitoring.monitoring_pipeline")
    from zenml.client import Client

    run = (
        Client()
        .list_pipeline_runs(pipeline_name="monitoring_pipeline", sort_by="desc:created", size=1)
        .items[0]
    )
    summary = run.steps["detect_drift"].outputs["drift_summary"][0].load()
    info = run.steps["load_current_window"].outputs["window_info"][0].load()
    return {"summary": summary, "window": info}


def test_monitoring_a_window_with_an_all_null_column(
    workspace: Workspace, mixed: dict[str, Any]
) -> None:
    from datetime import UTC, datetime

    since = datetime.now(UTC).isoformat()
    rows = core_mixed_table(80, seed=11)[FEATURES].astype(object)
    rows["amount"] = None
    payload = [[None if pd.isna(v) else v for v in row] for row in rows.itertuples(index=False)]
    for start in range(0, len(payload), 20):
        status, answer = _post(payload[start : start + 20])
        assert status == 200, answer
    result = _monitor(workspace, "monitoring_mixed_null", {"since": since, "last_n": None})
    summary = result["summary"]
    assert summary.status in ("ok", "drift"), (summary.message, result["window"].skipped)
    assert summary.window["rows_used"] == 80
    assert summary.data_quality["all_null"] == ["amount"]
    assert summary.data_quality["missing_values"]["amount"] == 1.0
    assert "amount" not in summary.columns and "is_member" in summary.columns


def test_monitoring_reads_the_category_typed_batch_output(
    workspace: Workspace, mixed: dict[str, Any]
) -> None:
    result = _monitor(workspace, "monitoring_mixed_all", {"last_n": None})
    window = result["window"]
    assert window.skipped["total"] == 0, window.skipped["examples"]
    assert any(source.endswith(".parquet") for source in window.sources)
    assert result["summary"].status in ("ok", "drift")
