"""Label matching: class labels compared across types, and the target encoded as 0/1.

Config files and data files disagree on types all the time (YAML ``1`` against a CSV column read
as strings, ``true`` against a boolean column), so labels are matched on :func:`label_key`.
"""

import math
from typing import Any

import numpy as np
import pandas as pd

from tabular_classifier.errors import DataValidationError
from tabular_classifier.feature_schema import FeatureSchema, Label


def to_python_scalar(value: Any) -> Any:
    """A numpy scalar as the Python scalar it holds (``np.int64(1)`` as ``1``); other values as is.

    Used wherever a value from the data is shown in a message or stored as JSON.
    """
    return value.item() if isinstance(value, np.generic) else value


def label_key(value: Any) -> str:
    """Canonical text of a class label, so that ``"1"``, ``1``, ``1.0`` and ``True`` compare equal.

    Config files and data files disagree on types all the time (YAML ``1`` against a CSV column
    read as strings, ``true`` against a boolean column), so labels are matched on this key.
    """
    value = to_python_scalar(value)
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    text = str(value).strip()
    if text.lower() in ("true", "false"):
        return "1" if text.lower() == "true" else "0"
    try:
        number = float(text)
    except ValueError:
        return text
    return label_key(number) if math.isfinite(number) else text


def resolve_labels(
    classes: list[Any], positive_label: Label, source: str, target: str
) -> tuple[Label, Label]:
    """Check the two target classes and tell which one is the positive label.

    Args:
        classes: The target's two distinct values, as Python scalars.
        positive_label: The config's positive label, matched with :func:`label_key`.
        source: Name of the data source, for error messages.
        target: The target column, for error messages.

    Returns:
        (positive, negative): the two classes as found in the data.

    Raises:
        DataValidationError: If a class is not a scalar, the two classes are the same once types
            are coerced, or the positive label is neither of them.
    """
    for value in classes:
        if not isinstance(value, str | int | float | bool):
            raise DataValidationError(
                source, target, f"unsupported target value {value!r} of type {type(value).__name__}"
            )
    keys = [label_key(value) for value in classes]
    if keys[0] == keys[1]:
        raise DataValidationError(
            source,
            target,
            f"the target classes {classes[0]!r} and {classes[1]!r} are the same value once "
            "types are coerced; clean the column",
        )
    wanted = label_key(positive_label)
    if wanted not in keys:
        raise DataValidationError(
            source,
            target,
            f"positive_label {positive_label!r} is absent from the target, whose classes are "
            f"{classes[0]!r} and {classes[1]!r}"
            + (
                " (YAML reads unquoted yes/no/true/false/on/off as booleans: quote the label)"
                if isinstance(positive_label, bool)
                else ""
            ),
        )
    index = keys.index(wanted)
    return classes[index], classes[1 - index]


def encode_target(y: pd.Series, schema: FeatureSchema) -> np.ndarray:
    """Encode target values as 1 (positive label) and 0 (negative label).

    Values are matched with the same type coercion as the positive label in the config, so a
    target read as strings still encodes against labels inferred from integers.

    Args:
        y: Target values, shape (n,), any dtype.
        schema: The schema whose labels define the encoding.

    Returns:
        int64 array of shape (n,) with 1 for the positive label and 0 for the negative one.

    Raises:
        ValueError: If a value is null or is neither of the two labels.
    """
    codes, uniques = pd.factorize(y, use_na_sentinel=True)
    if (codes < 0).any():
        raise ValueError(f"column '{schema.target}': null values in the target")
    positive_key = label_key(schema.positive_label)
    negative_key = label_key(schema.negative_label)
    mapping = np.empty(len(uniques), dtype=np.int64)
    for index, value in enumerate(uniques):
        key = label_key(value)
        if key not in (positive_key, negative_key):
            raise ValueError(
                f"column '{schema.target}': value {to_python_scalar(value)!r} is neither the "
                f"positive label {schema.positive_label!r} nor the negative label "
                f"{schema.negative_label!r}"
            )
        mapping[index] = 1 if key == positive_key else 0
    encoded: np.ndarray = mapping[codes]
    return encoded
