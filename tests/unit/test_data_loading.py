"""load_table: reading CSV and Parquet, and every way a file can be unusable."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tabular_classifier.config import DataConfig
from tabular_classifier.data import load_table
from tabular_classifier.errors import DataValidationError


def _cfg(path: Path, **kwargs: object) -> DataConfig:
    return DataConfig(path=str(path), target="y", positive_label=1, **kwargs)  # type: ignore[arg-type]


def _raises(cfg: DataConfig, detail: str, column: str | None = None) -> DataValidationError:
    with pytest.raises(DataValidationError) as info:
        load_table(cfg)
    error = info.value
    assert error.source == cfg.path
    assert error.column == column
    assert str(error).startswith(cfg.path), "the message must name the file"
    assert detail in str(error)
    return error


def test_reads_csv(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,b,y\n1,x,0\n2,y,1\n")
    frame = load_table(_cfg(path))
    assert list(frame.columns) == ["a", "b", "y"]
    assert frame["a"].tolist() == [1, 2]
    assert list(frame.index) == [0, 1]


def test_reads_gzipped_csv(tmp_path: Path) -> None:
    path = tmp_path / "t.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("a,y\n1,0\n2,1\n")
    assert load_table(_cfg(path))["a"].tolist() == [1, 2]


def test_reads_parquet(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pd.DataFrame({"a": [1.5, 2.5], "y": [0, 1]}).to_parquet(path)
    assert load_table(_cfg(path))["a"].tolist() == [1.5, 2.5]


def test_explicit_format_overrides_suffix(tmp_path: Path) -> None:
    path = tmp_path / "t.data"
    path.write_text("a,y\n1,0\n")
    assert len(load_table(_cfg(path, file_format="csv"))) == 1


def test_missing_file(tmp_path: Path) -> None:
    _raises(_cfg(tmp_path / "absent.csv"), "file not found")


def test_directory_instead_of_file(tmp_path: Path) -> None:
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    _raises(_cfg(folder), "not a regular file")


@pytest.mark.parametrize("name", ["empty.csv", "empty.parquet"])
def test_zero_byte_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"")
    _raises(_cfg(path), "the file is empty (0 bytes)")


def test_blank_lines_only(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("\n\n")
    _raises(_cfg(path), "the file is empty")


def test_header_without_rows(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("a,b,y\n")
    _raises(_cfg(path), "no data rows")


def test_parquet_without_rows(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pd.DataFrame({"a": pd.Series([], dtype=float), "y": pd.Series([], dtype=int)}).to_parquet(path)
    _raises(_cfg(path), "no data rows")


def test_duplicate_csv_column_is_named(tmp_path: Path) -> None:
    # pandas alone would silently rename the second "age" to "age.1".
    path = tmp_path / "dupes.csv"
    path.write_text("age,income,age,y\n1,2,3,0\n4,5,6,1\n")
    error = _raises(_cfg(path), "duplicate column name (appears 2 times", column="age")
    assert "column 'age'" in str(error)


def test_duplicate_csv_column_after_bom_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffage,age,y\n1,2,0\n".encode())
    _raises(_cfg(path), "duplicate column name", column="age")


def test_duplicate_parquet_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "dupes.parquet"
    table = pa.table([pa.array([1, 2]), pa.array([3, 4]), pa.array([0, 1])], names=["a", "a", "y"])
    pq.write_table(table, path)
    _raises(_cfg(path), "duplicate column name", column="a")


def test_ragged_csv_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("a,y\n1,0\n2,1,3,4\n")
    _raises(_cfg(path), "cannot parse the CSV file")


def test_binary_garbage_csv_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "garbage.csv"
    path.write_bytes(b"\xff\xfe\x00\x81\x82" * 50)
    _raises(_cfg(path), "cannot read the CSV header")


def test_corrupt_parquet_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.parquet"
    path.write_bytes(b"not a parquet file at all")
    _raises(_cfg(path), "cannot read the Parquet file")
