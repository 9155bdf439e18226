"""The train / validation / test split as row indices into the one stored copy of the table.

:func:`tabular_classifier.split_assignment.split_codes` decides each row's split;
:class:`DataSplit` keeps those decisions (one int8 per row) with the data version they belong to
and a per-split summary, instead of three more copies of the table. A step that needs a split's
rows takes them from the ingested table with :meth:`DataSplit.take`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tabular_classifier.config import SplitConfig
from tabular_classifier.data_validation import coerce_numeric_text
from tabular_classifier.feature_schema import FeatureSchema
from tabular_classifier.labels import encode_target
from tabular_classifier.split_assignment import SPLIT_CODES, split_codes

if TYPE_CHECKING:
    from tabular_classifier.parquet_table import ParquetTable

SPLIT_NAMES = {"train": "train", "val": "validation", "test": "test"}
"""Code name of each split (:data:`tabular_classifier.data.SPLIT_CODES`) and its display name."""


@dataclass(frozen=True, eq=False)
class DataSplit:
    """Which split every row of one data version belongs to.

    Attributes:
        codes: int8 array of shape (n_rows,), one :data:`SPLIT_CODES` value per row of the
            ingested table, in file order.
        data_md5: md5 of the data file the codes index (``DataVersion.md5``).
        data_path: That file's path as configured, for messages and the dashboard.
        split: The fractions, salt and key columns the codes were computed with.
        positives: Rows of the positive class in each split, keyed ``train``/``val``/``test``.
    """

    codes: np.ndarray
    data_md5: str
    data_path: str
    split: SplitConfig
    positives: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Check the codes.

        Raises:
            ValueError: If ``codes`` is not 1-D, not integer, or holds a value that is not a
                split code, or ``positives`` names an unknown split.
        """
        codes = np.asarray(self.codes)
        if codes.ndim != 1 or not np.issubdtype(codes.dtype, np.integer):
            raise ValueError(f"split codes must be a 1-D integer array, got {codes.dtype}")
        if codes.size and not np.isin(codes, list(SPLIT_CODES.values())).all():
            raise ValueError(f"split codes must be in {sorted(SPLIT_CODES.values())}")
        object.__setattr__(self, "codes", codes.astype(np.int8, copy=False))
        unknown = set(self.positives) - set(SPLIT_CODES)
        if unknown:
            raise ValueError(f"positives for unknown splits: {sorted(unknown)}")

    @classmethod
    def compute(
        cls,
        df: pd.DataFrame,
        schema: FeatureSchema,
        split: SplitConfig,
        data_md5: str,
        source: str,
    ) -> DataSplit:
        """Split a validated table (see :func:`tabular_classifier.data.split_codes`).

        Args:
            df: The ingested table, shape (n_rows, n_columns).
            schema: Its schema.
            split: Fractions, salt and key columns.
            data_md5: md5 of the file ``df`` was read from.
            source: The file, for error messages and the summary.

        Returns:
            The split, with the positives of each split counted.

        Raises:
            DataValidationError: As :func:`~tabular_classifier.data.split_codes`.
        """
        codes = split_codes(df, schema, split, source)
        y = encode_target(df[schema.target], schema)
        positives = {
            name: int(np.count_nonzero(y[codes == code])) for name, code in SPLIT_CODES.items()
        }
        return cls(codes, data_md5, source, split, positives)

    @property
    def n_rows(self) -> int:
        """Rows in the table the codes index."""
        return int(self.codes.size)

    @property
    def counts(self) -> dict[str, int]:
        """Rows in each split, keyed ``train``/``val``/``test``."""
        tally = np.bincount(self.codes, minlength=len(SPLIT_CODES))
        return {name: int(tally[code]) for name, code in SPLIT_CODES.items()}

    def check_table_rows(self, n_rows: int) -> None:
        """Check that a table of ``n_rows`` rows is the one the codes index.

        Raises:
            ValueError: If the counts differ (another data version), naming the file and md5.
        """
        if n_rows != self.n_rows:
            raise ValueError(
                f"{self.data_path}: the split indexes {self.n_rows} rows (md5 {self.data_md5}) "
                f"but the table has {n_rows}: they are different data versions"
            )

    def indices(self, name: str) -> np.ndarray:
        """Increasing int64 row positions of split ``name`` (``train``, ``val`` or ``test``).

        Raises:
            KeyError: If ``name`` is not a split.
        """
        if name not in SPLIT_CODES:
            raise KeyError(f"unknown split {name!r}; expected one of {sorted(SPLIT_CODES)}")
        return np.flatnonzero(self.codes == SPLIT_CODES[name]).astype(np.int64)

    def take(self, df: pd.DataFrame, name: str, schema: FeatureSchema) -> pd.DataFrame:
        """The rows of split ``name`` from the table the codes were computed on.

        Args:
            df: The ingested table (the same data version), shape (n_rows, n_columns).
            name: ``train``, ``val`` or ``test``.
            schema: Its schema; numeric features written as text become numbers, as they did
                when the split was computed (:func:`~tabular_classifier.data.coerce_numeric_text`).

        Returns:
            The split's rows, in file order, with a fresh RangeIndex.

        Raises:
            ValueError: If ``df`` has a different number of rows than the codes (another data
                version).
            KeyError: If ``name`` is not a split.
        """
        self.check_table_rows(len(df))
        rows = df.take(self.indices(name))
        rows.index = pd.RangeIndex(len(rows))  # in place: reset_index would copy the rows again
        return coerce_numeric_text(rows, list(schema.numeric_features), self.data_path)

    def take_stored(
        self, table: ParquetTable, names: Sequence[str], schema: FeatureSchema
    ) -> dict[str, pd.DataFrame]:
        """The rows of several splits, read from the stored table one row group at a time.

        What :meth:`take` returns for each name, without the whole table in memory: each row
        group's rows of the wanted splits are kept, the rest dropped with the group.

        Args:
            table: The stored table of the same data version.
            names: Splits to take (``train``, ``val``, ``test``).
            schema: Its schema, as :meth:`take`.

        Returns:
            Each name's rows, in file order, with a fresh RangeIndex and every column.

        Raises:
            ValueError: If the table's row count differs from the codes' (another data version).
            KeyError: If a name is not a split.
        """
        self.check_table_rows(table.n_rows)
        unknown = [name for name in names if name not in SPLIT_CODES]
        if unknown:
            raise KeyError(f"unknown split(s) {unknown}; expected some of {sorted(SPLIT_CODES)}")
        pieces: dict[str, list[pd.DataFrame]] = {name: [] for name in names}
        empty = pd.DataFrame()
        for start, group in table.row_groups(table.columns):
            codes = self.codes[start : start + len(group)]
            empty = group.iloc[:0]
            for name in names:
                rows = group[codes == SPLIT_CODES[name]]
                if len(rows):
                    pieces[name].append(rows)
        taken: dict[str, pd.DataFrame] = {}
        for name in names:
            parts = pieces.pop(name)
            rows = pd.concat(parts, ignore_index=True) if parts else empty.copy()
            del parts
            taken[name] = coerce_numeric_text(rows, list(schema.numeric_features), self.data_path)
        return taken

    def to_dict(self) -> dict[str, Any]:
        """The split without the codes, JSON-safe: what the dashboard and metadata show.

        Returns:
            ``data_path``, ``data_md5``, ``n_rows``, ``split`` (the config as a dict),
            ``counts`` and ``positives`` (per split).
        """
        return {
            "data_path": self.data_path,
            "data_md5": self.data_md5,
            "n_rows": self.n_rows,
            "split": self.split.model_dump(),
            "counts": self.counts,
            "positives": dict(self.positives),
        }

    @classmethod
    def from_dict(cls, summary: Mapping[str, Any], codes: np.ndarray) -> DataSplit:
        """Rebuild a split from :meth:`to_dict` and its codes.

        Raises:
            ValueError: If the summary's ``n_rows`` or ``counts`` disagree with ``codes``, or
                a key is missing (the message names it).
        """
        try:
            split = cls(
                codes,
                str(summary["data_md5"]),
                str(summary["data_path"]),
                SplitConfig.model_validate(summary["split"]),
                {str(k): int(v) for k, v in summary["positives"].items()},
            )
            expected_rows, expected_counts = int(summary["n_rows"]), dict(summary["counts"])
        except KeyError as exc:
            raise ValueError(f"split summary lacks key {exc}") from exc
        if split.n_rows != expected_rows or split.counts != expected_counts:
            raise ValueError(
                f"split codes ({split.n_rows} rows, {split.counts}) disagree with their "
                f"summary ({expected_rows} rows, {expected_counts})"
            )
        return split

    def to_markdown(self) -> str:
        """The dashboard's view: one row per split with its rows, share and positives."""
        split = self.split
        lines = [
            f"# Data split of `{self.data_path}`",
            "",
            f"{self.n_rows:,} rows, data md5 `{self.data_md5}`. Stored as one split code per "
            "row; the rows themselves stay in the ingested table (`raw_data`).",
            "",
            f"Rule: a salted hash of each row's key (salt {split.random_state}, key "
            f"{', '.join(split.key_columns) if split.key_columns else 'features and target'}); "
            f"test fraction {split.test_size}, validation fraction {split.val_size}.",
            "",
            "| split | rows | share | positives | positive rate |",
            "|---|---|---|---|---|",
        ]
        for name, count in self.counts.items():
            positives = self.positives.get(name, 0)
            share = count / self.n_rows if self.n_rows else 0.0
            rate = positives / count if count else 0.0
            lines.append(
                f"| {SPLIT_NAMES[name]} | {count:,} | {share:.1%} | {positives:,} | {rate:.2%} |"
            )
        return "\n".join(lines) + "\n"
