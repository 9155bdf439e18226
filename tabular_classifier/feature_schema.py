"""The feature schema: which columns a model consumes and what its target means.

:class:`FeatureSchema` is inferred from the training table
(:func:`tabular_classifier.data_validation.validate_and_infer_schema`) and travels with the
model; :meth:`FeatureSchema.contract_differences` is the data contract between model versions.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

Label = str | int | float | bool
"""A class label as found in the data: a JSON-safe scalar."""


@dataclass(frozen=True)
class FeatureSchema:
    """The columns a model consumes and the meaning of its target.

    Attributes:
        target: Name of the binary target column.
        positive_label: The target value encoded as 1, as found in the data (JSON-safe scalar).
        negative_label: The other target value, encoded as 0.
        numeric_features: Columns imputed with the median and standardised.
        categorical_features: Columns one-hot encoded.
        dropped_columns: Columns of the training table that are neither the target nor a
            feature (``drop_columns`` plus anything left out of declared feature lists).
    """

    target: str
    positive_label: Label
    negative_label: Label
    numeric_features: list[str]
    categorical_features: list[str]
    dropped_columns: list[str] = field(default_factory=list)

    @property
    def feature_columns(self) -> list[str]:
        """All feature columns: the numeric ones first, then the categorical ones."""
        return [*self.numeric_features, *self.categorical_features]

    def to_dict(self) -> dict[str, Any]:
        """Return the schema as a JSON-safe dictionary (the inverse of :meth:`from_dict`)."""
        return {
            "target": self.target,
            "positive_label": self.positive_label,
            "negative_label": self.negative_label,
            "numeric_features": list(self.numeric_features),
            "categorical_features": list(self.categorical_features),
            "dropped_columns": list(self.dropped_columns),
        }

    CONTRACT_KEYS: ClassVar[tuple[str, ...]] = (
        "target",
        "positive_label",
        "numeric_features",
        "categorical_features",
    )
    """What makes two models interchangeable: the same target, positive class and features."""

    def contract_differences(self, other: Mapping[str, Any]) -> list[str]:
        """The :data:`CONTRACT_KEYS` on which ``other`` (a :meth:`to_dict` mapping) differs.

        A model version trained on another contract cannot be compared with, or replace, one
        trained on this one: the registry keeps them apart as different models.

        Args:
            other: Another schema's :meth:`to_dict` (for example a model version's stored
                ``feature_schema`` metadata).

        Returns:
            The differing keys, in :data:`CONTRACT_KEYS` order; empty when they agree.
        """
        mine = self.to_dict()
        return [key for key in self.CONTRACT_KEYS if other.get(key) != mine[key]]

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "FeatureSchema":
        """Rebuild a schema from :meth:`to_dict` output.

        Args:
            d: Mapping with the keys written by :meth:`to_dict`.

        Returns:
            The schema.

        Raises:
            ValueError: If a key is missing or unknown, or a value has the wrong type.
        """
        expected = {
            "target",
            "positive_label",
            "negative_label",
            "numeric_features",
            "categorical_features",
            "dropped_columns",
        }
        if set(d) != expected:
            raise ValueError(f"feature schema: expected keys {sorted(expected)}, got {sorted(d)}")
        for key in ("positive_label", "negative_label"):
            if not isinstance(d[key], str | int | float | bool):
                raise ValueError(f"feature schema: key '{key}' must be a scalar, got {d[key]!r}")
        lists: dict[str, list[str]] = {}
        for key in ("numeric_features", "categorical_features", "dropped_columns"):
            value = d[key]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"feature schema: key '{key}' must be a list of strings")
            lists[key] = list(value)
        if not isinstance(d["target"], str):
            raise ValueError("feature schema: key 'target' must be a string")
        return cls(
            target=d["target"],
            positive_label=d["positive_label"],
            negative_label=d["negative_label"],
            **lists,
        )
