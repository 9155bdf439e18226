"""Load the batch to score (CSV or Parquet), checked against the model version's row contract."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import log_metadata, step

from materializers.table_materializer import ParquetTableMaterializer
from release.blue_green import resolve_model_version
from tabular_classifier.batch import read_batch
from tabular_classifier.predictor import ModelBundle


@step(enable_cache=False, output_materializers={"inference_batch": ParquetTableMaterializer})
def load_batch(
    path: str,
    model_name: str,
    version: str | None = None,
    passthrough_columns: list[str] | None = None,
) -> tuple[Annotated[pd.DataFrame, "inference_batch"], Annotated[str, "model_version"]]:
    """Resolve the model version, read the batch file and check every row before any scoring.

    Args:
        path: CSV (``.csv``, ``.csv.gz``) or Parquet (``.parquet``, ``.pq``) file.
        model_name: The ZenML model name.
        version: A model version number; default: the production version.
        passthrough_columns: Extra columns (IDs...) carried to the output but not scored.

    Returns:
        The rows to score (``tabular_classifier.batch.read_batch``: features in their logical
        dtypes), and the model version number that will score them.

    Raises:
        DataValidationError: If the file is missing, empty or unreadable, or a row breaks the
            row contract (the message names the file, the column and the row).
        DeploymentError: If there is no such (or no production) model version.
    """
    target = resolve_model_version(model_name, version)
    bundle: ModelBundle = target.get_artifact("classifier").load()
    frame = read_batch(path, bundle.contract, passthrough_columns or [])
    log_metadata(
        metadata={
            "path": path,
            "n_rows": len(frame),
            "n_columns": frame.shape[1],
            "model_version": str(target.number),
        }
    )
    return frame, str(target.number)
