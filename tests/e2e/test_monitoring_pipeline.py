"""The monitoring pipeline, run for real with ``zenml pipeline run`` on the quickstart model.

Each test writes a prediction log the way the gateway does (JSON lines), with predictions made
by the production model version's real predictor on held-out quickstart rows, then runs the
pipeline on it and reads the results back from the ZenML store and the alerter's JSON-lines file.
"""

from __future__ import annotations

import copy
import json
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from alerters.jsonl_webhook import read_alerts
from scripts.isolated_checkout import command_messages
from tabular_classifier.records import RetrainRun
from tests.e2e.workspace import ZENML_HOME, Workspace

pytestmark = pytest.mark.e2e

MODEL = "breast_cancer_classifier"
PIPELINE = "pipelines.monitoring.monitoring_pipeline"
ALERTS = ZENML_HOME / "alerts.jsonl"


@pytest.fixture(scope="module")
def production(zenml_client: Any) -> tuple[Any, Any]:
    """The production model version and its classifier bundle."""
    from zenml.enums import ModelStages

    version = zenml_client.get_model_version(MODEL, ModelStages.PRODUCTION)
    return version, version.get_artifact("classifier").load()


@pytest.fixture(scope="module")
def heldout(workspace: Workspace, quickstart: Any) -> pd.DataFrame:
    """The quickstart test split (never trained on), target included."""
    from scripts.drift_demo import heldout_rows

    rows, _schema = heldout_rows(workspace.root / "configs" / "training.yaml")
    return rows


def write_log(
    directory: Path,
    features: pd.DataFrame,
    production: tuple[Any, Any],
    *,
    latency_ms: float = 6.0,
    transform_probability: Any = None,
) -> pd.DataFrame:
    """Score ``features`` with the real model and append gateway-style JSON lines."""
    from tabular_classifier.predictor import Predictor

    version, bundle = production
    probability = Predictor(bundle).predict_proba(features)
    if transform_probability is not None:
        probability = transform_probability(probability)
    schema = bundle.schema
    start = datetime.now(UTC)
    records = []
    for i, row in enumerate(features.to_dict("records")):
        p = float(probability[i])
        label = schema.positive_label if p >= bundle.decision_threshold else schema.negative_label
        records.append(
            {
                **row,
                "prediction_id": uuid.uuid4().hex,
                "request_id": uuid.uuid4().hex,
                "timestamp": (start + timedelta(milliseconds=i)).isoformat(),
                "source": "serving",
                "model_name": MODEL,
                "model_version": str(version.number),
                "probability": p,
                "label": str(label),
                "latency_ms": latency_ms,
            }
        )
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / f"serving-{start:%Y-%m-%d}.jsonl").open("a") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in records)
    return pd.DataFrame(records)


def run_monitoring(
    workspace: Workspace, name: str, check: bool = True, **overrides: Any
) -> subprocess.CompletedProcess[str]:
    """``zenml pipeline run`` of the monitoring pipeline with overrides of its config."""
    base = yaml.safe_load((workspace.root / "configs" / "monitoring.yaml").read_text())
    monitoring = copy.deepcopy(base["parameters"]["monitoring"])
    for key, value in overrides.items():
        if isinstance(value, dict):
            monitoring[key].update(value)
        else:
            monitoring[key] = value
    base["parameters"]["monitoring"] = monitoring
    base["run_name"] = name
    path = workspace.root / "configs" / "generated" / f"{name}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(base))
    return workspace.zenml_pipeline_run(path, check=check, pipeline=PIPELINE)


def outputs(zenml_client: Any, run_name: str) -> dict[str, Any]:
    run = zenml_client.get_pipeline_run(run_name)
    return {
        "run": run,
        "summary": run.steps["detect_drift"].outputs["drift_summary"][0].load(),
        "report": run.steps["detect_drift"].outputs["drift_report"][0],
        "health": run.steps["check_service_health"].outputs["service_health"][0].load(),
        "outcome": run.steps["send_alerts"].outputs["monitoring_outcome"][0].load(),
    }


def alerts_of(run_name: str) -> list[dict[str, Any]]:
    return [a for a in read_alerts(ALERTS) if a.get("run") == run_name]


