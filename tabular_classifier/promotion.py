"""Promotion policy: decide whether a candidate beats the current production model.

Both models are scored on the same held-out test rows (the candidate's test split), on the
metric chosen in config, and the candidate must also clear absolute floors on accuracy and ROC
AUC. The rule follows ZenML's end-to-end template (compare with production on the same data
before moving the stage), with explicit floors added so that a bad production model cannot be
"beaten" by another bad one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tabular_classifier.errors import ConfigError
from tabular_classifier.metrics import METRIC_KEYS

PromotionMetric = Literal[
    "test_accuracy", "test_roc_auc", "test_precision", "test_recall", "test_f1_score"
]


class PromotionPolicy(BaseModel):
    """How a candidate is judged.

    Attributes:
        metric: The comparison metric (default ``test_roc_auc``).
        min_accuracy: Absolute floor on ``test_accuracy`` (default 0.8).
        min_roc_auc: Absolute floor on ``test_roc_auc`` (default 0.8).
        min_improvement: How much the candidate must exceed production on ``metric``; the
            candidate wins only if ``candidate > production + min_improvement`` (default 0:
            strictly better; a tie keeps the current production model).
    """

    model_config = ConfigDict(extra="forbid")

    metric: PromotionMetric = "test_roc_auc"
    min_accuracy: float = Field(default=0.8, ge=0.0, le=1.0)
    min_roc_auc: float = Field(default=0.8, ge=0.0, le=1.0)
    min_improvement: float = Field(default=0.0, ge=0.0, le=1.0)


def load_promotion_policy(raw: dict[str, Any] | None, source: str = "<inline>") -> PromotionPolicy:
    """Validate a promotion block.

    Raises:
        ConfigError: Naming ``source`` and the offending key.
    """
    try:
        return PromotionPolicy.model_validate(dict(raw or {}))
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        raise ConfigError(source, key, err["msg"]) from exc


@dataclass(frozen=True)
class PromotionDecision:
    """The outcome, with the numbers it was based on.

    Attributes:
        promote: Whether the candidate becomes the production model.
        reason: One sentence a person can read.
        metric: The comparison metric.
        candidate_value: The candidate's value of ``metric`` on the test rows.
        production_value: The production model's value on the same rows, or ``None``.
        candidate_metrics: All the candidate's test metrics.
        production_metrics: All the production model's metrics on the same rows, or ``None``.
    """

    promote: bool
    reason: str
    metric: str
    candidate_value: float
    production_value: float | None
    candidate_metrics: dict[str, float]
    production_metrics: dict[str, float] | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict of all fields."""
        return asdict(self)


def decide_promotion(
    candidate: dict[str, float],
    production: dict[str, float] | None,
    policy: PromotionPolicy,
) -> PromotionDecision:
    """Apply the policy.

    Args:
        candidate: The candidate's test metrics (keys as in ``METRIC_KEYS``).
        production: The production model's metrics on the same test rows, or ``None`` when
            there is no production model (or it cannot score these rows).
        policy: The promotion policy.

    Returns:
        The decision. A candidate below a floor never wins; with no production model the
        first candidate above the floors wins.

    Raises:
        KeyError: If a metric the policy needs is missing from ``candidate``.
    """
    for key in (policy.metric, "test_accuracy", "test_roc_auc"):
        if key not in candidate:
            raise KeyError(f"candidate metrics lack '{key}' (have {sorted(candidate)})")
    value = float(candidate[policy.metric])
    prod_value = None if production is None else float(production[policy.metric])

    def decision(promote: bool, reason: str) -> PromotionDecision:
        return PromotionDecision(
            promote=promote,
            reason=reason,
            metric=policy.metric,
            candidate_value=value,
            production_value=prod_value,
            candidate_metrics={k: float(candidate[k]) for k in METRIC_KEYS if k in candidate},
            production_metrics=None if production is None else dict(production),
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
    if prod_value is None:
        return decision(True, "no production model yet; the candidate clears every floor")
    if value > prod_value + policy.min_improvement:
        return decision(
            True,
            f"{policy.metric} {value:.4f} beats production's {prod_value:.4f} on the same test "
            f"rows (required margin {policy.min_improvement})",
        )
    return decision(
        False,
        f"{policy.metric} {value:.4f} does not beat production's {prod_value:.4f} on the same "
        f"test rows (required margin {policy.min_improvement})",
    )
