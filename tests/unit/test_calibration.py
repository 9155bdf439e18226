"""Threshold rules, temperature scaling, Brier score, reliability, degenerate models, baseline."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import f1_score, precision_score, recall_score, roc_curve

from tabular_classifier.calibration import (
    brier_score,
    choose_threshold,
    fit_temperature,
    reliability_curve,
)
from tabular_classifier.config import ModelConfig, ThresholdRule
from tabular_classifier.metrics import degenerate_reason, thin_curve


def _scores(n: int = 2000, prevalence: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < prevalence).astype(np.int64)
    logits = rng.normal(0, 1, n) + 2.0 * y - 2.0
    return 1 / (1 + np.exp(-logits)), y


def _all_thresholds(p: np.ndarray) -> np.ndarray:
    return np.unique(p)


@pytest.mark.parametrize(
    ("rule", "objective"),
    [
        ({"rule": "max_f1"}, lambda y, hat: f1_score(y, hat)),
        (
            {"rule": "cost", "false_positive_cost": 1.0, "false_negative_cost": 5.0},
            lambda y, hat: -(((hat == 1) & (y == 0)).sum() + 5.0 * ((hat == 0) & (y == 1)).sum()),
        ),
    ],
)
def test_rules_pick_the_best_threshold_by_brute_force(rule: dict[str, Any], objective: Any) -> None:
    p, y = _scores()
    chosen = choose_threshold(ThresholdRule.model_validate(rule), p, y)
    best = max(objective(y, (p >= t).astype(int)) for t in _all_thresholds(p))
    assert objective(y, (p >= chosen).astype(int)) == pytest.approx(best)


def test_youden_maximises_tpr_minus_fpr() -> None:
    p, y = _scores()
    chosen = choose_threshold(ThresholdRule(rule="youden"), p, y)
    fpr, tpr, thresholds = roc_curve(y, p)
    hat = (p >= chosen).astype(int)
    j = recall_score(y, hat) - ((hat == 1) & (y == 0)).sum() / (y == 0).sum()
    assert j == pytest.approx(float((tpr - fpr).max()))


def test_min_recall_is_the_most_precise_threshold_reaching_the_recall() -> None:
    p, y = _scores()
    chosen = choose_threshold(ThresholdRule(rule="min_recall", value=0.8), p, y)
    assert recall_score(y, p >= chosen) >= 0.8
    higher = [t for t in _all_thresholds(p) if t > chosen]
    assert all(recall_score(y, p >= t) < 0.8 for t in higher)


def test_min_precision_unreachable_names_the_best() -> None:
    p, y = _scores()
    # The highest score is a negative: no threshold reaches precision 1.
    p, y = np.append(p, 0.999999), np.append(y, 0)
    best = max(precision_score(y, p >= t, zero_division=0) for t in _all_thresholds(p))
    with pytest.raises(ValueError, match=f"best {best:.3f}"):
        choose_threshold(ThresholdRule(rule="min_precision", value=0.999999), p, y)


def test_threshold_on_rare_positives_beats_one_half_on_recall() -> None:
    """Issue 12, case 3: at 3 % positives a fixed 0.5 finds few of them."""
    rng = np.random.default_rng(3)
    y = (rng.random(5000) < 0.03).astype(np.int64)
    # Calibrated scores: positives rarely reach 0.5 even though they rank well.
    p = 1 / (1 + np.exp(-(rng.normal(0, 1, 5000) + 3.0 * y - 4.0)))
    chosen = choose_threshold(ThresholdRule(rule="max_f1"), p, y)
    assert chosen < 0.5
    assert recall_score(y, p >= chosen) > recall_score(y, p >= 0.5)


def test_temperature_scaling_fixes_overconfident_logits() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 5000)
    true_logits = rng.normal(0, 1.5, 5000) + np.where(y == 1, 1.0, -1.0)
    overconfident = 3.0 * true_logits
    temperature = fit_temperature(overconfident, y)
    assert 2.0 < temperature < 4.5
    before = brier_score(y, 1 / (1 + np.exp(-overconfident)))
    after = brier_score(y, 1 / (1 + np.exp(-overconfident / temperature)))
    assert after < before


def test_reliability_curve_and_brier() -> None:
    p = np.array([0.05, 0.05, 0.95, 0.95, 0.55])
    y = np.array([0, 0, 1, 0, 1])
    curve = reliability_curve(y, p)
    assert curve["count"] == [2.0, 1.0, 2.0]
    assert curve["fraction_positive"] == [0.0, 1.0, 0.5]
    assert brier_score(y, p) == pytest.approx(np.mean((p - y) ** 2))
    assert brier_score(np.array([0, 1]), np.array([0.5, 0.5])) == 0.25


def test_degenerate_models_are_named() -> None:
    """Issue 12, case 2: a model predicting "No" for every row was a green run."""
    y = np.array([0] * 94 + [1] * 6)
    assert "predicts negative for 100.0%" in degenerate_reason(y, np.full(100, 0.1), 0.5)
    assert "recall 0.000" in degenerate_reason(
        y, np.r_[np.full(89, 0.1), np.full(5, 0.9), np.full(6, 0.1)], 0.5
    )
    good = np.r_[np.full(94, 0.1), np.full(6, 0.9)]
    assert degenerate_reason(y, good, 0.5) is None


def test_curves_are_thinned_to_a_fixed_size() -> None:
    x = np.linspace(0, 1, 100_000)
    thin = thin_curve({"fpr": x, "tpr": np.sqrt(x)}, max_points=200)
    assert len(thin["fpr"]) == 200 and thin["fpr"][0] == 0.0 and thin["fpr"][-1] == 1.0
    assert thin_curve({"a": np.arange(5.0)}) == {"a": [0.0, 1.0, 2.0, 3.0, 4.0]}


@pytest.mark.parametrize(
    ("threshold", "message"),
    [
        ({"rule": "min_recall"}, "needs 'value'"),
        ({"rule": "max_f1", "value": 0.5}, "takes no 'value'"),
        ({"rule": "cost", "false_positive_cost": 1.0}, "needs both"),
    ],
)
def test_threshold_rules_are_validated(threshold: dict[str, Any], message: str) -> None:
    base = {
        "name": "x",
        "hidden_sizes": [4],
        "dropout": 0.0,
        "learning_rate": 0.01,
        "batch_size": 8,
        "epochs": 1,
        "early_stopping_patience": 0,
    }
    with pytest.raises(ValueError, match=message):
        ModelConfig.model_validate({**base, "decision_threshold": threshold})


def test_fit_bundle_stores_the_chosen_threshold_and_temperature(core_mixed_model: Any) -> None:
    from tabular_classifier.predictor import ModelBundle, Predictor
    from tabular_classifier.training import fit_bundle

    cfg = core_mixed_model.bundle.model_config.model_copy(
        update={"decision_threshold": ThresholdRule(rule="max_f1"), "temperature_scaling": True}
    )
    bundle, _ = fit_bundle(
        cfg, core_mixed_model.schema, core_mixed_model.train, core_mixed_model.val
    )
    assert bundle.threshold_rule == {"rule": "max_f1"}
    assert bundle.temperature != 1.0 and math.isfinite(bundle.temperature)
    assert 0 < bundle.decision_threshold < 1
    loaded = ModelBundle.load(_save(bundle))
    assert (loaded.decision_threshold, loaded.temperature, loaded.threshold_rule) == (
        bundle.decision_threshold,
        bundle.temperature,
        bundle.threshold_rule,
    )
    predictor = Predictor(loaded)
    rows = loaded.contract.parse_frame(core_mixed_model.test)
    expected = 1 / (1 + np.exp(-predictor.logits(rows) / bundle.temperature))
    np.testing.assert_allclose(predictor.score(rows), expected, rtol=0, atol=1e-12)
    labels = predictor.predict(core_mixed_model.test)
    assert ((labels == "yes") == (predictor.score(rows) >= bundle.decision_threshold)).all()


def _save(bundle: Any) -> Any:
    import tempfile
    from pathlib import Path

    directory = Path(tempfile.mkdtemp()) / "bundle"
    bundle.save(directory)
    return directory
