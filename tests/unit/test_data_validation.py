"""validate_and_infer_schema, encode_target and split_data.

Every failure must name the source file and the column, so these tests assert both.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tabular_classifier.config import DataConfig, SplitConfig
from tabular_classifier.data import (
    FeatureSchema,
    assign_splits,
    encode_target,
    split_data,
    validate_and_infer_schema,
)
from tabular_classifier.errors import DataValidationError

SOURCE = "data/customers.csv"


def _cfg(**kwargs: Any) -> DataConfig:
    values: dict[str, Any] = {"path": SOURCE, "target": "y", "positive_label": 1, **kwargs}
    return DataConfig(**values)


def _frame(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 90, size=n),
            "income": rng.normal(50_000, 10_000, size=n),
            "city": rng.choice(["Paris", "Lyon", "Nice"], size=n),
            "member": rng.choice([True, False], size=n),
            "y": np.tile([0, 1], n // 2),
        }
    )


def _fails(df: pd.DataFrame, cfg: DataConfig, column: str | None, detail: str) -> str:
    with pytest.raises(DataValidationError) as info:
        validate_and_infer_schema(df, cfg, SOURCE)
    message = str(info.value)
    assert info.value.source == SOURCE
    assert info.value.column == column
    assert message.startswith(SOURCE + (f": column '{column}': " if column else ": "))
    assert detail in message
    return message


def test_infers_numeric_and_categorical_features() -> None:
    schema = validate_and_infer_schema(_frame(), _cfg(), SOURCE)
    assert schema.numeric_features == ["age", "income"]
    assert schema.categorical_features == ["city", "member"]  # bool is categorical
    assert schema.feature_columns == ["age", "income", "city", "member"]
    assert (schema.positive_label, schema.negative_label) == (1, 0)
    assert schema.dropped_columns == []


def test_drop_columns_and_declared_lists() -> None:
    df = _frame().assign(customer_id=range(40))
    schema = validate_and_infer_schema(df, _cfg(drop_columns=["customer_id"]), SOURCE)
    assert "customer_id" not in schema.feature_columns
    assert schema.dropped_columns == ["customer_id"]
    declared = validate_and_infer_schema(df, _cfg(numeric_features=["age"]), SOURCE)
    # The undeclared list takes every remaining column.
    assert declared.numeric_features == ["age"]
    assert declared.categorical_features == ["income", "city", "member", "customer_id"]
    both = validate_and_infer_schema(
        df, _cfg(numeric_features=["age"], categorical_features=["city"]), SOURCE
    )
    assert both.dropped_columns == ["income", "member", "customer_id"]


def test_mostly_numeric_object_column_is_numeric() -> None:
    df = _frame()
    df["income"] = df["income"].round(2).astype(str)
    schema = validate_and_infer_schema(df, _cfg(), SOURCE)
    assert "income" in schema.numeric_features


def test_non_numeric_value_in_inferred_numeric_column_names_row_and_value() -> None:
    df = _frame()
    df["age"] = df["age"].astype(object)
    df.loc[17, "age"] = "abc"  # 1 in 40 is 2.5 %: still a numeric column
    message = _fails(df, _cfg(), "age", "non-numeric value 'abc' at row 17")
    assert message.startswith(f"{SOURCE}: column 'age': non-numeric value 'abc' at row 17 (")
    assert "data.na_values" in message


def test_non_numeric_value_in_a_parquet_file_does_not_advise_na_values() -> None:
    """na_values applies to CSV files only; a Parquet file is told to store nulls instead."""
    df = _frame()
    df["age"] = df["age"].astype(object)
    df.loc[17, "age"] = "abc"
    with pytest.raises(DataValidationError) as err:
        validate_and_infer_schema(df, _cfg(), "data/table.parquet")
    message = str(err.value)
    assert message.startswith("data/table.parquet: column 'age': non-numeric value 'abc' at row 17")
    assert "data.na_values applies to CSV files only" in message
    assert "header excluded" not in message


def test_non_numeric_value_in_declared_numeric_column_counts_all() -> None:
    df = _frame()
    df["income"] = df["income"].astype(object)
    df.loc[3, "income"] = "n/a"
    df.loc[9, "income"] = "unknown"
    _fails(
        df,
        _cfg(numeric_features=["age", "income"], categorical_features=["city"]),
        "income",
        "non-numeric value 'n/a' at row 3 (2 non-numeric values in all)",
    )


def test_declared_numeric_string_column_fails_on_first_row() -> None:
    _fails(_frame(), _cfg(numeric_features=["city"]), "city", "non-numeric value")


def test_infinite_value_in_numeric_column() -> None:
    df = _frame()
    df.loc[5, "income"] = np.inf
    _fails(df, _cfg(), "income", "non-finite value inf at row 5")


def test_missing_target_column() -> None:
    _fails(_frame().drop(columns="y"), _cfg(), "y", "target column not found")


def test_null_target_values() -> None:
    df = _frame()
    df["y"] = df["y"].astype(float)
    df.loc[[4, 8], "y"] = np.nan
    _fails(df, _cfg(), "y", "2 null values in the target (first at row 4)")


def test_single_class_target() -> None:
    _fails(_frame().assign(y=1), _cfg(), "y", "the target has a single class 1")


def test_more_than_two_classes_are_listed() -> None:
    df = _frame().assign(y=np.tile(["a", "b", "c", "d"], 10))
    message = _fails(df, _cfg(positive_label="a"), "y", "the target has 4 classes")
    for label in ("'a' (10)", "'b' (10)", "'c' (10)", "'d' (10)"):
        assert label in message


def test_positive_label_absent_from_target() -> None:
    df = _frame().assign(y=np.tile(["Yes", "No"], 20))
    message = _fails(df, _cfg(positive_label="yes"), "y", "positive_label 'yes' is absent")
    assert "'Yes'" in message and "'No'" in message


@pytest.mark.parametrize(
    ("target", "configured", "expected_positive", "expected_negative"),
    [
        ([0, 1], 1, 1, 0),
        ([0, 1], "1", 1, 0),
        ([0, 1], 1.0, 1, 0),
        ([0.0, 1.0], 1, 1.0, 0.0),
        (["0", "1"], 1, "1", "0"),
        (["Yes", "No"], "Yes", "Yes", "No"),
        (["y", "n"], "n", "n", "y"),
        ([True, False], True, True, False),
        ([True, False], "true", True, False),
        (["True", "False"], True, "True", "False"),
        ([1, 2], 2, 2, 1),
    ],
)
def test_positive_label_matches_with_type_coercion(
    target: list[Any], configured: Any, expected_positive: Any, expected_negative: Any
) -> None:
    df = _frame().assign(y=np.tile(np.array(target, dtype=object), 20))
    df["y"] = df["y"].infer_objects()
    schema = validate_and_infer_schema(df, _cfg(positive_label=configured), SOURCE)
    assert schema.positive_label == expected_positive
    assert type(schema.positive_label) is type(expected_positive)
    assert schema.negative_label == expected_negative
    y = encode_target(df["y"], schema)
    assert y.dtype == np.int64
    assert y.tolist() == [1 if v == expected_positive else 0 for v in df["y"]]


def test_classes_equal_after_coercion_are_rejected() -> None:
    df = _frame().assign(y=np.tile(np.array([1, "1"], dtype=object), 20))
    _fails(df, _cfg(), "y", "the same value once types are coerced")


@pytest.mark.parametrize("list_name", ["numeric_features", "categorical_features", "drop_columns"])
def test_declared_column_absent(list_name: str) -> None:
    _fails(_frame(), _cfg(**{list_name: ["tenure"]}), "tenure", f"listed in {list_name}")


@pytest.mark.parametrize("column", ["income", "city"])
def test_all_null_feature(column: str) -> None:
    df = _frame()
    df[column] = None
    _fails(df, _cfg(), column, "all values are null")


def test_all_null_declared_feature() -> None:
    df = _frame().assign(notes=np.nan)
    _fails(
        df, _cfg(categorical_features=["notes"], numeric_features=["age"]), "notes", "all values"
    )


def test_duplicate_columns_in_frame() -> None:
    df = _frame()
    df.columns = ["age", "age", "city", "member", "y"]
    _fails(df, _cfg(), "age", "duplicate column name")


def test_no_feature_left() -> None:
    df = _frame()[["age", "y"]]
    _fails(df, _cfg(drop_columns=["age"]), None, "no feature columns remain")


def test_unsupported_dtype_is_named() -> None:
    df = _frame().assign(when=pd.Timestamp("2024-01-01"))
    _fails(df, _cfg(), "when", "unsupported dtype datetime64")


def test_empty_frame() -> None:
    _fails(_frame().iloc[:0], _cfg(), None, "the table has no rows")


def test_schema_dict_round_trip_is_json_safe() -> None:
    df = _frame().assign(y=np.tile(["Yes", "No"], 20), id=range(40))
    schema = validate_and_infer_schema(df, _cfg(positive_label="Yes", drop_columns=["id"]), SOURCE)
    restored = FeatureSchema.from_dict(json.loads(json.dumps(schema.to_dict())))
    assert restored == schema


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.pop("target"),
        lambda d: d.update(unknown=1),
        lambda d: d.update(numeric_features="age"),
        lambda d: d.update(positive_label=[1]),
    ],
)
def test_schema_from_dict_rejects_bad_payloads(mutate: Any) -> None:
    payload = FeatureSchema("y", 1, 0, ["age"], ["city"], []).to_dict()
    mutate(payload)
    with pytest.raises(ValueError, match="feature schema"):
        FeatureSchema.from_dict(payload)


def test_encode_target_rejects_unknown_and_null_values() -> None:
    schema = FeatureSchema("y", "Yes", "No", ["a"], [], [])
    assert encode_target(pd.Series(["Yes", "No", "Yes"]), schema).tolist() == [1, 0, 1]
    with pytest.raises(ValueError, match="column 'y': value 'Maybe' is neither"):
        encode_target(pd.Series(["Yes", "Maybe"]), schema)
    with pytest.raises(ValueError, match="column 'y': null values"):
        encode_target(pd.Series(["Yes", None]), schema)


def _split_frame(n_negative: int, n_positive: int) -> pd.DataFrame:
    n = n_negative + n_positive
    return pd.DataFrame({"x": np.arange(n, dtype=float), "y": [0] * n_negative + [1] * n_positive})


def test_split_is_hashed_disjoint_and_reproducible() -> None:
    df = _split_frame(3000, 1000)
    schema = validate_and_infer_schema(df, _cfg(), SOURCE)
    train, val, test = split_data(df, schema, SplitConfig(), SOURCE)
    # Each row is test with probability 0.2: 800 expected, binomial sd 25; 5 sd either way.
    assert abs(len(test) - 800) < 125 and abs(len(val) - 800) < 125
    for part in (train, val, test):
        assert abs(part["y"].mean() - 0.25) < 0.05  # both classes at about their overall rate
        assert list(part.index) == list(range(len(part)))
    assert set(train["x"]).isdisjoint(val["x"]) and set(val["x"]).isdisjoint(test["x"])
    assert len(set(train["x"]) | set(val["x"]) | set(test["x"])) == 4000
    again = split_data(df, schema, SplitConfig(), SOURCE)
    for first, second in zip((train, val, test), again, strict=True):
        pd.testing.assert_frame_equal(first, second)
    other = split_data(df, schema, SplitConfig(random_state=1), SOURCE)
    assert not train["x"].equals(other[0]["x"])


def test_a_rows_split_survives_appended_rows_and_shuffling() -> None:
    """Issue 12: a row stays in its split when the data grows or is reordered."""
    df = _split_frame(300, 100)
    schema = validate_and_infer_schema(df, _cfg(), SOURCE)
    before = pd.Series(assign_splits(df, schema, SplitConfig()), index=df["x"])
    grown = pd.concat([df, _split_frame(50, 50).assign(x=lambda f: f["x"] + 1000)])
    grown = grown.sample(frac=1.0, random_state=0)
    after = pd.Series(assign_splits(grown, schema, SplitConfig()), index=grown["x"])
    pd.testing.assert_series_equal(after.loc[before.index], before)


def test_split_keys_are_read_by_value_not_dtype() -> None:
    """An integer column that gains a null (int64 -> float64) keeps every row's split."""
    df = pd.DataFrame({"k": np.arange(200, dtype=np.int64), "y": [0, 1] * 100})
    schema = validate_and_infer_schema(df, _cfg(), SOURCE)
    split = SplitConfig(key_columns=["k"])
    as_float = df.assign(k=df["k"].astype(np.float64))
    as_text = df.assign(k=df["k"].astype("Int64"))
    expected = assign_splits(df, schema, split)
    np.testing.assert_array_equal(assign_splits(as_float, schema, split), expected)
    np.testing.assert_array_equal(assign_splits(as_text, schema, split), expected)


