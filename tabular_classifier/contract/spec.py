"""The contract's vocabulary: logical types, error kinds, one feature's spec, overflow bounds."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

import numpy as np

LogicalType = Literal["float", "integer", "boolean", "categorical"]
LOGICAL_TYPES: tuple[LogicalType, ...] = ("float", "integer", "boolean", "categorical")
NUMERIC_TYPES = frozenset({"float", "integer"})

LOGIT_LIMIT = 1e30
"""Largest logit magnitude :func:`scorable_z_bound` allows, in any layer. float32 overflows at
3.4e38; the 8 orders of magnitude of headroom cover float32 rounding in the matrix products."""


class ErrorKind(StrEnum):
    """Why the contract refused an input (``InputValidationError.kind``)."""

    EMPTY = "empty"
    DUPLICATE_COLUMN = "duplicate_column"
    MISSING_COLUMN = "missing_column"
    UNKNOWN_COLUMN = "unknown_column"
    MALFORMED = "malformed"
    WRONG_TYPE = "wrong_type"
    NOT_FINITE = "not_finite"
    OUT_OF_RANGE = "out_of_range"
    UNSCORABLE = "unscorable"


@dataclass(frozen=True)
class FeatureSpec:
    """One feature column of the contract.

    Attributes:
        name: Column name.
        type: Logical type (see the module docstring).
        nullable: Whether the training split held nulls in this column.
        categories: Boolean and categorical columns: the categories seen in training, as
            canonical text (:func:`category_text`), in the one-hot encoder's order; empty for
            numbers.
        minimum: Numbers: smallest value in the training split (None if all null).
        maximum: Numbers: largest value in the training split (None if all null).
        lower: Numbers: smallest value the model can score without overflowing (None: no
            bound known).
        upper: Numbers: largest such value (None: no bound known).
    """

    name: str
    type: LogicalType
    nullable: bool = True
    categories: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    lower: float | None = None
    upper: float | None = None

    @property
    def is_numeric(self) -> bool:
        """Whether the model reads this column as a number (float or integer)."""
        return self.type in NUMERIC_TYPES

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (the inverse of :meth:`from_dict`)."""
        return {
            "name": self.name,
            "type": self.type,
            "nullable": self.nullable,
            "categories": list(self.categories),
            "minimum": self.minimum,
            "maximum": self.maximum,
            "lower": self.lower,
            "upper": self.upper,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureSpec:
        """Rebuild a spec from :meth:`to_dict` output.

        Raises:
            ValueError: On a missing or unknown key, an unknown type, or a wrong value type.
        """
        expected = {
            "name",
            "type",
            "nullable",
            "categories",
            "minimum",
            "maximum",
            "lower",
            "upper",
        }
        if set(data) != expected:
            raise ValueError(
                f"row contract feature: expected keys {sorted(expected)}, got {sorted(data)}"
            )
        if not isinstance(data["name"], str) or data["type"] not in LOGICAL_TYPES:
            raise ValueError(f"row contract feature: bad name or type in {dict(data)!r}")
        categories = data["categories"]
        if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
            raise ValueError(f"row contract feature '{data['name']}': categories must be strings")
        numbers = {}
        for key in ("minimum", "maximum", "lower", "upper"):
            value = data[key]
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                raise ValueError(f"row contract feature '{data['name']}': {key} must be a number")
            numbers[key] = None if value is None else float(value)
        return cls(
            name=data["name"],
            type=data["type"],
            nullable=bool(data["nullable"]),
            categories=tuple(categories),
            **numbers,
        )


def scorable_z_bound(layers: Iterable[tuple[np.ndarray, np.ndarray]]) -> float:
    """The largest standardized input magnitude the network scores without overflowing.

    Every activation we use (ReLU, leaky ReLU, GELU, tanh) satisfies ``|f(x)| <= |x|`` and
    dropout is the identity at inference, so with ``|z_i| <= Z`` for every input each layer's
    output obeys ``|h_l| <= P_l * Z + C_l``, where ``P_l`` multiplies the layers' infinity
    norms (largest absolute row sum of each weight matrix) and ``C_l`` accumulates the biases
    through the same norms. The bound is the largest ``Z`` keeping ``Z`` itself and every
    ``P_l * Z + C_l`` below :data:`LOGIT_LIMIT` (and at least 1, since one-hot inputs are 1).

    Args:
        layers: (weight (out, in), bias (out,)) per linear layer, input to output.

    Returns:
        The bound Z, in standard deviations of the training data (a float >= 1).

    Raises:
        ValueError: If there are no layers, or a weight is not finite.
    """
    slope, intercept = 1.0, 0.0
    limit = math.inf
    count = 0
    for weight, bias in layers:
        w = np.abs(np.asarray(weight, dtype=np.float64))
        b = np.abs(np.asarray(bias, dtype=np.float64))
        if not (np.isfinite(w).all() and np.isfinite(b).all()):
            raise ValueError("the network holds non-finite weights")
        norm = float(w.sum(axis=1).max())
        slope *= norm
        intercept = intercept * norm + float(b.max())
        if slope > 0:
            limit = min(limit, (LOGIT_LIMIT - intercept) / slope)
        count += 1
    if count == 0:
        raise ValueError("the network has no linear layers")
    # The inputs themselves are float32 too: never above the limit either.
    return max(1.0, min(limit, LOGIT_LIMIT))
