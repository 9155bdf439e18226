"""Promotion policy: decide whether a candidate beats the current production model.

The candidate must first clear, on its whole test split: absolute floors on accuracy and ROC
AUC, the degenerate-model guard (``tabular_classifier.metrics.degenerate_reason``), and
optionally a margin over the logistic-regression baseline (``min_gain_over_baseline``). It is
then compared with production on the **comparison set** (:func:`comparison_set`): the
candidate's test rows that production's own split also put in *its* test split, i.e. rows
neither model trained, early-stopped, calibrated or chose a threshold on. Splits are row
hashes (``tabular_classifier.data.assign_splits``), so production's split of any row can be
recomputed from the split config it recorded: with the same ``split`` block the comparison set
is the whole test split, also after rows were added; after ``split.random_state`` changed, it
is about ``test_size`` of it (4 % of the table at the defaults). Below ``min_comparison_rows``
(or with one class missing) the policy refuses to decide, and the candidate stays out of
production, with that reason.

The rule follows ZenML's end-to-end template (compare with production on the same data before
moving the stage), with floors so that a bad production model cannot be "beaten" by another bad
one, and the unbiased comparison set so that production cannot win on rows it memorised.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from tabular_classifier.config import SplitConfig
from tabular_classifier.evaluation import EvaluationReport, scored_metrics
from tabular_classifier.feature_schema import FeatureSchema
from tabular_classifier.labels import encode_target
from tabular_classifier.predictor import Predictor
from tabular_classifier.promotion_policy import (
    PromotionMetric,
    PromotionPolicy,
    load_promotion_policy,
)
from tabular_classifier.split_assignment import (
    SPLIT_CODES,
    assign_splits,
    row_key_hashes,
    split_key_columns,
)

__all__ = [
    "METRIC_TIE_TOLERANCE",
    "ComparisonSet",
    "PromotionDecision",
    "PromotionMetric",
    "PromotionPolicy",
    "PromotionRecord",
    "comparison_set",
    "decide_promotion",
    "judge_candidate",
    "load_promotion_policy",
]


@dataclass(frozen=True)
class ComparisonSet:
    """The test rows candidate and production are compared on.

    Attributes:
        rows: int64 positions, in the candidate's test split, of the rows production's split
            also put in its test split.
        fingerprint: SHA-256 (hex) of the rows' sorted 64-bit key hashes
            (``tabular_classifier.data.row_key_hashes`` over the candidate's key columns): the
            same rows give the same fingerprint, whatever their order.
        candidate_split: The candidate's split config, as a dict.
        production_split: Production's recorded split config, or None when production recorded
            none (it predates split records; then every test row is used, and ``note`` says so).
        note: Empty, or why the set may not be free of production's training rows.
        both_classes: Whether the rows hold both labels (ROC AUC needs them).
    """

    rows: np.ndarray
    fingerprint: str
    candidate_split: dict[str, Any]
    production_split: dict[str, Any] | None
    note: str = ""
    both_classes: bool = True

    @property
    def size(self) -> int:
        """Number of comparison rows."""
        return int(self.rows.size)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary (without the row positions)."""
        return {
            "rows": self.size,
            "fingerprint": self.fingerprint,
            "candidate_split": self.candidate_split,
            "production_split": self.production_split,
            "note": self.note,
        }


def comparison_set(
    test_split: pd.DataFrame,
    schema: FeatureSchema,
    candidate_split: SplitConfig,
    production_split: SplitConfig | None,
) -> ComparisonSet:
    """The candidate's test rows that production never trained or validated on.

    Production's split of each row is recomputed from its recorded split config
    (:func:`tabular_classifier.data.assign_splits` depends on the row's key and the salt only),
    and only rows it also assigned to its test split are kept.

    Args:
        test_split: The candidate's test split, as ``split_data`` returned it.
        schema: The candidate's feature schema.
        candidate_split: The split config the candidate was trained with.
        production_split: Production's split config, or None if it recorded none.

    Returns:
        The comparison set.

    Raises:
        ValueError: If the test split does not hash to the candidate's test split under the
            candidate's own config (the rows or the config are not the ones trained with).
        KeyError: If a key column of production's split config is missing from the rows.
    """
    test_code = SPLIT_CODES["test"]
    own = assign_splits(test_split, schema, candidate_split)
    if (own != test_code).any():
        raise ValueError(
            f"{int((own != test_code).sum())} of the {len(test_split)} test rows do not hash to "
            "the test split under the candidate's split config"
        )
    note = ""
    if production_split is None:
        rows = np.arange(len(test_split), dtype=np.int64)
        note = (
            "production recorded no split config; compared on every candidate test row, some "
            "of which production may have trained on"
        )
    else:
        codes = assign_splits(test_split, schema, production_split)
        rows = np.flatnonzero(codes == test_code).astype(np.int64)
    keys = row_key_hashes(
        test_split.iloc[rows], split_key_columns(test_split, schema, candidate_split)
    )
    fingerprint = hashlib.sha256(np.sort(keys).astype("<u8").tobytes()).hexdigest()
    labels = encode_target(test_split[schema.target].iloc[rows], schema)
    return ComparisonSet(
        both_classes=bool(labels.size) and int(labels.min()) != int(labels.max()),
        rows=rows,
        fingerprint=fingerprint,
        candidate_split=candidate_split.model_dump(),
        production_split=None if production_split is None else production_split.model_dump(),
        note=note,
    )


@dataclass(frozen=True)
class PromotionDecision:
    """The outcome, with the numbers it was based on.

    Attributes:
        promote: Whether the candidate becomes the production model.
        reason: One sentence a person can read.
        metric: The comparison metric.
        candidate_value: The candidate's ``metric`` on the comparison rows when production was
            scored, else on its whole test split.
        production_value: The production model's value on the comparison rows, or ``None``.
        candidate_metrics: All the candidate's metrics on its whole test split.
        production_metrics: All the production model's metrics on the comparison rows, or
            ``None``.
        candidate_comparison_metrics: The candidate's metrics on the comparison rows, or
            ``None`` when there was no comparison.
        baseline_metrics: The logistic-regression baseline's test metrics, or ``None``.
        degenerate: Why the candidate is degenerate, or ``None``.
        comparison: :meth:`ComparisonSet.to_dict`, or ``None`` without production.
    """

    promote: bool
    reason: str
    metric: str
    candidate_value: float
    production_value: float | None
    candidate_metrics: dict[str, float]
    production_metrics: dict[str, float] | None
    candidate_comparison_metrics: dict[str, float] | None = None
    baseline_metrics: dict[str, float] | None = None
    degenerate: str | None = None
    comparison: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict of all fields."""
        return asdict(self)


METRIC_TIE_TOLERANCE = 1e-9
"""Differences of a metric below this are ties, never a win. The same metric of two models on
the same rows can differ in its last bits only because float sums ran in different orders
(seen: 0.9901934799893984 against ...983, both exactly 3736/3773 correctly ordered pairs). The
smallest real change of an accuracy or AUC on a million rows is about 1e-6 to 1e-12 per row or
pair, and no promotion should hinge on one pair: 1e-9 separates rounding from results."""


def decide_promotion(
    candidate: dict[str, float],
    production: dict[str, float] | None,
    policy: PromotionPolicy,
    *,
    candidate_on_comparison: dict[str, float] | None = None,
    comparison: ComparisonSet | None = None,
    baseline: dict[str, float] | None = None,
    degenerate: str | None = None,
) -> PromotionDecision:
    """Apply the policy, in this order; the first rule that fails decides.

    1. ``test_accuracy`` and ``test_roc_auc`` at or above the floors (whole test split).
    2. Not degenerate.
    3. With ``min_gain_over_baseline`` set: ``metric`` at least the baseline's plus the gain.
    4. No production model: promote.
    5. A comparison set of at least ``min_comparison_rows`` rows holding both classes.
    6. ``metric`` on the comparison rows above production's plus ``min_improvement``, by more
       than :data:`METRIC_TIE_TOLERANCE` (a last-bit difference is a tie, not a win).

    Args:
        candidate: The candidate's metrics on its whole test split (``EvaluationReport.metrics``).
        production: The production model's metrics on the comparison rows, or ``None`` when
            there is no production model (or it cannot score these rows).
        policy: The promotion policy.
        candidate_on_comparison: The candidate's metrics on the comparison rows (required
            with ``production``).
        comparison: The comparison set (required with ``production``).
        baseline: The baseline's metrics on the candidate's test split, or ``None``.
        degenerate: :func:`tabular_classifier.metrics.degenerate_reason`'s sentence, or None.

    Returns:
        The decision.

    Raises:
        KeyError: If a metric the policy needs is missing.
        ValueError: If ``production`` comes without a comparison set and the candidate's
            metrics on it.
    """
    for key in (policy.metric, "test_accuracy", "test_roc_auc"):
        if key not in candidate:
            raise KeyError(f"candidate metrics lack '{key}' (have {sorted(candidate)})")
    if production is not None and (comparison is None or candidate_on_comparison is None):
        raise ValueError("a production comparison needs the comparison set and its metrics")
    compared = production is not None and candidate_on_comparison is not None
    value = float((candidate_on_comparison if compared else candidate)[policy.metric])  # type: ignore[index]
    prod_value = None if production is None else float(production[policy.metric])
    baseline_value = None if baseline is None else baseline.get(policy.metric)

    def decision(promote: bool, reason: str) -> PromotionDecision:
        return PromotionDecision(
            promote=promote,
            reason=reason,
            metric=policy.metric,
            candidate_value=value,
            production_value=prod_value,
            candidate_metrics={k: float(v) for k, v in candidate.items()},
            production_metrics=None if production is None else dict(production),
            candidate_comparison_metrics=(
                None if candidate_on_comparison is None else dict(candidate_on_comparison)
            ),
            baseline_metrics=None if baseline is None else dict(baseline),
            degenerate=degenerate,
            comparison=None if comparison is None else comparison.to_dict(),
        )

    if candidate["test_accuracy"] < policy.min_accuracy:
        return decision(
            False,
            f"test_accuracy {candidate['test_accuracy']:.4f} is below the floor "
            f"{policy.min_accuracy}",
        )
    if candidate["test_roc_auc"] < policy.min_roc_auc:
        return decision(
            False,
            f"test_roc_auc {candidate['test_roc_auc']:.4f} is below the floor {policy.min_roc_auc}",
        )
    if degenerate:
        return decision(False, f"the candidate is degenerate: {degenerate}")
    if policy.min_gain_over_baseline is not None:
        if baseline_value is None:
            return decision(
                False,
                "min_gain_over_baseline is set but the run has no baseline metrics to compare with",
            )
        own = float(candidate[policy.metric])
        if own < float(baseline_value) + policy.min_gain_over_baseline:
            return decision(
                False,
                f"{policy.metric} {own:.4f} does not reach the logistic-regression baseline's "
                f"{float(baseline_value):.4f} plus min_gain_over_baseline "
                f"{policy.min_gain_over_baseline}",
            )
    if prod_value is None:
        return decision(True, "no production model yet; the candidate clears every floor")
    assert comparison is not None and candidate_on_comparison is not None
    if comparison.size < policy.min_comparison_rows or not comparison.both_classes:
        return decision(
            False,
            f"cannot compare with production fairly: only {comparison.size} test rows "
            f"(both classes: {comparison.both_classes}) are outside production's training and "
            f"validation rows (min_comparison_rows "
            f"{policy.min_comparison_rows}); keep split.random_state unchanged between versions, "
            "or add data",
        )
    where = f"the {comparison.size} comparison rows neither model trained on"
    if comparison.note:
        where = f"the {comparison.size} comparison rows ({comparison.note})"
    if value - prod_value > policy.min_improvement + METRIC_TIE_TOLERANCE:
        return decision(
            True,
            f"{policy.metric} {value:.4f} beats production's {prod_value:.4f} on {where} "
            f"(required margin {policy.min_improvement})",
        )
    return decision(
        False,
        f"{policy.metric} {value:.4f} does not beat production's {prod_value:.4f} on {where} "
        f"(required margin {policy.min_improvement})",
    )


def judge_candidate(
    candidate: Predictor,
    report: EvaluationReport,
    test_split: pd.DataFrame,
    policy: PromotionPolicy,
    production: Predictor | None,
) -> PromotionDecision:
    """Score candidate and production on the comparison set and apply :func:`decide_promotion`.

    Args:
        candidate: The candidate's predictor; its bundle's ``extra["split"]`` is the split
            config it was trained with (the defaults when absent).
        report: The candidate's evaluation report on ``test_split``.
        test_split: The candidate's test split.
        policy: The promotion policy.
        production: The production model's predictor, or None without one.

    Returns:
        The decision.

    Raises:
        ValueError: If the test split is not the candidate's (see :func:`comparison_set`).
        InputValidationError: If production cannot parse the comparison rows.
    """
    schema = candidate.bundle.schema
    baseline = report.baseline.get("metrics") if report.baseline else None
    if production is None:
        return decide_promotion(
            report.metrics, None, policy, baseline=baseline, degenerate=report.degenerate
        )
    own_split = SplitConfig.model_validate(candidate.bundle.extra.get("split", {}))
    recorded = production.bundle.extra.get("split")
    production_split = None if recorded is None else SplitConfig.model_validate(recorded)
    comparison = comparison_set(test_split, schema, own_split, production_split)
    production_metrics: dict[str, float] = {}
    candidate_metrics: dict[str, float] = {}
    if comparison.size and comparison.both_classes:
        rows = test_split.iloc[comparison.rows].reset_index(drop=True)
        candidate_metrics = scored_metrics(candidate, rows, schema)
        production_metrics = scored_metrics(production, rows, schema)
    else:
        production_metrics = {key: float("nan") for key in report.metrics}
        candidate_metrics = dict(production_metrics)
    return decide_promotion(
        report.metrics,
        production_metrics,
        policy,
        candidate_on_comparison=candidate_metrics,
        comparison=comparison,
        baseline=baseline,
        degenerate=report.degenerate,
    )


@dataclass(frozen=True)
class PromotionRecord:
    """The ``promotion_decision`` artifact: the decision, the versions involved and the policy.

    Attributes:
        decision: The decision and the metrics it compared.
        model_name: The model.
        candidate_version: The candidate's model version.
        production_version: The production version it was compared with, or None when there
            was none (or it could not score the test rows: the reason says so).
        policy: The policy applied (floors, comparison metric, required margin).
    """

    decision: PromotionDecision
    model_name: str
    candidate_version: str
    production_version: str | None
    policy: PromotionPolicy

    def to_dict(self) -> dict[str, Any]:
        """The decision's fields, the versions and the policy, in one flat JSON-safe dict.

        This is also the ``promotion`` metadata of the candidate's model version.
        """
        return {
            **self.decision.to_dict(),
            "model_name": self.model_name,
            "candidate_version": self.candidate_version,
            "production_version": self.production_version,
            "policy": self.policy.model_dump(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PromotionRecord:
        """Inverse of :meth:`to_dict`.

        Raises:
            KeyError: On a missing field.
            pydantic.ValidationError: On an invalid policy.
        """
        # Records written before a field existed lack it; such fields have defaults.
        fields = {k: data[k] for k in PromotionDecision.__dataclass_fields__ if k in data}
        return cls(
            decision=PromotionDecision(**fields),
            model_name=str(data["model_name"]),
            candidate_version=str(data["candidate_version"]),
            production_version=data["production_version"],
            policy=PromotionPolicy.model_validate(data["policy"]),
        )
