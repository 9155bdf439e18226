"""Promotion step: move the candidate to production if it beats the current production model."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from zenml import log_metadata, step
from zenml.logger import get_logger

from release.production import current_production, set_production
from steps.caching import NEVER_CACHE
from tabular_classifier.errors import InputValidationError
from tabular_classifier.evaluation import EvaluationReport, evaluate
from tabular_classifier.predictor import ModelBundle, Predictor
from tabular_classifier.promotion import PromotionPolicy, decide_promotion

logger = get_logger(__name__)


@step(enable_cache=False, cache_policy=NEVER_CACHE)
def promote_model(
    registration: dict[str, Any],
    classifier: ModelBundle,
    evaluation_report: EvaluationReport,
    test_split: pd.DataFrame,
    promotion_policy: dict[str, Any],
) -> Annotated[dict[str, Any], "promotion_decision"]:
    """Compare candidate and production on the same test rows; promote the winner.

    On promotion the candidate's ZenML model version moves to the ``production`` stage (the
    previous one is archived) and the MLflow registry alias ``champion`` moves to it
    (``previous_champion`` marks the one it replaced). Either way the decision and its numbers
    are logged as the candidate's model-version metadata under ``promotion``.

    Args:
        registration: Output of ``register_model`` (model name and versions).
        classifier: The candidate.
        evaluation_report: The candidate's test evaluation.
        test_split: The held-out rows both models are scored on.
        promotion_policy: A ``PromotionPolicy`` as a dict.

    Returns:
        The decision as a dict (``PromotionDecision.to_dict()``) plus the versions involved.
    """
    policy = PromotionPolicy.model_validate(promotion_policy)
    model_name = registration["zenml_model"]
    candidate_version = registration["zenml_model_version"]
    production = current_production(model_name)
    production_metrics: dict[str, float] | None = None
    note = ""
    if production is not None and str(production.number) == str(candidate_version):
        production = None
    if production is not None:
        try:
            incumbent: ModelBundle = production.get_artifact("classifier").load()
            production_metrics = evaluate(
                Predictor(incumbent), test_split, classifier.schema
            ).metrics
        except (InputValidationError, KeyError) as exc:
            note = f" (production version {production.number} cannot score these rows: {exc})"
            logger.warning("Production model cannot score the candidate's test rows: %s", exc)
    decision = decide_promotion(evaluation_report.metrics, production_metrics, policy)
    record = {
        **decision.to_dict(),
        "reason": decision.reason + note,
        "candidate_version": str(candidate_version),
        "production_version": None if production is None else str(production.number),
        "policy": policy.model_dump(),
    }
    if decision.promote:
        set_production(model_name, str(candidate_version))
        logger.info("Promoted %s version %s: %s", model_name, candidate_version, record["reason"])
    else:
        logger.info(
            "Kept %s version %s out of production: %s",
            model_name,
            candidate_version,
            record["reason"],
        )
    log_metadata(
        metadata={"promotion": record},
        model_name=model_name,
        model_version=str(candidate_version),
    )
    return record
