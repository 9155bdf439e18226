"""Score a batch with a model version through the singleton predictor's code path."""

from __future__ import annotations

import uuid
from typing import Annotated

import pandas as pd
from zenml import get_step_context, log_metadata, step
from zenml.logger import get_logger

from materializers.table_materializer import ParquetTableMaterializer
from release.blue_green import resolve_model_version
from serving.prediction_log import utc_now
from tabular_classifier.batch import score_batch_frame
from tabular_classifier.predictor import ModelBundle, Predictor

logger = get_logger(__name__)


@step(enable_cache=False, output_materializers={"predictions": ParquetTableMaterializer})
def score_batch(
    inference_batch: pd.DataFrame,
    model_name: str,
    model_version: str,
    passthrough_columns: list[str] | None = None,
) -> Annotated[pd.DataFrame, "predictions"]:
    """Score every row with the model version that ``load_batch`` resolved.

    Args:
        inference_batch: From ``load_batch`` (already checked against the row contract).
        model_name: The ZenML model name.
        model_version: The model version number.
        passthrough_columns: Columns carried to the output but not scored.

    Returns:
        The input rows plus ``probability`` (float64), ``label`` (str), ``unknown_categories``
        (int64), ``prediction_id``, ``request_id`` (the run id), ``timestamp``, ``source``
        (``batch``), ``model_name``, ``model_version`` and ``latency_ms`` (NaN).

    Raises:
        InputValidationError: If the batch breaks the row contract (not after ``load_batch``).
    """
    target = resolve_model_version(model_name, model_version)
    bundle: ModelBundle = target.get_artifact("classifier").load()
    predictor = Predictor(bundle)
    out = score_batch_frame(predictor, inference_batch, passthrough_columns or [])
    out["prediction_id"] = [uuid.uuid4().hex for _ in range(len(out))]
    out["request_id"] = str(get_step_context().pipeline_run.id)
    out["timestamp"] = utc_now()
    out["source"] = "batch"
    out["model_name"] = model_name
    out["model_version"] = str(target.number)
    out["latency_ms"] = float("nan")
    positive_share = float((out["probability"] >= bundle.decision_threshold).mean())
    unknown = int((out["unknown_categories"] > 0).sum())
    log_metadata(
        metadata={
            "model_version": str(target.number),
            "n_rows": len(out),
            "positive_share": positive_share,
            "rows_with_unknown_categories": unknown,
        }
    )
    logger.info(
        "Scored %d rows with %s version %s (%.1f%% positive, %d rows with unknown categories)",
        len(out),
        model_name,
        target.number,
        100 * positive_share,
        unknown,
    )
    return out
