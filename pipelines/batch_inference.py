"""Batch inference pipeline: score a CSV/Parquet batch with the production model version.

Run it with::

    zenml pipeline run pipelines.batch_inference.batch_inference_pipeline -c CONFIG

with ``CONFIG`` = ``configs/batch_inference.yaml``.
"""

from __future__ import annotations

from pipelines.checked_pipeline import checked_pipeline
from pipelines.docker_settings import DOCKER_SETTINGS
from steps.inference.load_batch import load_batch
from steps.inference.log_predictions import log_predictions
from steps.inference.score_batch import score_batch


@checked_pipeline(
    name="batch_inference_pipeline", enable_cache=False, settings={"docker": DOCKER_SETTINGS}
)
def batch_inference_pipeline(
    path: str,
    model_name: str,
    version: str | int | None = None,
    passthrough_columns: list[str] | None = None,
) -> None:
    """Score ``path`` and append the predictions to the prediction log.

    Args:
        path: The batch file (CSV or Parquet) with the model's feature columns (the training
            table's target and dropped columns may be there too).
        model_name: The ZenML model name.
        version: A model version number (``2`` or ``"2"``); default: the production version.
        passthrough_columns: Other columns (IDs...) to carry to the output unscored; any other
            unknown column is refused.
    """
    batch, model_version = load_batch(
        path=path,
        model_name=model_name,
        version=None if version is None else str(version),
        passthrough_columns=passthrough_columns,
    )
    predictions = score_batch(
        inference_batch=batch,
        model_name=model_name,
        model_version=model_version,
        passthrough_columns=passthrough_columns,
    )
    log_predictions(predictions=predictions)
