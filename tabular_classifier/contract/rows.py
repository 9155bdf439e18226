"""Rows that passed a row contract, in canonical form, and their views for each consumer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from tabular_classifier.contract.row_contract import RowContract


class ParsedRows:
    """Rows that passed the contract, in canonical form.

    Built either from canonical JSON rows (the gateway's and Seldon's path: the arrays are made
    on first use, so a request that is only forwarded never pays for them) or from arrays (the
    DataFrame path).

    Args:
        contract: The contract that parsed them.
        numeric: float64 (n_rows, n_numeric), or None to build it from ``rows``.
        categorical: object (n_rows, n_other), or None to build it from ``rows``.
        index: Row labels (positions for JSON rows, the frame's index otherwise); None for the
            positions 0..n-1.
        rows: Canonical JSON rows in the contract's order, if known.
    """

    def __init__(
        self,
        contract: RowContract,
        numeric: np.ndarray | None,
        categorical: np.ndarray | None,
        index: Any,
        rows: list[list[Any]] | None = None,
    ) -> None:
        if (numeric is None or categorical is None) and rows is None:
            raise ValueError("parsed rows need arrays or canonical rows")
        self.contract = contract
        self._numeric = numeric
        self._categorical = categorical
        self._index = index
        self._rows = rows

    @classmethod
    def from_rows(cls, contract: RowContract, rows: list[list[Any]]) -> ParsedRows:
        """Rows of canonical JSON values in the contract's order, already checked."""
        return cls(contract, None, None, None, rows)

    @property
    def index(self) -> Any:
        """Row labels: given, or the positions 0..n-1 made on first use.

        A pandas ``RangeIndex`` costs more than parsing a one-row request's numbers.
        """
        if self._index is None:
            self._index = pd.RangeIndex(self.n_rows)
        return self._index

    @index.setter
    def index(self, value: Any) -> None:
        self._index = value

    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return len(self._rows) if self._rows is not None else int(self.numeric.shape[0])

    @property
    def numeric(self) -> np.ndarray:
        """float64 (n_rows, n_numeric): the float and integer features, NaN for null."""
        if self._numeric is None:
            assert self._rows is not None
            n = self.contract.n_numeric
            self._numeric = np.array([row[:n] for row in self._rows], dtype=np.float64).reshape(
                len(self._rows), n
            )
        return self._numeric

    @property
    def categorical(self) -> np.ndarray:
        """Object (n_rows, n_other): canonical text of the booleans and categoricals.

        ``"True"``/``"False"`` for booleans; None for null.
        """
        if self._categorical is None:
            assert self._rows is not None
            n = self.contract.n_numeric
            width = len(self.contract.features) - n
            out = np.empty((len(self._rows), width), dtype=object)
            booleans = [
                j for j, spec in enumerate(self.contract.features[n:]) if spec.type == "boolean"
            ]
            for i, row in enumerate(self._rows):
                texts = row[n:]
                if booleans:
                    texts = list(texts)
                    for j in booleans:
                        if texts[j] is not None:
                            texts[j] = "True" if texts[j] else "False"
                out[i, :] = texts
            self._categorical = out
        return self._categorical

    def take(self, positions: np.ndarray) -> ParsedRows:
        """The rows at ``positions`` (0-based), with their labels."""
        rows = None if self._rows is None else [self._rows[int(p)] for p in positions]
        return ParsedRows(
            self.contract,
            self.numeric[positions],
            self.categorical[positions],
            self.index[positions],
            rows,
        )

    def unknown_mask(self) -> np.ndarray:
        """Bool (n_rows, n_other): a boolean or categorical value not seen in training."""
        categorical = self.categorical
        mask = np.zeros(categorical.shape, dtype=bool)
        for j, known in enumerate(self.contract.known_categories):
            mask[:, j] = [text is not None and text not in known for text in categorical[:, j]]
        return mask

    def unknown_categories(self) -> dict[str, int]:
        """Per column, how many values were categories never seen in training (non-zero only)."""
        counts = self.unknown_mask().sum(axis=0)
        names = self.contract.categorical_features
        return {names[j]: int(count) for j, count in enumerate(counts) if count}

    def unknown_per_row(self) -> np.ndarray:
        """int64 (n_rows,): how many of each row's values were unseen categories."""
        result: np.ndarray = self.unknown_mask().sum(axis=1).astype(np.int64)
        return result

    def json_rows(self) -> list[list[Any]]:
        """Rows of canonical JSON values in the contract's order.

        float → float, integer → int, boolean → bool, categorical → str; null → None. Parsing
        them again gives the same rows.
        """
        if self._rows is not None:
            return self._rows
        features = self.contract.features
        if self.contract.n_numeric == len(features):  # all numbers: one tolist, then fixes
            rows = self.numeric.tolist()
            for k in [k for k, spec in enumerate(features) if spec.type == "integer"]:
                for row in rows:
                    if row[k] == row[k]:  # not NaN
                        row[k] = int(row[k])
            for i, k in np.argwhere(np.isnan(self.numeric)).tolist():
                rows[i][k] = None
            self._rows = rows
            return rows
        columns: list[list[Any]] = []
        for k, spec in enumerate(self.contract.features):
            if spec.is_numeric:
                values = self.numeric[:, k]
                null = np.isnan(values)
                cast = int if spec.type == "integer" else float
                columns.append([None if n else cast(v) for v, n in zip(values, null, strict=True)])
            else:
                texts = self.categorical[:, k - self.contract.n_numeric]
                if spec.type == "boolean":
                    columns.append([None if t is None else t == "True" for t in texts])
                else:
                    columns.append(list(texts))
        self._rows = [list(row) for row in zip(*columns, strict=True)]
        return self._rows

    def analysis_frame(self) -> pd.DataFrame:
        """Features as float64 (numbers) and object text (the rest), NaN for null."""
        data: dict[str, Any] = {}
        for k, name in enumerate(self.contract.names):
            if k < self.contract.n_numeric:
                data[name] = self.numeric[:, k]
            else:
                column = self.categorical[:, k - self.contract.n_numeric].copy()
                column[pd.isna(column)] = np.nan
                data[name] = column
        return pd.DataFrame(data, index=self.index)

    def storage_frame(self) -> pd.DataFrame:
        """Features in their logical dtypes: float64, Int64, boolean, object (str, None)."""
        data: dict[str, Any] = {}
        for k, spec in enumerate(self.contract.features):
            if spec.type == "float":
                data[spec.name] = pd.Series(self.numeric[:, k], index=self.index)
            elif spec.type == "integer":
                data[spec.name] = pd.Series(self.numeric[:, k], index=self.index).astype("Int64")
            else:
                texts = self.categorical[:, k - self.contract.n_numeric]
                if spec.type == "boolean":
                    values = [None if t is None else t == "True" for t in texts]
                    data[spec.name] = pd.Series(values, index=self.index, dtype="boolean")
                else:
                    data[spec.name] = pd.Series(texts, index=self.index, dtype=object)
        return pd.DataFrame(data, index=self.index)
