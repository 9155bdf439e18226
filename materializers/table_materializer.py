"""Materializer for the ingested table (``raw_data``): Parquet, snappy, fixed row groups.

ZenML's own pandas materializer writes ``df.parquet.gzip``: gzip at its default level, one call,
pyarrow's default row groups. On issue 16's 1M x 30 table that made ingestion the slowest step
after training (12 s, most of it compressing); gzip buys little on floating-point data. This one
writes ``table.parquet`` with snappy (pyarrow's default codec, several hundred MB/s) in row groups
of :data:`ROW_GROUP_ROWS` rows, so that a reader can take the table a row group at a time.

The dashboard gets the same two CSV views as ZenML's materializer: ``describe.csv``
(``DataFrame.describe()`` of every row, computed by :func:`describe_table`) and ``sample.csv``
(the first 10 rows). It is attached to
``raw_data`` only (``ingest_data``'s ``output_materializers``); other DataFrames keep ZenML's.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from zenml.enums import ArtifactType, VisualizationType
from zenml.io import fileio
from zenml.materializers.base_materializer import BaseMaterializer
from zenml.metadata.metadata_types import MetadataType

from tabular_classifier.arrow_memory import release_arrow_memory
from tabular_classifier.parquet_categories import restore_categories

TABLE_NAME = "table.parquet"
ROW_GROUP_ROWS = 131_072
"""Rows per Parquet row group. Our choice: 31 float64 columns make a 32 MB group, small next to
the table at 1M rows and more, large enough that per-group overhead is negligible."""
SAMPLE_ROWS = 10
DESCRIBE_INDEX = ("count", "mean", "std", "min", "25%", "50%", "75%", "max")


def describe_table(data: pd.DataFrame) -> pd.DataFrame:
    """``data.describe()``, computed a column at a time in NumPy where that gives the same table.

    pandas' ``describe`` took 1.6 s on issue 16's 1M x 31 table (its quantiles go through a
    generic NaN-aware path); ``np.percentile`` on each column's non-null values, with the same
    linear interpolation, takes about a third of that. Used when every column that ``describe``
    reports on is a plain or nullable integer or float column (booleans and text are left out,
    as ``describe`` leaves them out when numeric columns exist), and the column names are
    unique; otherwise this is ``data.describe()`` itself.

    Args:
        data: Any frame.

    Returns:
        The rows :data:`DESCRIBE_INDEX` (count, mean, sample std with ddof=1, min, quartiles,
        max) by numeric column, float64; equal to ``data.describe()`` up to float rounding in
        the mean and std (``tests/unit/test_table_describe.py``).
    """
    numeric = data.select_dtypes(include="number")
    if numeric.shape[1] == 0 or not data.columns.is_unique:
        return data.describe()
    if any(dtype.kind not in "iuf" for dtype in numeric.dtypes):
        return data.describe()
    stats: dict[Any, list[float]] = {}
    for name in numeric.columns:
        values = numeric[name].to_numpy(dtype=np.float64, na_value=np.nan)
        values = values[~np.isnan(values)]
        if values.size == 0:
            stats[name] = [0.0, *([np.nan] * 7)]
            continue
        q25, q50, q75 = np.percentile(values, [25, 50, 75])
        std = float(values.std(ddof=1)) if values.size > 1 else np.nan
        stats[name] = [float(values.size), values.mean(), std, values.min(), q25, q50, q75]
        stats[name].append(values.max())
    return pd.DataFrame(stats, index=list(DESCRIBE_INDEX), dtype=np.float64)


class ParquetTableMaterializer(BaseMaterializer):
    """Stores a ``pd.DataFrame`` as ``table.parquet`` (snappy, row groups of 131,072 rows).

    Float columns are stored plain, the others dictionary-encoded. Named per output for every
    table a step returns (``raw_data``, ``reference_data``, ``inference_batch``, ``predictions``,
    ``current_window``): ZenML's pandas materializer failed to extract its metadata (``float()
    argument must be ... not 'NoneType'``, a warning on every batch run) from any nullable
    ``Int64``/``Float64``/``boolean`` column holding a null.
    """

    SKIP_REGISTRATION: ClassVar[bool] = True  # named per output, never the DataFrame default
    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (pd.DataFrame,)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.DATA

    def save(self, data: pd.DataFrame) -> None:
        """Write the table.

        Args:
            data: Any frame pyarrow can store; the index is kept as pandas' metadata (a
                RangeIndex costs nothing).
        """
        # Dictionary encoding for everything but floats: a float column of mostly distinct
        # values overflows the dictionary in every row group, and the abandoned dictionary pages
        # stay in the file (+22 % on issue 16's 1M x 30 table).
        encoded = [str(c) for c, dtype in data.dtypes.items() if dtype.kind != "f"]
        with fileio.open(os.path.join(self.uri, TABLE_NAME), "wb") as handle:
            data.to_parquet(
                handle,
                engine="pyarrow",
                compression="snappy",
                row_group_size=ROW_GROUP_ROWS,
                use_dictionary=encoded,
            )
        release_arrow_memory()

    def load(self, data_type: type[Any]) -> pd.DataFrame:
        """Read the table back.

        Raises:
            FileNotFoundError: If ``table.parquet`` is missing under the artifact URI.
        """
        path = os.path.join(self.uri, TABLE_NAME)
        if not fileio.exists(path):
            raise FileNotFoundError(f"{path}: table file missing")
        with fileio.open(path, "rb") as handle:
            arrow_table = pq.read_table(handle)
        table = restore_categories(arrow_table.to_pandas(), arrow_table.schema.pandas_metadata)
        del arrow_table
        release_arrow_memory()
        return table

    @classmethod
    def table_path(cls, artifact: Any) -> str | None:
        """The Parquet file of an artifact this materializer stored, to read without loading it.

        Args:
            artifact: A ZenML artifact version (an ``UnmaterializedArtifact`` step input).

        Returns:
            ``<uri>/table.parquet``, or None when another materializer stored the artifact (a
            ``raw_data`` written before this one existed, by ZenML's pandas materializer).
        """
        materializer = getattr(artifact, "materializer", None)
        import_path = getattr(materializer, "import_path", "")
        if not import_path.endswith(f".{cls.__name__}"):
            return None
        return os.path.join(str(artifact.uri), TABLE_NAME)

    def save_visualizations(self, data: pd.DataFrame) -> dict[str, VisualizationType]:
        """Write ``describe.csv`` and ``sample.csv`` (the first 10 rows)."""
        views: dict[str, VisualizationType] = {}
        for name, frame in (("describe.csv", describe_table(data)), ("sample.csv", data.head(10))):
            path = os.path.join(self.uri, name)
            with fileio.open(path, "w") as handle:
                handle.write(frame.to_csv())
            views[path] = VisualizationType.CSV
        return views

    def extract_metadata(self, data: pd.DataFrame) -> dict[str, MetadataType]:
        """Rows and columns, shown beside the artifact."""
        return {"shape": tuple(int(n) for n in data.shape), "n_rows": int(len(data))}
