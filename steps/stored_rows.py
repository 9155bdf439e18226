"""The rows of a split, for steps that take the ingested table (``raw_data``) unloaded.

``raw_data`` is stored as Parquet in row groups (``materializers/table_materializer.py``). A step
that declares it as an ``UnmaterializedArtifact`` gets its URI, not a DataFrame, and reads only
the rows it needs a row group at a time (``DataSplit.take_stored``); the whole table is never in
its memory. A table stored by another materializer (a ``raw_data`` written before this one, by
ZenML's pandas materializer) is loaded whole, as before.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from zenml.artifacts.unmaterialized_artifact import UnmaterializedArtifact

from materializers.table_materializer import ParquetTableMaterializer
from tabular_classifier.feature_schema import FeatureSchema
from tabular_classifier.parquet_table import ParquetTable
from tabular_classifier.splits import DataSplit


def split_rows(
    raw_data: UnmaterializedArtifact,
    data_split: DataSplit,
    names: Sequence[str],
    schema: FeatureSchema,
) -> dict[str, pd.DataFrame]:
    """The rows of the named splits of the ingested table.

    Args:
        raw_data: The ``raw_data`` artifact, unloaded.
        data_split: The split of the same data version.
        names: ``train``, ``val`` and/or ``test``.
        schema: The feature schema (numeric features written as text become numbers).

    Returns:
        Each name's rows, as ``DataSplit.take`` gives them.

    Raises:
        ValueError: If the table is of another data version than the split.
        FileNotFoundError: If the stored table file is missing.
    """
    path = ParquetTableMaterializer.table_path(raw_data)
    if path is None:
        table = raw_data.load()
        return {name: data_split.take(table, name, schema) for name in names}
    with ParquetTable(path) as stored:
        return data_split.take_stored(stored, names, schema)
