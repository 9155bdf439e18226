"""Ingest step: read the (DVC-versioned) data file and record which version it is."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import mlflow
import pandas as pd
from zenml import get_step_context, log_metadata, step
from zenml.logger import get_logger
from zenml.utils import source_utils

from materializers.table_materializer import ParquetTableMaterializer
from steps.caching import ML_CODE
from steps.tracking import record_failure
from tabular_classifier.config import DataConfig
from tabular_classifier.data import load_table
from tabular_classifier.data_source import locate_data_file
from tabular_classifier.data_version import DataVersion, fingerprint_md5, resolve_data_version

logger = get_logger(__name__)


@step(
    experiment_tracker=True,
    cache_policy=ML_CODE,
    output_materializers={"raw_data": ParquetTableMaterializer},
)
def ingest_data(
    data_config: DataConfig, data_fingerprint: str | None = None
) -> tuple[Annotated[pd.DataFrame, "raw_data"], Annotated[DataVersion, "data_version"]]:
    """Load the configured CSV/Parquet file and check it against its DVC pointer.

    A repository-relative ``data.path`` is resolved against the step's source root (the
    checkout, or the code ZenML downloaded into a step container or pod). A DVC-tracked file
    that is not there is pulled from the DVC remote ``TABULAR_DVC_REMOTE`` that the stack sets,
    with the S3 artifact store's endpoint and keys, and checked against its pointer
    (:func:`tabular_classifier.data_source.locate_data_file`).

    The data version (path, md5, size, DVC remote, git commit) is recorded as ZenML run
    metadata and as MLflow tags (``data.*``, ``git_commit``).

    Args:
        data_config: The ``data:`` block of the run config, validated when the pipeline was
            compiled.
        data_fingerprint: ``compile_fingerprint`` of the file when the pipeline was compiled
            (md5 and whether DVC tracks it). It is part of the step's cache key, so changed
            data is never served from the cache.

    Returns:
        The raw table, shape (n_rows, n_columns), stored as snappy Parquet in row groups
        (``materializers/table_materializer.py``), and the data version
        (``materializers/typed_records.py`` stores it as JSON, shown as a table).

    Raises:
        DataValidationError: If the file is missing (and cannot be pulled), empty, unreadable,
            has duplicate column names, or its md5 differs from its ``.dvc`` pointer file.
    """
    with record_failure("ingest_data"):
        file, origin = locate_data_file(data_config.path, Path(source_utils.get_source_root()))
        if origin != "checkout":
            logger.info("Got %s through DVC (remote %s)", data_config.path, origin)
        version = resolve_data_version(
            file,
            recorded_path=data_config.path,
            dvc_remote=None if origin == "checkout" else origin,
        )
        if data_fingerprint is not None and fingerprint_md5(data_fingerprint) != version.md5:
            logger.warning(
                "%s changed between pipeline compilation and ingestion (md5 %s → %s)",
                data_config.path,
                fingerprint_md5(data_fingerprint),
                version.md5,
            )
        frame = load_table(data_config.model_copy(update={"path": str(file)}))
        logger.info(
            "Ingested %s: %d rows x %d columns, md5 %s, DVC-tracked: %s",
            data_config.path,
            len(frame),
            frame.shape[1],
            version.md5,
            version.dvc_tracked,
        )
        record = version.to_dict()
        log_metadata(metadata={"data_version": record})
        log_metadata(
            metadata={"data_version": record},
            run_id_name_or_prefix=get_step_context().pipeline_run.id,
        )
        mlflow.set_tags(
            {
                "data.path": version.path,
                "data.md5": version.md5,
                "data.size_bytes": str(version.size_bytes),
                "data.dvc_tracked": str(version.dvc_tracked),
                "data.dvc_remote": version.dvc_remote or "none",
                "git_commit": version.git_commit,
                "git_dirty": str(version.git_dirty),
            }
        )
        return frame, version