def test_no_drift_no_alert_and_html_report(
    workspace: Workspace,
    zenml_client: Any,
    production: Any,
    heldout: pd.DataFrame,
    tmp_path: Path,
) -> None:
    version, bundle = production
    logged = write_log(tmp_path / "log", heldout[bundle.schema.feature_columns], production)
    labels = pd.DataFrame(
        {"prediction_id": logged["prediction_id"], "actual": heldout[bundle.schema.target]}
    )
    labels.to_csv(tmp_path / "labels.csv", index=False)
    run_monitoring(
        workspace,
        "monitoring_e2e_no_drift",
        window={"log_dir": str(tmp_path / "log")},
        degradation={"labels_path": str(tmp_path / "labels.csv")},
    )
    out = outputs(zenml_client, "monitoring_e2e_no_drift")
    summary = out["summary"]
    assert summary.status == "ok" and summary.drifted_columns == []
    assert summary.model_version == str(version.number)
    assert summary.window["rows_in_window"] == len(heldout)
    assert len(summary.columns) == 30
    first = summary.columns["mean radius"]
    # 341 reference rows <= 1000: Evidently's default is the KS test at p < 0.05
    assert first["stattest"] == "K-S p_value" and first["threshold"] == 0.05
    assert 0.05 <= first["score"] <= 1
    assert out["health"].degradation["status"] == "ok"
    assert out["health"].degradation["labelled_rows"] == len(heldout)
    assert out["health"].latency["status"] == "ok"
    assert out["outcome"].alerts == [] and alerts_of("monitoring_e2e_no_drift") == []
    checks = {c["check"]: c for c in out["outcome"].checks}
    assert checks["dataset drift"]["threshold"] == 0.5 and not checks["dataset drift"]["triggered"]
    assert checks["prediction drift (probability)"]["threshold"] == 0.05
    # the dashboard shows a static view (its HTML views run no scripts); Evidently's own page
    # stays in the artifact for a browser
    visualizations = out["report"].visualizations
    assert [v.type.value for v in visualizations] == ["html"]
    view = Path(visualizations[0].uri).read_text()
    assert "<b>No dataset drift</b>: 0 of 30 features drifted" in view and "<script" not in view
    evidently = (Path(out["report"].uri) / "evidently_report.html").read_text()
    assert "evidently" in evidently.lower() and "<script" in evidently
    summary_json = json.loads(
        (
            Path(out["run"].steps["detect_drift"].outputs["drift_summary"][0].uri) / "summary.json"
        ).read_text()
    )
    assert summary_json["columns"]["mean radius"]["stattest"] == "K-S p_value"


def test_feature_drift_in_two_columns_is_named(
    workspace: Workspace,
    zenml_client: Any,
    production: Any,
    heldout: pd.DataFrame,
    tmp_path: Path,
) -> None:
    _version, bundle = production
    features = heldout[bundle.schema.feature_columns].copy()
    features["mean texture"] *= 1.5
    features["worst symmetry"] *= 1.5
    write_log(tmp_path / "log", features, production)
    # 2 of 30 columns is a share of 0.067: count it as dataset drift from 0.05
    run_monitoring(
        workspace,
        "monitoring_e2e_two_columns",
        window={"log_dir": str(tmp_path / "log")},
        drift={"drift_share": 0.05},
    )
    summary = outputs(zenml_client, "monitoring_e2e_two_columns")["summary"]
    assert sorted(summary.drifted_columns) == ["mean texture", "worst symmetry"]
    [alert] = alerts_of("monitoring_e2e_two_columns")
    assert "mean texture (" in alert["message"] and "worst symmetry (" in alert["message"]
    assert {c["column"] for c in alert["details"]["drifted_columns"]} == {
        "mean texture",
        "worst symmetry",
    }


def test_prediction_drift_only(
    workspace: Workspace,
    zenml_client: Any,
    production: Any,
    heldout: pd.DataFrame,
    tmp_path: Path,
) -> None:
    _version, bundle = production
    # unchanged features, inverted scores: what a swapped label encoding in a release does
    write_log(
        tmp_path / "log",
        heldout[bundle.schema.feature_columns],
        production,
        transform_probability=lambda p: 1.0 - p,
    )
    run_monitoring(
        workspace, "monitoring_e2e_prediction", window={"log_dir": str(tmp_path / "log")}
    )
    summary = outputs(zenml_client, "monitoring_e2e_prediction")["summary"]
    assert summary.prediction_drift and not summary.dataset_drift
    assert summary.drifted_columns == []
    [alert] = alerts_of("monitoring_e2e_prediction")
    assert "prediction drift" in alert["title"]
    assert alert["details"]["prediction_drift_score"] == summary.prediction["probability"]["score"]
    assert alert["details"]["prediction_drift_score"] < 0.05


