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


def test_other_data_names_the_missing_and_new_columns_and_both_remedies() -> None:
    # Walkthrough: a file with a dropped column, or with the index column `to_csv()` writes,
    # was told only "give this data its own model_name", without naming the column.
    previous = _schema(["x1", "level"], ["color"]).to_dict()
    remedies = (
        "if the file is wrong (a dropped or renamed column, an index column written by "
        "`to_csv()`), fix it or list the columns to leave out under `drop_columns`; if it is "
        "other data, give it its own `model_name` (and experiment name) in the run config"
    )
    cases = (
        (_schema(["x1"], ["color"]), "feature columns missing (version 4 had them): ['level']; "),
        (
            _schema(["Unnamed: 0", "x1", "level"], ["color"]),
            "feature columns new (version 4 did not have them): ['Unnamed: 0']; ",
        ),
        (
            _schema(["x1", "size"], ["color"]),
            "feature columns missing (version 4 had them): ['level']; "
            "new (version 4 did not have them): ['size']; ",
        ),
        (_schema(["x1"], ["level", "color"], target="label"), ""),  # same columns, new target
    )
    for other, columns in cases:
        changed = other.contract_differences(previous)
        assert changed
        assert _contract_advice(other, previous, changed, 4) == columns + remedies
