"""Promotion policy: floors, comparison on the chosen metric, first candidate."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tabular_classifier.promotion import PromotionPolicy, decide_promotion

GOOD = {
    "test_accuracy": 0.95,
    "test_roc_auc": 0.99,
    "test_precision": 0.9,
    "test_recall": 0.9,
    "test_f1_score": 0.9,
}


def test_first_candidate_above_floors_is_promoted() -> None:
    decision = decide_promotion(GOOD, None, PromotionPolicy())
    assert decision.promote
    assert decision.production_value is None
    assert "no production model yet" in decision.reason


def test_candidate_below_floor_is_never_promoted() -> None:
    decision = decide_promotion({**GOOD, "test_accuracy": 0.7}, None, PromotionPolicy())
    assert not decision.promote
    assert "test_accuracy 0.7000 is below the floor 0.8" in decision.reason
    decision = decide_promotion(
        {**GOOD, "test_roc_auc": 0.95}, None, PromotionPolicy(min_roc_auc=0.96)
    )
    assert not decision.promote and "test_roc_auc" in decision.reason


@pytest.mark.parametrize(
    ("candidate", "production", "margin", "promote"),
    [(0.99, 0.98, 0.0, True), (0.98, 0.98, 0.0, False), (0.99, 0.985, 0.01, False)],
)
def test_comparison_on_the_chosen_metric(
    candidate: float, production: float, margin: float, promote: bool
) -> None:
    policy = PromotionPolicy(metric="test_f1_score", min_improvement=margin)
    decision = decide_promotion(
        {**GOOD, "test_f1_score": candidate}, {**GOOD, "test_f1_score": production}, policy
    )
    assert decision.promote is promote
    assert decision.metric == "test_f1_score"
    assert decision.candidate_value == candidate
    assert decision.production_value == production
    assert decision.to_dict()["promote"] is promote


def test_policy_rejects_unknown_keys_and_metrics() -> None:
    with pytest.raises(ValidationError, match="metrc"):
        PromotionPolicy.model_validate({"metrc": "test_roc_auc"})
    with pytest.raises(ValidationError, match="metric"):
        PromotionPolicy.model_validate({"metric": "val_loss"})
