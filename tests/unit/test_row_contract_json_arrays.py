"""JSON rows of an all-numeric contract: the one-array path (``columns.json_numbers``) agrees
with the per-value loop, value for value and error for error.

From ``columns.JSON_ARRAY_ROWS`` rows, ``RowContract.parse_rows`` tries one ``np.array`` over the
rows; anything it cannot vouch for (a bool, a string, a NaN, a huge integer, a bad row...) goes
to the per-value loop, so every refusal keeps its exact message, column, row and kind.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from serving.contract import RequestError, parse_rows
from tabular_classifier.contract import ParsedRows, RowContract
from tabular_classifier.contract import columns as column_checks
from tabular_classifier.contract.spec import FeatureSpec
from tabular_classifier.errors import InputValidationError

CONTRACT = RowContract(
    [
        FeatureSpec("radius", "float", lower=-10.0, upper=10.0),
        FeatureSpec("count", "integer", lower=-1e30, upper=1e30),
        FeatureSpec("area", "float"),
    ],
    ignored_columns=["target"],
)
NAMES = ["radius", "count", "area"]
N = column_checks.JSON_ARRAY_ROWS + 4


@contextmanager
def _per_value_loop() -> Iterator[None]:
    """The per-value loop for every batch size (the reference the array path must agree with)."""
    saved = column_checks.JSON_ARRAY_ROWS
    column_checks.JSON_ARRAY_ROWS = 10**9
    try:
        yield
    finally:
        column_checks.JSON_ARRAY_ROWS = saved


def _outcome(columns: list[str], rows: list[list[Any]]) -> tuple[Any, ...]:
    """(json rows, numeric array) of a valid batch, or the error's (message, column, row, kind)."""
    try:
        parsed = CONTRACT.parse_rows(columns, rows)
    except InputValidationError as exc:
        return ("error", str(exc), exc.column, exc.row, exc.kind)
    return ("rows", parsed.json_rows(), parsed.numeric.tolist())


def _both(columns: list[str], rows: list[list[Any]]) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    fast = _outcome(columns, [list(r) for r in rows])
    with _per_value_loop():
        reference = _outcome(columns, [list(r) for r in rows])
    return fast, reference


def _rows(n: int = N) -> list[list[Any]]:
    return [[float(i % 7) - 3.5, i * 10, 1e300 if i == 3 else float(i) * 0.25] for i in range(n)]


def _same(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    """Equal outcomes, NaN equal to NaN (the numeric arrays hold NaN for null)."""
    return json.dumps(a, default=str) == json.dumps(b, default=str) and [
        type(v) for row in (a[1] if a[0] == "rows" else []) for v in row
    ] == [type(v) for row in (b[1] if b[0] == "rows" else []) for v in row]


def test_a_valid_batch_takes_the_array_and_keeps_canonical_values() -> None:
    rows = _rows()
    rows[1] = [None, None, None]
    rows[2] = [2, 7.0, 5]  # an int in a float column, an integral float in the integer one
    parsed = CONTRACT.parse_rows(NAMES, rows)
    assert parsed._rows is None  # built from the array, not from the loop's rows
    assert parsed.json_rows()[1] == [None, None, None]
    assert parsed.json_rows()[2] == [2.0, 7, 5.0]
    assert [type(v) for v in parsed.json_rows()[2]] == [float, int, float]
    assert parsed.numeric[0].tolist() == [-3.5, 0.0, 0.0]
    assert np.isnan(parsed.numeric[1]).all()
    fast, reference = _both(NAMES, rows)
    assert _same(fast, reference) and fast[0] == "rows"


BAD_VALUES = {
    "a bool in a float column": (0, True, "wrong_type"),
    "a numeric string": (0, "1.5", "wrong_type"),
    "a NaN (stdlib JSON)": (2, float("nan"), "not_finite"),
    "infinity": (2, float("inf"), "not_finite"),
    "out of range": (0, 10.5, "out_of_range"),
    "a non-integral number in an integer column": (1, 2.5, "wrong_type"),
    "an integer beyond float64": (1, 10**400, "out_of_range"),
    "a nested list": (2, [1.0], "wrong_type"),
}


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_a_bad_value_gets_the_per_value_error(case: str) -> None:
    column, value, kind = BAD_VALUES[case]
    rows = _rows()
    rows[N - 2][column] = value
    fast, reference = _both(NAMES, rows)
    assert fast == reference
    assert fast[0] == "error" and fast[3] == N - 2 and fast[4] == kind
    assert fast[2] == NAMES[column]


def test_a_large_integer_in_an_integer_column_stays_exact() -> None:
    rows = _rows()
    rows[5][1] = 2**60 + 1  # not exact in float64: the loop keeps the int
    fast, reference = _both(NAMES, rows)
    assert fast == reference
    assert fast[1][5][1] == 2**60 + 1


def test_reordered_and_ignored_columns() -> None:
    rows = [[f"label {i}", r[2], r[0], r[1]] for i, r in enumerate(_rows())]
    columns = ["target", "area", "radius", "count"]
    fast, reference = _both(columns, rows)
    assert _same(fast, reference) and fast[0] == "rows"
    rows = [[1.0, 2.0, float(i), 3] for i in range(N)]  # a numeric ignored column
    parsed = CONTRACT.parse_rows(["target", "radius", "count", "area"], rows)
    assert parsed._rows is None
    assert parsed.json_rows() == [[2.0, i, 3.0] for i in range(N)]
    assert {type(row[1]) for row in parsed.json_rows()} == {int}


def test_a_short_row_is_malformed_as_before() -> None:
    rows = _rows()
    rows[N - 1] = [1.0, 2]
    fast, reference = _both(NAMES, rows)
    assert fast == reference and fast[4] == "malformed" and fast[3] == N - 1


def test_the_gateway_parse_of_a_large_body() -> None:
    rows = _rows()
    body = json.dumps({"dataframe_split": {"columns": NAMES, "data": rows}}).encode()
    parsed = parse_rows(body, CONTRACT)
    assert isinstance(parsed, ParsedRows) and parsed.n_rows == N
    assert parsed.json_rows() == CONTRACT.parse_rows(NAMES, rows).json_rows()
    rows[N - 3] = [1.0, 2]
    body = json.dumps({"dataframe_split": {"columns": NAMES, "data": rows}}).encode()
    with pytest.raises(RequestError) as caught:
        parse_rows(body, CONTRACT)
    assert caught.value.status == 400
    assert caught.value.message == f"'dataframe_split.data' row {N - 3} must be a list of 3 values"


VALUES = st.one_of(
    st.floats(-12, 12, allow_nan=False),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-5, 5),
    st.integers(-(2**70), 2**70),
    st.none(),
    st.booleans(),
    st.sampled_from(["1.5", "x"]),
)


@settings(max_examples=150, deadline=None)
@given(
    cells=st.lists(st.lists(VALUES, min_size=3, max_size=3), min_size=N, max_size=N + 10),
    rare=st.integers(0, 100),
)
def test_any_batch_parses_as_the_per_value_loop_does(cells: list[list[Any]], rare: int) -> None:
    # Mostly valid batches (the array path), sometimes with drawn values anywhere.
    rows = _rows(len(cells))
    for i, row in enumerate(cells):
        for k, value in enumerate(row):
            if (i * 3 + k + rare) % 29 == 0:
                rows[i][k] = value
    fast, reference = _both(NAMES, rows)
    assert _same(fast, reference)