def test_split_with_too_few_rows_of_a_class() -> None:
    df = _split_frame(100, 3)
    schema = validate_and_infer_schema(df, _cfg(), SOURCE)
    with pytest.raises(DataValidationError) as info:
        split_data(df, schema, SplitConfig(), SOURCE)
    message = str(info.value)
    assert info.value.column == "y"
    assert message.startswith(f"{SOURCE}: column 'y': fewer rows than the split needs")
    assert "needs at least 2 of each" in message


def test_few_distinct_rows_point_to_key_columns() -> None:
    """Identical rows share a split, so a table of few distinct rows cannot fill every split."""
    df = pd.DataFrame({"x": [0.0, 1.0] * 100, "y": [0, 1] * 100})
    schema = validate_and_infer_schema(df, _cfg(), SOURCE)
    with pytest.raises(DataValidationError) as info:
        split_data(df, schema, SplitConfig(), SOURCE)
    assert "only 2 distinct row keys among 200 rows" in str(info.value)
    assert "set split.key_columns to an ID column" in str(info.value)
    with_id = df.assign(row_id=np.arange(200))
    train, val, test = split_data(with_id, schema, SplitConfig(key_columns=["row_id"]), SOURCE)
    assert len(train) + len(val) + len(test) == 200


def test_contract_differences_name_what_makes_models_incomparable() -> None:
    schema = FeatureSchema(
        target="churn",
        positive_label="yes",
        negative_label="no",
        numeric_features=["tenure"],
        categorical_features=["plan"],
        dropped_columns=["row_id"],
    )
    same = schema.to_dict() | {"dropped_columns": [], "negative_label": "n"}
    assert schema.contract_differences(same) == []
    other = schema.to_dict() | {"positive_label": "no", "categorical_features": ["plan", "x"]}
    assert schema.contract_differences(other) == ["positive_label", "categorical_features"]
    assert schema.contract_differences({}) == list(FeatureSchema.CONTRACT_KEYS)


