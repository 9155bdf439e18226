"""``describe_table`` (the raw-data artifact's ``describe.csv``) equals pandas' ``describe``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from materializers.table_materializer import describe_table
from tests.conftest import core_mixed_table


def _numeric_table(n_rows: int = 5_000) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    with_nulls = rng.normal(3.0, 2.0, n_rows)
    with_nulls[rng.random(n_rows) < 0.2] = np.nan
    nullable = pd.array(rng.integers(-5, 5, n_rows), dtype="Int64")
    nullable[rng.random(n_rows) < 0.3] = pd.NA
    return pd.DataFrame(
        {
            "x": rng.normal(size=n_rows),
            "with_nulls": with_nulls,
            "code": rng.integers(0, 1_000, n_rows),
            "small": rng.integers(0, 3, n_rows).astype(np.uint8),
            "nullable": nullable,
            "all_null": np.full(n_rows, np.nan),
            "flag": rng.random(n_rows) < 0.5,  # bool: left out, as describe() leaves it out
            "city": rng.choice(["a", "b"], n_rows),
        }
    )


@pytest.mark.parametrize(
    "table",
    [
        _numeric_table(),
        _numeric_table(1),  # one row: std is NaN
        core_mixed_table(),  # category, string, nullable boolean columns
    ],
    ids=["numeric-with-nulls", "one-row", "mixed"],
)
def test_equals_pandas_describe(table: pd.DataFrame) -> None:
    expected = table.describe()
    got = describe_table(table)
    assert list(got.columns) == list(expected.columns)
    assert list(got.index) == list(expected.index)
    pd.testing.assert_frame_equal(got, expected.astype(np.float64), rtol=1e-12, atol=0)


def test_numbers_by_hand() -> None:
    got = describe_table(pd.DataFrame({"v": [4.0, np.nan, 1.0, 2.0, 3.0]}))["v"]
    # Linear interpolation on the non-null values 1..4: quartiles 1.75, 2.5, 3.25.
    assert got.tolist()[:2] == [4.0, 2.5]
    assert got["std"] == pytest.approx(np.sqrt(5 / 3), rel=1e-15)
    assert got[["min", "25%", "50%", "75%", "max"]].tolist() == [1.0, 1.75, 2.5, 3.25, 4.0]


@pytest.mark.parametrize(
    "table",
    [
        pd.DataFrame({"city": ["a", "b", "a"]}),  # no numeric column: count/unique/top/freq
        pd.DataFrame([[1.0, 2.0]], columns=["v", "v"]),  # duplicate names
        pd.DataFrame({"v": [1.0], "d": pd.to_timedelta([1], unit="s")}),
    ],
    ids=["text-only", "duplicate-names", "timedelta"],
)
def test_falls_back_to_pandas(table: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(describe_table(table), table.describe())
