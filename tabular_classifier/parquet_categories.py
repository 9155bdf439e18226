"""pandas ``category`` columns that a Parquet round trip turns back into plain numbers.

pandas writes a ``category`` column to Parquet as a dictionary-encoded column and records
``"pandas_type": "categorical"`` in the file's pandas metadata. pyarrow (25.x) restores the
``category`` dtype on reading only when the dictionary's values are text: a column of integer
(or float, or boolean) categories comes back as ``int64`` (or ``float64``, ``bool``). The data
contract infers a numeric feature from an integer column, so a user's categorical column of codes
(``1``, ``2``, ``3`` meaning three kinds of thing) would silently become a number, in the user's
own Parquet file and again in every artifact this project stores as Parquet.

:func:`restore_categories` puts the dtype back from the metadata, wherever a table is read from
Parquet: ``tabular_classifier.table_reader`` (the user's file), the table materializer (stored
artifacts) and :class:`~tabular_classifier.parquet_table.ParquetTable` (column and row-group
reads). The categories are the values present, in sorted order (the metadata records only how
many there were and whether they were ordered); values and nulls are unchanged.
"""

from __future__ import annotations

from typing import Any

import pandas as pd


def categorical_columns(pandas_metadata: dict[str, Any] | None) -> dict[str, bool]:
    """The columns a Parquet file's pandas metadata records as ``category``.

    Args:
        pandas_metadata: ``pyarrow.Schema.pandas_metadata`` (None for a file not written by
            pandas).

    Returns:
        Column name to whether its categories were ordered; index columns are included, under
        their stored names.
    """
    found: dict[str, bool] = {}
    for column in (pandas_metadata or {}).get("columns", []):
        name = column.get("name")
        if isinstance(name, str) and column.get("pandas_type") == "categorical":
            found[name] = bool((column.get("metadata") or {}).get("ordered", False))
    return found


def restore_categories(frame: pd.DataFrame, pandas_metadata: dict[str, Any] | None) -> pd.DataFrame:
    """Give back the ``category`` dtype to columns that were written as categories.

    Args:
        frame: A table just read from Parquet, any shape.
        pandas_metadata: The file's pandas metadata (``schema.pandas_metadata``).

    Returns:
        ``frame`` itself when nothing was lost; otherwise a shallow copy whose lost category
        columns are ``category`` again (categories: the values present, sorted; nulls stay null).
    """
    lost = {
        name: ordered
        for name, ordered in categorical_columns(pandas_metadata).items()
        if name in frame.columns and not isinstance(frame[name].dtype, pd.CategoricalDtype)
    }
    if not lost:
        return frame
    restored = {
        name: frame[name].astype(pd.CategoricalDtype(ordered=ordered))
        for name, ordered in lost.items()
    }
    return frame.assign(**restored)
