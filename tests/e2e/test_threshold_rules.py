"""Model configs with a threshold rule, through the real training pipeline.

``model_config_002`` (max_f1, temperature scaling, balanced loss) and ``model_config_003``
(max_f1, the README's rare-positive config) once failed in ``register_model``: it logged the
model config's params in another format than ``train_model`` had (a dict instead of
``rule=max_f1``) and MLflow refuses to change a logged param. Each config is trained on a
rare-positive table (6 % positives) with floors set for rare positives, as the README's example
does (an accuracy floor under the majority share, a margin to the baseline).
"""

from __future__ import annotations

import subprocess
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.e2e.workspace import Workspace

pytestmark = pytest.mark.e2e


def _rare_table(n_rows: int = 3000, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n_rows)
    region = rng.choice(["north", "south", "east"], n_rows)
    logit = -5.6 + 3.0 * x + np.where(region == "south", 1.0, 0.0)
    positive = rng.random(n_rows) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame(
        {
            "x": x,
            "noise": rng.normal(size=n_rows),
            "region": region,
            "flagged": np.where(positive, "Yes", "No"),
        }
    )


@pytest.mark.parametrize("config", ["model_config_002", "model_config_003"])
def test_threshold_rule_config_trains_registers_and_promotes(
    config: str,
    workspace: Workspace,
    quickstart: subprocess.CompletedProcess[str],
    zenml_client: Any,
    mlflow_client: Any,
) -> None:
    table = _rare_table()
    assert 0.04 < (table["flagged"] == "Yes").mean() < 0.08
    table.to_csv(workspace.root / "data" / "rare.csv", index=False)
    name = f"rare_{config}"
    run_config = workspace.write_config(
        name,
        {
            "parameters": {
                "model_name": name,
                "model_config_path": f"configs/models-configs/{config}.yaml",
                "data": {"path": "data/rare.csv", "target": "flagged", "positive_label": "Yes"},
                "promotion": {
                    "metric": "test_roc_auc",
                    "min_accuracy": 0.9,
                    "min_roc_auc": 0.8,
                    "min_gain_over_baseline": -0.02,
                },
            },
            "settings": {"experiment_tracker.mlflow": {"experiment_name": name}},
        },
    )
    workspace.zenml_pipeline_run(run_config)

    version = zenml_client.get_model_version(name, "1")
    decision = version.run_metadata["promotion"]
    assert decision["promote"] is True, decision["reason"]
    assert zenml_client.get_model_version(name, "production").id == version.id
    assert decision["degenerate"] is None
    registered = mlflow_client.search_model_versions(f"name = '{name}'")
    assert len(registered) == 1
    params = mlflow_client.get_run(registered[0].run_id).data.params
    assert params["decision_threshold"] == "rule=max_f1"
    # The bundle that serves carries the rule and the threshold it chose, as logged.
    run = zenml_client.list_pipeline_runs(
        pipeline_name="training_pipeline", sort_by="desc:created", size=1
    ).items[0]
    bundle = run.steps["train_model"].outputs["classifier"][0].load()
    assert bundle.threshold_rule == {"rule": "max_f1"}
    assert float(params["chosen_decision_threshold"]) == bundle.decision_threshold
    assert (bundle.temperature != 1.0) == (config == "model_config_002")
    assert decision["candidate_metrics"]["test_recall"] > 0
