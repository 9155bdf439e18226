"""One value's fate: its canonical JSON form, or the reason it is refused.

:func:`check_value` is the single definition of the rules; every faster path of
``RowContract`` (vectorized columns, the JSON hot loop) must agree with it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from tabular_classifier.contract.spec import ErrorKind, FeatureSpec
from tabular_classifier.errors import InputValidationError

MAX_LISTED = 10


def category_text(value: Any) -> str:
    """Canonical text of a non-null boolean or categorical value.

    Integral floats lose their ``.0``: a column of integer codes becomes float as soon as it
    holds a null (pandas has no null for int64), while JSON payloads carry the integers.

    Args:
        value: A str, bool, int or finite float (Python or numpy scalar).

    Returns:
        ``"True"``/``"False"`` for booleans, ``"3"`` for ``3`` and ``3.0``, ``str(value)``
        otherwise.
    """
    if isinstance(value, bool | np.bool_):
        return "True" if value else "False"
    if isinstance(value, float | np.floating):
        number = float(value)
        return str(int(number)) if number.is_integer() else str(number)
    if isinstance(value, np.integer):
        return str(int(value))
    return str(value)


def is_null(value: Any) -> bool:
    """Null in pandas' sense: None, NaN, pd.NA, NaT."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return bool(value != value)
    return False


def describe(value: Any) -> str:
    """A bounded excerpt of a value and its type, for error messages (at most 60 characters)."""
    if isinstance(value, np.generic):
        value = value.item()
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{shown} ({type(value).__name__})"


# One value checked: (canonical JSON value, None) or (None, (kind, detail)).
Checked = tuple[Any, tuple[ErrorKind, str] | None]


def check_number(spec: FeatureSpec, value: Any, nan_is_null: bool) -> Checked:
    """A non-None value of a float or integer column (see :func:`check_value`)."""
    if isinstance(value, bool | np.bool_):
        return None, (ErrorKind.WRONG_TYPE, f"expected a number, got {describe(value)}")
    if isinstance(value, int | np.integer):
        try:
            number = float(value)
        except OverflowError:
            return None, (ErrorKind.OUT_OF_RANGE, f"{describe(value)} is too large to score")
        canonical: Any = int(value) if spec.type == "integer" else number
    elif isinstance(value, float | np.floating):
        number = float(value)
        if number != number and nan_is_null:
            return None, None
        if not math.isfinite(number):
            return None, (
                ErrorKind.NOT_FINITE,
                f"{number} is not a finite number; send null for a missing value",
            )
        if spec.type == "integer":
            if not number.is_integer():
                return None, (ErrorKind.WRONG_TYPE, f"expected an integer, got {number!r}")
            canonical = int(number)
        else:
            canonical = number
    else:
        return None, (ErrorKind.WRONG_TYPE, f"expected a number or null, got {describe(value)}")
    if (spec.lower is not None and number < spec.lower) or (
        spec.upper is not None and number > spec.upper
    ):
        return None, (
            ErrorKind.OUT_OF_RANGE,
            f"{number:.6g} is outside the range the model can score without overflowing, "
            f"[{spec.lower:.3g}, {spec.upper:.3g}]",
        )
    return canonical, None


def check_boolean(spec: FeatureSpec, value: Any, nan_is_null: bool) -> Checked:
    """A non-None value of a boolean column (see :func:`check_value`)."""
    if isinstance(value, bool | np.bool_):
        return bool(value), None
    if not nan_is_null and isinstance(value, float) and value != value:
        return None, (ErrorKind.NOT_FINITE, "NaN is not a JSON value; send null")
    return None, (ErrorKind.WRONG_TYPE, f"expected true, false or null, got {describe(value)}")


def check_category(spec: FeatureSpec, value: Any, nan_is_null: bool) -> Checked:
    """A non-None value of a categorical column (see :func:`check_value`)."""
    if isinstance(value, str):
        return value, None
    if isinstance(value, bool | np.bool_ | int | np.integer):
        return category_text(value), None
    if isinstance(value, float | np.floating):
        if not math.isfinite(float(value)):
            return None, (ErrorKind.NOT_FINITE, f"{float(value)} is not a valid category")
        return category_text(value), None
    return None, (
        ErrorKind.WRONG_TYPE,
        f"expected a string, number, boolean or null, got {describe(value)}",
    )


CHECKERS: dict[str, Callable[[FeatureSpec, Any, bool], Checked]] = {
    "float": check_number,
    "integer": check_number,
    "boolean": check_boolean,
    "categorical": check_category,
}


def check_value(spec: FeatureSpec, value: Any, nan_is_null: bool) -> Checked:
    """The single definition of one value's fate: canonical JSON value, or a refusal.

    Null is (None, None). Every fast path of :class:`RowContract` must agree with this.
    """
    if value is None or (nan_is_null and is_null(value)):
        return None, None
    return CHECKERS[spec.type](spec, value, nan_is_null)


def listing(names: Sequence[str]) -> str:
    """The first names, quoted, and how many there are in all beyond them."""
    shown = ", ".join(repr(name) for name in names[:MAX_LISTED])
    return shown + (f", ... ({len(names)} in all)" if len(names) > MAX_LISTED else "")


def python_value(value: Any) -> Any:
    """A numpy scalar as the Python value (row labels in messages and errors)."""
    return value.item() if isinstance(value, np.generic) else value


def value_error(column: str, row: Any, problem: tuple[ErrorKind, str]) -> InputValidationError:
    """The error for one refused value: ``column '<column>': <detail> at row <row>``."""
    kind, detail = problem
    return InputValidationError(
        f"column '{column}': {detail} at row {row}", column=column, row=row, kind=kind
    )