def test_latency_and_degradation_alerts(
    workspace: Workspace,
    zenml_client: Any,
    production: Any,
    heldout: pd.DataFrame,
    tmp_path: Path,
) -> None:
    _version, bundle = production
    schema = bundle.schema
    logged = write_log(
        tmp_path / "log", heldout[schema.feature_columns], production, latency_ms=420.0
    )
    # Concept drift: the same inputs now have other outcomes. Every third label is flipped.
    truth = heldout[schema.target].astype(str).to_numpy().copy()
    flip = np.arange(len(truth)) % 3 == 0
    positive, negative = str(schema.positive_label), str(schema.negative_label)
    truth[flip] = np.where(truth[flip] == positive, negative, positive)
    pd.DataFrame({"prediction_id": logged["prediction_id"], "actual": truth}).to_csv(
        tmp_path / "labels.csv", index=False
    )
    run_monitoring(
        workspace,
        "monitoring_e2e_health",
        window={"log_dir": str(tmp_path / "log")},
        degradation={"labels_path": str(tmp_path / "labels.csv")},
        latency={"p99_ms": 250},
    )
    health = outputs(zenml_client, "monitoring_e2e_health")["health"]
    assert health.latency["breaches"]["p99_ms"] == {"observed": 420.0, "limit": 250.0}
    assert health.degradation["status"] == "degraded"
    assert (
        health.degradation["live"]["accuracy"] < health.degradation["baseline"]["accuracy"] - 0.05
    )
    kinds = sorted(a["details"]["kind"] for a in alerts_of("monitoring_e2e_health"))
    assert kinds == ["degradation", "latency"]


def test_malformed_and_small_windows(
    workspace: Workspace,
    zenml_client: Any,
    production: Any,
    heldout: pd.DataFrame,
    tmp_path: Path,
) -> None:
    _version, bundle = production
    logged = write_log(tmp_path / "log", heldout[bundle.schema.feature_columns], production)
    broken = tmp_path / "export.csv"
    logged.drop(columns=["mean radius"]).to_csv(broken, index=False)
    result = run_monitoring(
        workspace, "monitoring_e2e_malformed", check=False, window={"path": str(broken)}
    )
    assert result.returncode != 0
    assert f"{broken}: column 'mean radius': missing from the current data" in (
        result.stdout + result.stderr
    )
    assert alerts_of("monitoring_e2e_malformed") == []

    run_monitoring(
        workspace,
        "monitoring_e2e_small",
        window={"log_dir": str(tmp_path / "log"), "min_rows": 500},
    )
    out = outputs(zenml_client, "monitoring_e2e_small")
    assert out["summary"].status == "insufficient_data"
    assert "at least 500 needed" in out["summary"].message
    assert out["outcome"].alerts == [] and alerts_of("monitoring_e2e_small") == []


def test_bad_monitoring_config_fails_before_any_step_runs(
    workspace: Workspace, zenml_client: Any
) -> None:
    """The ``monitoring`` parameter is validated once, when the pipeline is compiled."""
    result = run_monitoring(
        workspace, "monitoring_e2e_bad_config", check=False, window={"min_rows": -3}
    )
    assert result.returncode != 0
    output = " ".join((result.stdout + result.stderr).split())
    assert "pipeline parameter 'monitoring': key 'window.min_rows'" in output
    # The -c file is named too (its full path, which a wrapped traceback could break).
    assert "monitoring_e2e_bad_config.yaml: pipeline parameter 'monitoring'" in output
    with pytest.raises(KeyError):
        zenml_client.get_pipeline_run("monitoring_e2e_bad_config")


def test_a_misspelt_pipeline_parameter_fails_naming_the_file_and_the_parameter(
    workspace: Workspace, zenml_client: Any
) -> None:
    """A top-level typo in the run config is caught before ZenML's generic pydantic error."""
    base = yaml.safe_load((workspace.root / "configs" / "monitoring.yaml").read_text())
    base["parameters"]["monitorng"] = base["parameters"].pop("monitoring")
    base["run_name"] = "monitoring_e2e_misspelt_parameter"
    path = workspace.root / "configs" / "generated" / "monitoring_e2e_misspelt_parameter.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(base))
    result = workspace.zenml_pipeline_run(path, check=False, pipeline=PIPELINE)
    assert result.returncode != 0
    output = " ".join((result.stdout + result.stderr).split())
    assert (
        "monitoring_e2e_misspelt_parameter.yaml: parameters of monitoring_pipeline: key "
        "'monitoring': required, and missing; also key 'monitorng': not a parameter (did you "
        "mean 'monitoring'? parameters: monitoring)"
    ) in output
    assert "Only JSON serializable inputs" not in output
    with pytest.raises(KeyError):
        zenml_client.get_pipeline_run("monitoring_e2e_misspelt_parameter")