def test_row_hashes_equal_pandas_hash_of_the_canonical_frame() -> None:
    """Column-at-a-time hashing gives pandas' frame hash bit for bit, so no row's split moves."""
    from tabular_classifier.data import row_key_hashes

    rng = np.random.default_rng(5)
    n = 500
    df = pd.DataFrame(
        {
            "f": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
            "z": rng.choice([0.0, -0.0, 1.5], size=n),
            "i": pd.array(np.where(rng.random(n) < 0.1, None, rng.integers(0, 9, n)), "Int64"),
            "b": rng.choice([True, False], size=n),
            "s": rng.choice(np.array(["a", "b", None], dtype=object), size=n),
            "c": pd.Categorical(rng.choice([1, 2, None], size=n)),
            "o": rng.choice(np.array([True, False, None], dtype=object), size=n),
        }
    )
    canonical = pd.DataFrame(
        {
            "f": df["f"].to_numpy() + 0.0,
            "z": df["z"].to_numpy() + 0.0,
            "i": df["i"].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan) + 0.0,
            "b": df["b"].astype(np.float64).to_numpy() + 0.0,
            "s": df["s"].astype("string").fillna("\x00null").to_numpy(dtype=object),
            # integer categories and object booleans hash as the numbers they are
            "c": df["c"].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan) + 0.0,
            "o": df["o"].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan) + 0.0,
        }
    )
    expected = pd.util.hash_pandas_object(canonical, index=False).to_numpy(dtype=np.uint64)
    np.testing.assert_array_equal(row_key_hashes(df, list(df.columns)), expected)
    np.testing.assert_array_equal(
        row_key_hashes(df, ["s", "f"]),
        pd.util.hash_pandas_object(canonical[["s", "f"]], index=False).to_numpy(np.uint64),
    )


