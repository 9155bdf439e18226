"""Reading a stored table a column or a row group at a time, instead of whole.

The ingested table (``raw_data``) is stored as one Parquet file in row groups of 131,072 rows
(``materializers/table_materializer.py``). :class:`ParquetTable` opens it through ZenML's
``fileio`` (a local path or any artifact store's URI, S3 included) and hands out one column, or
one row group's chosen columns, as pandas objects with the dtypes the table was written with
(pyarrow applies the file's pandas metadata: ``Int64``, ``category`` and text columns come back as
they went in; a ``category`` column of numbers, which pyarrow reads back as plain numbers, is made
a ``category`` again by :mod:`tabular_classifier.parquet_categories`).
Each read hands the memory Arrow's pool kept back to the operating system
(:mod:`tabular_classifier.arrow_memory`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
from zenml.io import fileio

from tabular_classifier.arrow_memory import release_arrow_memory
from tabular_classifier.parquet_categories import restore_categories


class ParquetTable:
    """A Parquet file read by column or by row group; the file stays open until :meth:`close`.

    Args:
        path: The file: a local path or an artifact store URI (``s3://...``).

    Attributes:
        path: As given, for messages.
        n_rows: Rows in the file.
        columns: Its column names (the pandas index is not one of them).
        group_rows: Rows in each row group, in file order.

    Raises:
        FileNotFoundError: If there is no file at ``path``.
        pyarrow.ArrowInvalid: If it is not a Parquet file.
    """

    def __init__(self, path: str) -> None:
        if not fileio.exists(path):
            raise FileNotFoundError(f"{path}: table file missing")
        self.path = path
        self._handle: Any = fileio.open(path, "rb")
        try:
            self._file = pq.ParquetFile(self._handle)
        except Exception:
            self._handle.close()
            raise
        meta = self._file.metadata
        self.n_rows: int = int(meta.num_rows)
        self.group_rows: list[int] = [
            int(meta.row_group(i).num_rows) for i in range(meta.num_row_groups)
        ]
        # A stored index is a column named in the pandas metadata; a RangeIndex is a dict there.
        pandas_meta = self._file.schema_arrow.pandas_metadata or {}
        self._pandas_meta = pandas_meta
        index_columns = {c for c in pandas_meta.get("index_columns", []) if isinstance(c, str)}
        self.columns: list[str] = [
            name for name in self._file.schema_arrow.names if name not in index_columns
        ]

    def column(self, name: str) -> pd.Series:
        """One whole column: n_rows values, in file order, with a RangeIndex.

        Memory: that column only (8 bytes per row for a float64 column).

        Raises:
            KeyError: If the table has no column ``name`` (naming the file).
        """
        self._check([name])
        frame = restore_categories(self._file.read(columns=[name]).to_pandas(), self._pandas_meta)
        release_arrow_memory()
        return frame[name].reset_index(drop=True)

    def row_groups(self, columns: Sequence[str]) -> Iterator[tuple[int, pd.DataFrame]]:
        """The chosen columns, one row group at a time.

        Yields:
            (position of the group's first row in the table, the group's rows as a DataFrame
            with a RangeIndex starting at 0).

        Raises:
            KeyError: If the table lacks one of ``columns`` (naming the file).
        """
        self._check(columns)
        start = 0
        for index, rows in enumerate(self.group_rows):
            frame = self._file.read_row_group(index, columns=list(columns)).to_pandas()
            frame = restore_categories(frame, self._pandas_meta)
            release_arrow_memory()
            yield start, frame.reset_index(drop=True)
            start += rows

    def close(self) -> None:
        """Close the file and hand Arrow's unused memory back."""
        self._handle.close()
        release_arrow_memory()

    def __enter__(self) -> ParquetTable:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check(self, columns: Sequence[str]) -> None:
        missing = [name for name in columns if name not in self.columns]
        if missing:
            raise KeyError(f"{self.path}: no column(s) {missing}; it has {self.columns}")
