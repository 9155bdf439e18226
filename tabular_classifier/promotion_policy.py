"""The promotion policy: which metric decides, the floors a candidate must clear, the margin.

Validated from the ``promotion`` block of the training run config. The decision that applies it
is :func:`tabular_classifier.promotion.decide_promotion`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tabular_classifier.config_files import config_error

PromotionMetric = Literal[
    "test_accuracy",
    "test_roc_auc",
    "test_precision",
    "test_recall",
    "test_f1_score",
    "test_pr_auc",
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
        min_gain_over_baseline: When set, the candidate's ``metric`` on its test split must be
            at least the logistic-regression baseline's plus this (may be negative, to allow a
            small loss); None (default) does not require it.
        min_comparison_rows: The fewest comparison rows (see :func:`comparison_set`) to compare
            with production on; below it the candidate is not promoted (default 50: at 50 rows
            one row moves accuracy by 2 points).
    """

    model_config = ConfigDict(extra="forbid")

    metric: PromotionMetric = "test_roc_auc"
    min_accuracy: float = Field(default=0.8, ge=0.0, le=1.0)
    min_roc_auc: float = Field(default=0.8, ge=0.0, le=1.0)
    min_improvement: float = Field(default=0.0, ge=0.0, le=1.0)
    min_gain_over_baseline: float | None = Field(default=None, ge=-1.0, le=1.0)
    min_comparison_rows: int = Field(default=50, ge=1)


def load_promotion_policy(raw: dict[str, Any] | None, source: str = "<inline>") -> PromotionPolicy:
    """Validate a promotion block.

    Raises:
        ConfigError: Naming ``source`` and every offending key (the first as ``key``).
    """
    try:
        return PromotionPolicy.model_validate(dict(raw or {}))
    except ValidationError as exc:
        # Every bad key in one message, without pydantic's traceback chained before it.
        raise config_error(source, exc, PromotionPolicy) from None