def test_a_non_numeric_batch_value_advises_the_training_config_not_the_batch_one(
    tmp_path: Path,
) -> None:
    # Walkthrough: a batch CSV with "oops" in a float column advised "data.na_values", a key
    # batch_inference.yaml does not have; the model reads with its training config's.
    from tabular_classifier.batch import read_batch
    from tabular_classifier.contract import FeatureSpec, RowContract

    path = tmp_path / "batch.csv"
    path.write_text("x1,x2\n1.0,2.0\n1.5,oops\n?,3.0\n")
    contract = RowContract([FeatureSpec("x1", "float"), FeatureSpec("x2", "float")], [], ["?"])
    with pytest.raises(DataValidationError) as info:
        read_batch(str(path), contract)
    message = str(info.value)
    assert message.startswith(f"{path}: column 'x2': non-numeric value 'oops' at row 1 (")
    assert "correct the value in this file" in message
    assert "data.na_values in the training run config and train again" in message
    assert "under data.na_values to read them" not in message
    fixed = tmp_path / "fixed.csv"
    fixed.write_text("x1,x2\n1.0,2.0\n1.5,\n?,3.0\n")
    batch = read_batch(str(fixed), contract)
    assert batch["x2"].isna().tolist() == [False, True, False]
    assert batch["x1"].isna().tolist() == [False, False, True]  # "?" is the model's na_value


