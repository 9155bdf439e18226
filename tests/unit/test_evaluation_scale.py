"""Evaluation at scale: bounded report curves with exact AUCs; a sampled monitoring reference."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from tabular_classifier.config import (
    REFERENCE_MAX_ROWS,
    DataConfig,
    ReferenceConfig,
    load_reference_config,
)
from tabular_classifier.data import encode_target
from tabular_classifier.errors import ConfigError
from tabular_classifier.evaluation import (
    PLOT_NAMES,
    PROBABILITY_COLUMN,
    evaluate,
    reference_predictions,
    reference_sample,
    reference_sampling_metadata,
    scored_metrics,
)
from tabular_classifier.metrics import MAX_CURVE_POINTS
from tabular_classifier.predictor import ModelBundle, Predictor
from tests.training_helpers import fit_small_bundle


def _table(n: int, seed: int) -> pd.DataFrame:
    """Four numeric features and one categorical, about 21 % positives."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {f"x{i}": rng.normal(size=n) for i in range(4)}
        | {"plan": rng.choice(["basic", "plus", "pro"], size=n)}
    )
    logit = 1.2 * frame["x0"] - 0.8 * frame["x1"] + 0.5 * (frame["plan"] == "pro") - 1.6
    frame["target"] = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    return frame


@pytest.fixture(scope="module")
def bundle() -> ModelBundle:
    data_cfg = DataConfig(path="synthetic.parquet", target="target", positive_label="yes")
    return fit_small_bundle(_table(3000, seed=0), data_cfg, "unit", batch_size=64)


def test_report_curves_are_bounded_and_aucs_are_exact_on_200k_rows(
    bundle: ModelBundle,
) -> None:
    test = _table(200_000, seed=1)
    predictor = Predictor(bundle)
    report = evaluate(predictor, test, bundle.schema)
    y_true = encode_target(test["target"], bundle.schema)
    proba = predictor.score(predictor.contract.parse_frame(test))
    # The full curves have one point per distinct score: far more than the report keeps.
    assert len(np.unique(proba)) > 10 * MAX_CURVE_POINTS
    roc, pr = report.roc_curve, report.pr_curve
    assert {len(v) for v in roc.values()} == {MAX_CURVE_POINTS}
    assert {len(v) for v in pr.values()} == {MAX_CURVE_POINTS}
    # The endpoints are kept: the ROC curve runs from (0, 0) to (1, 1), PR from recall 1.
    assert (roc["fpr"][0], roc["tpr"][0]) == (0.0, 0.0)
    assert (roc["fpr"][-1], roc["tpr"][-1]) == (1.0, 1.0)
    assert pr["recall"][0] == 1.0
    assert pr["precision"][0] == pytest.approx(float(np.mean(y_true)))
    # The AUCs come from all 200k rows, not from the thinned curves.
    assert report.metrics["test_roc_auc"] == roc_auc_score(y_true, proba)
    assert report.metrics["test_pr_auc"] == average_precision_score(y_true, proba)
    # And the thinned ROC curve still integrates to the exact AUC within 1e-3.
    assert np.trapezoid(roc["tpr"], roc["fpr"]) == pytest.approx(
        report.metrics["test_roc_auc"], abs=1e-3
    )
    # The whole JSON report (logged once, as evaluation/evaluation_report.json) stays small.
    assert len(json.dumps(report.to_json_dict(), indent=1)) < 100_000
    # One PNG per named plot (the dashboard shows each).
    assert tuple(report.plots) == PLOT_NAMES
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") for png in report.plots.values())


def test_scored_metrics_are_the_reports_metrics(bundle: ModelBundle) -> None:
    """Promotion compares models on scored_metrics: the report's numbers, without plots."""
    test = _table(5000, seed=3)
    predictor = Predictor(bundle)
    metrics = scored_metrics(predictor, test, bundle.schema)
    assert metrics == evaluate(predictor, test, bundle.schema).metrics
    assert set(metrics) >= {"test_accuracy", "test_roc_auc", "test_pr_auc", "test_brier"}
    assert 0.5 < metrics["test_roc_auc"] <= 1.0


