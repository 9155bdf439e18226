"""Score a batch with a model version through the singleton predictor's code path."""

from __future__ import annotations

import uuid
from typing import Annotated

import pandas as pd
from zenml import get_step_context, log_metadata, step
from zenml.logger import get_logger

from release.blue_green import resolve_model_version
from serving.prediction_log import utc_now
from tabular_classifier.predictor import ModelBundle, Predictor

logger = get_logger(__name__)


@step(enable_cache=False)
def score_batch(
    inference_batch: pd.DataFrame, model_name: str, version: str | None = None
) -> Annotated[pd.DataFrame, "predictions"]:
    """Score every row with the production (or the given) model version.

    The whole batch is validated before anything is scored, so a bad batch fails with an
    error naming the column and nothing is written.

    Args:
        inference_batch: The rows, with at least the model's feature columns (others are
            kept in the output but not used).
        model_name: The ZenML model name.
        version: A model version number; default: the production version.

    Returns:
        The input rows plus ``prediction_id``, ``request_id``, ``timestamp``, ``source``
        (``batch``), ``model_name``, ``model_version``, ``probability`` (float64), ``label``
        and ``latency_ms`` (NaN), shape (n_rows, n_columns + 9).

    Raises:
        InputValidationError: A missing feature column or a non-numeric value in a numeric
            column (naming it).
        DeploymentError: If there is no such (or no production) model version.
    """
    target = resolve_model_version(model_name, version)
    bundle: ModelBundle = target.get_artifact("classifier").load()
    predictor = Predictor(bundle)
    features = predictor.validate_input(inference_batch)
    probability = predictor.predict_proba(features)
    schema = bundle.schema
    out = inference_batch.copy()
    out["prediction_id"] = [uuid.uuid4().hex for _ in range(len(out))]
    out["request_id"] = str(get_step_context().pipeline_run.id)
    out["timestamp"] = utc_now()
    out["source"] = "batch"
    out["model_name"] = model_name
    out["model_version"] = str(target.number)
    out["probability"] = probability
    out["label"] = [
        str(schema.positive_label if p >= bundle.decision_threshold else schema.negative_label)
        for p in probability
    ]
    out["latency_ms"] = float("nan")
    positive_share = float((probability >= bundle.decision_threshold).mean())
    log_metadata(
        metadata={
            "model_version": str(target.number),
            "n_rows": len(out),
            "positive_share": positive_share,
        }
    )
    logger.info(
        "Scored %d rows with %s version %s (%.1f%% positive)",
        len(out),
        model_name,
        target.number,
        100 * positive_share,
    )
    return out