def test_a_written_index_column_is_refused_unless_dropped_or_listed(tmp_path: Path) -> None:
    # Walkthrough: a table saved with `to_csv()` (index kept) trained on its row index,
    # "Unnamed: 0", as a numeric feature without a word.
    path = tmp_path / "with_index.csv"
    _frame().to_csv(path)
    frame = pd.read_csv(path)
    assert frame.columns[0] == "Unnamed: 0"
    message = _fails(frame, _cfg(), "Unnamed: 0", "a column without a header name")
    assert "List it under drop_columns" in message
    schema = validate_and_infer_schema(frame, _cfg(drop_columns=["Unnamed: 0"]), SOURCE)
    assert schema.feature_columns == ["age", "income", "city", "member"]
    assert schema.dropped_columns == ["Unnamed: 0"]
    listed = _cfg(numeric_features=["Unnamed: 0", "age", "income"])
    assert "Unnamed: 0" in validate_and_infer_schema(frame, listed, SOURCE).numeric_features


def test_a_missing_target_suggests_close_column_names() -> None:
    # Walkthrough: a renamed target's error listed only the first 10 columns, not the renamed one.
    frame = _frame().rename(columns={"y": "label"})
    for n in range(12):
        frame[f"extra_{n:02d}"] = 0.0
    frame = frame[[c for c in frame.columns if c != "label"] + ["label"]]
    message = _fails(frame, _cfg(target="labels"), "labels", "target column not found")
    assert "did you mean 'label'?" in message
    assert "did you mean" not in _fails(_frame(), _cfg(target="zzz"), "zzz", "not found")


def test_a_batch_with_an_id_column_is_told_about_passthrough_columns(tmp_path: Path) -> None:
    # Walkthrough: "unknown columns: 'customer_id'" did not say how to keep an ID column.
    from tabular_classifier.batch import read_batch
    from tabular_classifier.contract import FeatureSpec, RowContract

    path = tmp_path / "batch.csv"
    path.write_text("customer_id,x1\nc1,1.0\nc2,2.0\n")
    contract = RowContract([FeatureSpec("x1", "float")])
    with pytest.raises(DataValidationError) as info:
        read_batch(str(path), contract)
    assert info.value.column == "customer_id"
    assert str(info.value) == (
        f"{path}: column 'customer_id': unknown columns: 'customer_id'; the model takes 'x1'; "
        "to carry such columns (IDs, timestamps) to the output without scoring them, list them "
        "under passthrough_columns in the run config"
    )
    batch = read_batch(str(path), contract, ["customer_id"])
    assert batch["customer_id"].tolist() == ["c1", "c2"]