def test_reference_of_a_250k_row_split_is_a_seeded_100k_row_sample(bundle: ModelBundle) -> None:
    split = _table(250_000, seed=2)
    split.index = pd.RangeIndex(1_000_000, 1_250_000)  # a split keeps the table's row labels
    predictor = Predictor(bundle)
    reference = reference_predictions(predictor, split, bundle.schema)
    assert len(reference) == REFERENCE_MAX_ROWS == 100_000
    assert list(reference.index) == list(range(100_000))

    # The rows kept are exactly reference_sample's positions, in the split's order.
    keep = reference_sample(len(split), ReferenceConfig())
    assert len(np.unique(keep)) == 100_000 and np.all(np.diff(keep) > 0)
    expected = split.iloc[keep].reset_index(drop=True)
    np.testing.assert_array_equal(reference["x0"].to_numpy(), expected["x0"].to_numpy())
    np.testing.assert_array_equal(reference["target"].to_numpy(), expected["target"].to_numpy())
    # Its predictions are the model's on those rows.
    proba = predictor.score(predictor.contract.parse_frame(expected))
    np.testing.assert_array_equal(reference[PROBABILITY_COLUMN].to_numpy(), proba)

    # Same seed, same rows; another seed, other rows.
    again = reference_predictions(predictor, split, bundle.schema, ReferenceConfig(seed=0))
    pd.testing.assert_frame_equal(reference, again)
    other = reference_sample(len(split), ReferenceConfig(seed=1))
    assert len(other) == 100_000 and not np.array_equal(other, keep)

    assert reference_sampling_metadata(len(split), ReferenceConfig()) == {
        "rows_in_split": 250_000,
        "rows_kept": 100_000,
        "max_rows": 100_000,
        "seed": 0,
        "method": "uniform without replacement, numpy default_rng(seed).choice, split order kept",
    }


def test_reference_sample_keeps_columns_and_dtypes(bundle: ModelBundle) -> None:
    """Sampling changes the rows only: columns and logical dtypes are the full split's."""
    split = _table(5_000, seed=3)
    split.loc[split.index[::7], "x2"] = np.nan  # nulls survive in the logical dtypes
    predictor = Predictor(bundle)
    whole = reference_predictions(predictor, split, bundle.schema, ReferenceConfig(max_rows=10_000))
    sampled = reference_predictions(
        predictor, split, bundle.schema, ReferenceConfig(max_rows=1_500, seed=7)
    )
    assert len(whole) == 5_000 and len(sampled) == 1_500
    assert list(sampled.columns) == list(whole.columns)
    assert sampled.dtypes.to_dict() == whole.dtypes.to_dict()
    keep = reference_sample(5_000, ReferenceConfig(max_rows=1_500, seed=7))
    pd.testing.assert_frame_equal(sampled, whole.iloc[keep].reset_index(drop=True))


def test_reference_config_is_validated() -> None:
    assert ReferenceConfig().max_rows == 100_000
    with pytest.raises(ConfigError, match="max_rows"):
        load_reference_config({"max_rows": 1000}, source="pipeline parameter 'reference'")
    with pytest.raises(ConfigError, match="sample_size"):
        load_reference_config({"sample_size": 5})
    assert load_reference_config(None) == ReferenceConfig()


def test_smoke_probabilities_are_what_a_request_of_the_smoke_rows_alone_gets(
    bundle: ModelBundle,
) -> None:
    """The smoke rows are scored on their own (20 rows: the predictor's NumPy path), not sliced
    from the whole split (1,000 rows: torch), so a reloaded or served model reproduces them
    bit for bit; the two paths still agree to 1e-6."""
    test = _table(1000, seed=3)
    predictor = Predictor(bundle)
    report = evaluate(predictor, test, bundle.schema)
    assert len(report.smoke_probabilities) == 20 <= Predictor.SMALL_BATCH_ROWS < len(test)
    again = Predictor(bundle).predict_proba(report.smoke_frame())
    np.testing.assert_array_equal(again, np.asarray(report.smoke_probabilities))
    whole = predictor.predict_proba(test.drop(columns=["target"]))[:20]
    np.testing.assert_allclose(whole, report.smoke_probabilities, rtol=0, atol=1e-6)
