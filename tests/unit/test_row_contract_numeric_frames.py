"""All-numeric DataFrames: ``RowContract.parse_frame``'s whole-matrix path agrees with the
per-column checks it replaces, and refusals still name the column, the row and the kind.

The breast-cancer model (30 float features) is the all-numeric case online and batch scoring
see most; its 1-row frames take ``columns.numbers_in_range`` instead of 30 ``numbers_of`` calls.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tabular_classifier.contract import RowContract
from tabular_classifier.contract import columns as column_checks
from tabular_classifier.contract.spec import ErrorKind, FeatureSpec
from tabular_classifier.errors import InputValidationError

CONTRACT = RowContract(
    [
        FeatureSpec("radius", "float", lower=-10.0, upper=10.0),
        FeatureSpec("count", "integer", lower=0.0, upper=1000.0),
        FeatureSpec("area", "float"),
    ],
    ignored_columns=["target"],
)
NAMES = ["radius", "count", "area"]


def _per_column(frame: pd.DataFrame) -> np.ndarray:
    """What the per-column path (``columns.numbers_of``) makes of a valid frame."""
    columns = []
    for k, spec in enumerate(CONTRACT.features):
        numbers, bad = column_checks.numbers_of(
            spec, frame[spec.name].to_numpy(), CONTRACT._lower[k], CONTRACT._upper[k]
        )
        assert bad is None
        columns.append(numbers)
    return np.column_stack(columns)


finite_or_nan = st.one_of(st.floats(-10, 10, allow_nan=False), st.just(float("nan")))


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            finite_or_nan,
            st.one_of(st.integers(0, 1000).map(float), st.just(float("nan"))),
            st.one_of(st.floats(-1e300, 1e300, allow_nan=False), st.just(float("nan"))),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_valid_frames_parse_as_the_per_column_path_does(
    rows: list[tuple[float, float, float]],
) -> None:
    frame = pd.DataFrame(rows, columns=NAMES)
    parsed = CONTRACT.parse_frame(frame)
    np.testing.assert_array_equal(parsed.numeric, _per_column(frame))
    assert parsed.categorical.shape == (len(rows), 0)
    assert list(parsed.index) == list(frame.index)


def test_column_order_ignored_columns_and_integer_dtypes() -> None:
    frame = pd.DataFrame(
        {"target": [1, 0], "area": [3.5, 1e6], "count": [7, 0], "radius": [-1.5, 9.0]},
        index=["a", "b"],
    )
    parsed = CONTRACT.parse_frame(frame)
    np.testing.assert_array_equal(parsed.numeric, [[-1.5, 7.0, 3.5], [9.0, 0.0, 1e6]])
    assert list(parsed.index) == ["a", "b"]


@pytest.mark.parametrize(
    ("column", "value", "kind"),
    [
        ("radius", 10.5, ErrorKind.OUT_OF_RANGE),
        ("radius", -11.0, ErrorKind.OUT_OF_RANGE),
        ("count", 2.5, ErrorKind.WRONG_TYPE),
        ("count", -1.0, ErrorKind.OUT_OF_RANGE),
        ("area", float("inf"), ErrorKind.NOT_FINITE),
        ("area", float("-inf"), ErrorKind.NOT_FINITE),
    ],
)
def test_refusals_name_the_column_row_label_and_kind(
    column: str, value: float, kind: ErrorKind
) -> None:
    good = {"radius": 1.0, "count": 3.0, "area": 2.0}
    frame = pd.DataFrame([good, {**good, column: value}], columns=NAMES, index=[10, 11])
    with pytest.raises(InputValidationError) as err:
        CONTRACT.parse_frame(frame)
    assert (err.value.kind, err.value.column, err.value.row) == (kind, column, 11)
    assert f"column '{column}'" in str(err.value)


def test_numbers_in_range_declines_what_it_cannot_check() -> None:
    lower = np.array([-10.0, 0.0, -np.finfo(np.float64).max])
    upper = np.array([10.0, 1000.0, np.finfo(np.float64).max])
    ints = np.array([1])
    ok = np.array([[1.0, 2.0, np.nan]])
    np.testing.assert_array_equal(column_checks.numbers_in_range(ok, lower, upper, ints), ok)
    assert column_checks.numbers_in_range(ok.astype(object), lower, upper, ints) is None
    for refused in ([1.0, 2.5, 0.0], [1.0, 2.0, np.inf], [11.0, 2.0, 0.0]):
        assert column_checks.numbers_in_range(np.array([refused]), lower, upper, ints) is None
