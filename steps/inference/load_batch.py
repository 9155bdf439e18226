"""Load the batch to score (CSV or Parquet)."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import log_metadata, step

from tabular_classifier.data import read_table


@step(enable_cache=False)
def load_batch(path: str) -> Annotated[pd.DataFrame, "inference_batch"]:
    """Read the batch file.

    Args:
        path: CSV (``.csv``, ``.csv.gz``) or Parquet (``.parquet``, ``.pq``) file.

    Returns:
        The rows to score, shape (n_rows, n_columns).

    Raises:
        DataValidationError: If the file is missing, empty, unreadable or has duplicate
            column names (the message names the file).
    """
    frame = read_table(path)
    log_metadata(metadata={"path": path, "n_rows": len(frame), "n_columns": frame.shape[1]})
    return frame
