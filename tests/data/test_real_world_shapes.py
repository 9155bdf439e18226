"""The whole path validate -> split -> fit -> train -> predict on real-world table shapes.

Each case is written to CSV and read back with load_table, as a pipeline would see it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tabular_classifier.config import SplitConfig, load_data_config
from tabular_classifier.data import (
    FeatureSchema,
    encode_target,
    load_table,
    split_data,
    validate_and_infer_schema,
)
from tabular_classifier.metrics import compute_metrics
from tabular_classifier.predictor import Predictor
from tabular_classifier.training import fit_bundle
from tests.training_helpers import small_model_config


def _signal(
    rng: np.random.Generator, n: int, positive_rate: float, strength: float = 1.5
) -> tuple[np.ndarray, np.ndarray]:
    """Labels with the given positive rate and a score that predicts them."""
    y = (rng.random(n) < positive_rate).astype(int)
    return y, rng.normal(size=n) + strength * y


def yes_no_labels(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, Any]]:
    y, score = _signal(rng, 400, 0.3)
    frame = pd.DataFrame({"score": score, "noise": rng.normal(size=400)})
    frame["Churn"] = np.where(y == 1, "Yes", "No")
    return frame, {"target": "Churn", "positive_label": "Yes"}


def categorical_strings(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, Any]]:
    y, _ = _signal(rng, 400, 0.4)
    premium = (y == 1) & (rng.random(400) < 0.7)
    plan = np.where(premium, "premium", rng.choice(["basic", "standard", "premium"], size=400))
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(400)],
            "city": rng.choice(["Paris", "Lyon", "Nice", "Lille", "Nantes"], size=400),
            "plan": plan,
            "age": rng.integers(18, 80, size=400),
            "target": np.where(y == 1, "y", "n"),
        }
    )
    return frame, {"target": "target", "positive_label": "y", "drop_columns": ["customer_id"]}


def three_percent_positive(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, Any]]:
    y, score = _signal(rng, 1000, 0.03)
    frame = pd.DataFrame({"score": score, "amount": rng.lognormal(3, 1, size=1000), "fraud": y})
    return frame, {"target": "fraud", "positive_label": 1}


def missing_values(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, Any]]:
    y, score = _signal(rng, 400, 0.5)
    frame = pd.DataFrame(
        {
            "score": score,
            "income": rng.normal(40_000, 8_000, size=400),
            "segment": rng.choice(["a", "b", "c"], size=400).astype(object),
            "label": y.astype(bool),
        }
    )
    for column in ("score", "income", "segment"):
        frame.loc[rng.random(400) < 0.15, column] = None
    return frame, {"target": "label", "positive_label": "true"}


def hundred_columns(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, Any]]:
    n = 1000
    # 129 inputs after encoding, one informative: a strong signal survives the dilution.
    y, score = _signal(rng, n, 0.35, strength=3.0)
    columns = {f"num_{i:02d}": rng.normal(size=n) for i in range(90)}
    columns["num_00"] = score
    columns |= {f"cat_{i}": rng.choice(list("abcd"), size=n) for i in range(10)}
    frame = pd.DataFrame(columns)
    frame["outcome"] = y
    return frame, {"target": "outcome", "positive_label": 1}


CASES: dict[str, Callable[[np.random.Generator], tuple[pd.DataFrame, dict[str, Any]]]] = {
    "yes_no_labels": yes_no_labels,
    "categorical_strings": categorical_strings,
    "three_percent_positive": three_percent_positive,
    "missing_values": missing_values,
    "hundred_columns": hundred_columns,
}


def _run(tmp_path: Path, case: str) -> dict[str, Any]:
    frame, data_settings = CASES[case](np.random.default_rng(0))
    path = tmp_path / f"{case}.csv"
    frame.to_csv(path, index=False)
    data_cfg = load_data_config({"path": str(path), **data_settings})
    table = load_table(data_cfg)
    schema = validate_and_infer_schema(table, data_cfg, data_cfg.path)
    train, val, test = split_data(table, schema, SplitConfig(), data_cfg.path)
    cfg = small_model_config(
        case,
        hidden_sizes=[16],
        epochs=20,
        early_stopping_patience=5,
        class_weighting="balanced" if case == "three_percent_positive" else "none",
    )
    bundle, _ = fit_bundle(cfg, schema, train, val, na_values=data_cfg.na_values)
    bundle.save(tmp_path / "bundle")
    predictor = Predictor.from_directory(tmp_path / "bundle")
    features = test.drop(columns=[schema.target])
    proba = predictor.predict_proba(features)
    return {
        "table": table,
        "schema": schema,
        "splits": (train, val, test),
        "predictor": predictor,
        "features": features,
        "proba": proba,
        "labels": predictor.predict(features),
        "metrics": compute_metrics(encode_target(test[schema.target], schema), proba, 0.5),
    }


@pytest.fixture(scope="module", params=list(CASES))
def outcome(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return request.param, _run(tmp_path_factory.mktemp(request.param), request.param)


def test_schema_matches_the_table(outcome: tuple[str, dict[str, Any]]) -> None:
    case, run = outcome
    schema: FeatureSchema = run["schema"]
    expected_categorical = {
        "yes_no_labels": [],
        "categorical_strings": ["city", "plan"],
        "three_percent_positive": [],
        "missing_values": ["segment"],
        "hundred_columns": [f"cat_{i}" for i in range(10)],
    }[case]
    assert schema.categorical_features == expected_categorical
    n_columns = len(run["table"].columns)
    assert len(schema.feature_columns) + len(schema.dropped_columns) + 1 == n_columns


def test_every_split_holds_both_classes(outcome: tuple[str, dict[str, Any]]) -> None:
    _, run = outcome
    schema = run["schema"]
    for part in run["splits"]:
        assert set(encode_target(part[schema.target], schema)) == {0, 1}
    assert sum(len(part) for part in run["splits"]) == len(run["table"])


def test_predictions_are_probabilities_and_original_labels(
    outcome: tuple[str, dict[str, Any]],
) -> None:
    _, run = outcome
    schema = run["schema"]
    proba = run["proba"]
    assert proba.shape == (len(run["features"]),)
    assert np.isfinite(proba).all() and ((proba >= 0) & (proba <= 1)).all()
    assert set(run["labels"]) <= {schema.positive_label, schema.negative_label}


def test_model_finds_the_planted_signal(outcome: tuple[str, dict[str, Any]]) -> None:
    case, run = outcome
    assert run["metrics"]["test_roc_auc"] > 0.75, (case, run["metrics"])


def test_single_row_prediction_matches_batch(outcome: tuple[str, dict[str, Any]]) -> None:
    _, run = outcome
    first = run["features"].head(1)
    assert run["predictor"].predict_proba(first)[0] == pytest.approx(run["proba"][0], abs=1e-6)
