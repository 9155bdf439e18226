"""Promotion policy: floors, comparison on the chosen metric, first candidate."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from tabular_classifier.config import DataConfig, SplitConfig
from tabular_classifier.data import (
    SPLIT_CODES,
    assign_splits,
    row_key_hashes,
    split_data,
    validate_and_infer_schema,
)
from tabular_classifier.promotion import (
    ComparisonSet,
    PromotionPolicy,
    comparison_set,
    decide_promotion,
)

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
    on_rows = {**GOOD, "test_f1_score": candidate}
    decision = decide_promotion(
        {**GOOD, "test_f1_score": 0.5},  # whole test split: only the floors read it
        {**GOOD, "test_f1_score": production},
        policy,
        candidate_on_comparison=on_rows,
        comparison=_comparison(200),
    )
    assert decision.promote is promote
    assert decision.metric == "test_f1_score"
    assert decision.candidate_value == candidate
    assert decision.production_value == production
    assert decision.to_dict()["promote"] is promote


def test_a_last_bit_difference_is_a_tie_not_a_win() -> None:
    # Seen in a README walkthrough: both are 3736 of 3773 pairs ordered, summed in two orders.
    tie = {**GOOD, "test_roc_auc": 0.9901934799893984}
    decision = decide_promotion(
        tie,
        {**GOOD, "test_roc_auc": 0.9901934799893983},
        PromotionPolicy(),
        candidate_on_comparison=tie,
        comparison=_comparison(200),
    )
    assert not decision.promote
    better = {**GOOD, "test_roc_auc": 0.9901934799893983 + 1 / 3773}
    decision = decide_promotion(
        better,
        {**GOOD, "test_roc_auc": 0.9901934799893983},
        PromotionPolicy(),
        candidate_on_comparison=better,
        comparison=_comparison(200),
    )
    assert decision.promote


def test_policy_rejects_unknown_keys_and_metrics() -> None:
    with pytest.raises(ValidationError, match="metrc"):
        PromotionPolicy.model_validate({"metrc": "test_roc_auc"})
    with pytest.raises(ValidationError, match="metric"):
        PromotionPolicy.model_validate({"metric": "val_loss"})


def _comparison(rows: int, both: bool = True) -> ComparisonSet:
    return ComparisonSet(
        rows=np.arange(rows),
        fingerprint="f",
        candidate_split={},
        production_split={},
        both_classes=both,
    )


def test_too_few_comparison_rows_refuses_to_decide() -> None:
    policy = PromotionPolicy(min_comparison_rows=50)
    decision = decide_promotion(
        GOOD,
        GOOD,
        policy,
        candidate_on_comparison={**GOOD, "test_roc_auc": 1.0},
        comparison=_comparison(23),
    )
    assert not decision.promote
    assert "only 23 test rows" in decision.reason and "min_comparison_rows 50" in decision.reason
    one_class = decide_promotion(
        GOOD, GOOD, policy, candidate_on_comparison=GOOD, comparison=_comparison(80, both=False)
    )
    assert not one_class.promote and "both classes: False" in one_class.reason


def test_degenerate_candidate_is_never_promoted() -> None:
    """Issue 12, case 2: accuracy 0.94 cleared the floor while predicting "No" for every row."""
    decision = decide_promotion(
        GOOD, None, PromotionPolicy(), degenerate="predicts negative for 100.0% of the 1165 rows"
    )
    assert not decision.promote
    assert decision.reason == (
        "the candidate is degenerate: predicts negative for 100.0% of the 1165 rows"
    )
    assert decision.to_dict()["degenerate"].startswith("predicts negative")


def test_min_gain_over_baseline() -> None:
    policy = PromotionPolicy(min_gain_over_baseline=0.01)
    losing = decide_promotion(GOOD, None, policy, baseline={**GOOD, "test_roc_auc": 0.985})
    assert not losing.promote
    assert "does not reach the logistic-regression baseline's 0.9850" in losing.reason
    winning = decide_promotion(GOOD, None, policy, baseline={**GOOD, "test_roc_auc": 0.97})
    assert winning.promote
    assert not decide_promotion(GOOD, None, policy).promote  # no baseline to compare with
    assert decide_promotion(
        GOOD, None, PromotionPolicy(), baseline={**GOOD, "test_roc_auc": 1.0}
    ).promote


def _table(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"id": np.arange(n) + 10_000 * seed, "x": rng.normal(size=n), "y": rng.integers(0, 2, n)}
    )


def _splits(df: pd.DataFrame, split: SplitConfig) -> tuple[pd.DataFrame, ...]:
    schema = validate_and_infer_schema(
        df, DataConfig(path="t.csv", target="y", positive_label=1), "t.csv"
    )
    return schema, *split_data(df, schema, split, "t.csv")


@pytest.mark.parametrize("grow", [False, True])
def test_comparison_rows_hold_none_of_productions_training_rows(grow: bool) -> None:
    """Issue 12, case 1: after split.random_state changed (and rows were added), production is
    compared only on rows it never trained or validated on; checked by row key."""
    v1_split, v2_split = SplitConfig(random_state=42), SplitConfig(random_state=7)
    data = _table(3000)
    schema, v1_train, v1_val, _ = _splits(data, v1_split)
    if grow:
        data = pd.concat([data, _table(1000, seed=1)], ignore_index=True)
    schema, _, _, v2_test = _splits(data, v2_split)
    cmp = comparison_set(v2_test, schema, v2_split, v1_split)
    rows = v2_test.iloc[cmp.rows]
    seen = set(v1_train["id"]) | set(v1_val["id"])
    assert not seen & set(rows["id"])
    # Every other test row was seen by v1 or is new: the set is as large as it can be.
    assert set(v2_test["id"]) - set(rows["id"]) <= seen | set(range(10_000, 11_000))
    assert 0.1 < cmp.size / len(v2_test) < 0.3  # about test_size of them
    expected = hashlib.sha256(
        np.sort(row_key_hashes(rows, [*schema.feature_columns, "y"])).astype("<u8").tobytes()
    ).hexdigest()
    assert cmp.fingerprint == expected


def test_same_split_config_compares_on_every_test_row() -> None:
    split = SplitConfig()
    schema, _, _, test = _splits(_table(2000), split)
    cmp = comparison_set(test, schema, split, split)
    assert cmp.size == len(test) and cmp.note == ""
    unrecorded = comparison_set(test, schema, split, None)
    assert unrecorded.size == len(test) and "recorded no split config" in unrecorded.note
    assert (assign_splits(test, schema, split) == SPLIT_CODES["test"]).all()


def test_comparison_set_refuses_rows_that_are_not_the_test_split() -> None:
    split = SplitConfig()
    schema, train, _, _ = _splits(_table(500), split)
    with pytest.raises(ValueError, match="do not hash to the test split"):
        comparison_set(train, schema, split, split)