def test_a_misspelt_model_name_fails_naming_the_models_that_exist(
    workspace: Workspace, production: Any, tmp_path: Path
) -> None:
    """A typo in ``model_name`` would otherwise monitor an empty window forever, never alerting."""
    result = run_monitoring(
        workspace,
        "monitoring_e2e_unknown_model",
        check=False,
        model_name="nomodel",
        window={"log_dir": str(tmp_path / "log")},
    )
    assert result.returncode != 0
    output = " ".join(command_messages(result).split())
    assert "key 'model_name': no ZenML model is named 'nomodel'; models: " in output
    assert MODEL in output.split("no ZenML model is named 'nomodel'; models: ", 1)[1][:200]
    assert alerts_of("monitoring_e2e_unknown_model") == []


def test_drift_with_on_drift_retrain_starts_a_training_run(
    workspace: Workspace, zenml_client: Any, production: Any, tmp_path: Path
) -> None:
    from scripts.drift_demo import demo_batch

    _version, bundle = production
    before = {
        r.id for r in zenml_client.list_pipeline_runs(size=1000, pipeline="training_pipeline")
    }
    training_config = workspace.root / "configs" / "training.yaml"
    batch, _schema = demo_batch("drifted", rows=200, training_config=training_config)
    write_log(tmp_path / "log", batch, production)
    run_monitoring(
        workspace,
        "monitoring_e2e_retrain",
        window={"log_dir": str(tmp_path / "log")},
        on_drift="retrain",
    )
    out = outputs(zenml_client, "monitoring_e2e_retrain")
    assert out["summary"].dataset_drift and out["summary"].prediction_drift
    retrain_step = out["run"].steps["retrain_on_drift"]
    retrain = retrain_step.outputs["retraining_run"][0].load()
    assert isinstance(retrain, RetrainRun)
    assert retrain.status == "completed" and retrain.returncode == 0
    assert retrain.config_path == "configs/training.yaml"
    started = zenml_client.get_pipeline_run(retrain.run_id)
    assert started.name == retrain.run_name and started.id not in before
    assert retrain.run_name.startswith(f"training_retrain_{str(out['run'].id)[:8]}_")
    assert started.pipeline.name == "training_pipeline"
    # The alert went out before the retraining step started.
    assert out["run"].steps["send_alerts"].end_time <= retrain_step.start_time
    [alert] = alerts_of("monitoring_e2e_retrain")
    assert str(out["report"].id) in alert["message"]
    assert f"/runs/{out['run'].id}" in alert["details"]["report"]["dashboard"]
    assert retrain_step.run_metadata["retrain_run_id"] == retrain.run_id
    assert retrain_step.run_metadata["retrain_run_name"] == retrain.run_name


def test_a_retraining_run_past_its_timeout_is_stopped_and_fails_the_run(
    workspace: Workspace, zenml_client: Any, production: Any, tmp_path: Path
) -> None:
    """``retrain.timeout_s`` stops the training process; the alerts are out, the run fails."""
    from scripts.drift_demo import demo_batch

    training_config = workspace.root / "configs" / "training.yaml"
    batch, _schema = demo_batch("drifted", rows=200, training_config=training_config)
    write_log(tmp_path / "log", batch, production)
    result = run_monitoring(
        workspace,
        "monitoring_e2e_retrain_timeout",
        check=False,
        window={"log_dir": str(tmp_path / "log")},
        on_drift="retrain",
        retrain={"timeout_s": 1.0},
    )
    assert result.returncode != 0
    output = " ".join((result.stdout + result.stderr).split())
    assert "did not complete (timed out after 1.0 s" in output
    run = zenml_client.get_pipeline_run("monitoring_e2e_retrain_timeout")
    assert run.steps["send_alerts"].status.value == "completed"
    assert run.steps["retrain_on_drift"].status.value == "failed"
    [alert] = alerts_of("monitoring_e2e_retrain_timeout")
    assert alert["details"]["kind"] == "drift"
