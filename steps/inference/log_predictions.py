"""Append a scored batch to the prediction log that monitoring reads as current data."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import get_step_context, log_metadata, step

from serving.prediction_log import write_batch


@step(enable_cache=False)
def log_predictions(predictions: pd.DataFrame) -> Annotated[str, "prediction_log_file"]:
    """Write the batch's predictions to the prediction log, atomically.

    Args:
        predictions: Output of ``score_batch``.

    Returns:
        The written Parquet file's path.
    """
    path = write_batch(predictions, str(get_step_context().pipeline_run.id))
    log_metadata(metadata={"prediction_log_file": str(path), "n_rows": len(predictions)})
    return str(path)
