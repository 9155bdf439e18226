"""What ``register_model`` advises when a new version's data contract differs from the model's."""

from __future__ import annotations

from steps.registry.register_model import _contract_advice
from tabular_classifier.data import FeatureSchema


def _schema(numeric: list[str], categorical: list[str], target: str = "churn") -> FeatureSchema:
    return FeatureSchema(
        target=target,
        positive_label="Yes",
        negative_label="No",
        numeric_features=numeric,
        categorical_features=categorical,
        dropped_columns=["cust_id"],
    )


def test_the_same_features_typed_differently_get_the_types_to_list() -> None:
    # Walkthrough: one table trained from CSV (level read as int64: numeric) and then from
    # Parquet (level a category) was told to use another model_name, though it is the same data.
    previous = _schema(["x1", "level"], ["color", "flag"]).to_dict()
    parquet = _schema(["x1"], ["level", "color", "flag"])
    changed = parquet.contract_differences(previous)
    assert changed == ["numeric_features", "categorical_features"]
    advice = _contract_advice(parquet, previous, changed, 1)
    assert advice.endswith(
        "list them in the data config as version 1 had them, numeric_features: "
        "['x1', 'level'], categorical_features: ['color', 'flag']"
    )
    assert "model_name" not in advice


def test_other_data_gets_its_own_model_name() -> None:
    previous = _schema(["x1", "level"], ["color"]).to_dict()
    for other in (
        _schema(["x1"], ["color"]),  # a feature dropped
        _schema(["x1"], ["level", "color"], target="label"),  # retyped, but another target
    ):
        changed = other.contract_differences(previous)
        assert changed
        assert _contract_advice(other, previous, changed, 4) == (
            "give this data its own `model_name` (and experiment name) in the run config"
        )
