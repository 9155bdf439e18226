"""FittedPreprocessor must reproduce the fitted scikit-learn ColumnTransformer exactly."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest

from tabular_classifier import fitted_preprocessor
from tabular_classifier.contract import SMALL_FRAME_CELLS, category_text
from tabular_classifier.data import FeatureSchema
from tabular_classifier.features import (
    MISSING_CATEGORY,
    FittedPreprocessor,
    build_preprocessor,
)

NUMERIC = [f"n{i}" for i in range(6)]
CATEGORICAL = ["colour", "size", "code", "flag"]
SCHEMA = FeatureSchema("y", 1, 0, NUMERIC, CATEGORICAL, [])


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({c: rng.normal(i, 1 + i, size=n) for i, c in enumerate(NUMERIC)})
    frame.loc[rng.random(n) < 0.1, "n0"] = np.nan
    frame.loc[rng.random(n) < 0.3, "n3"] = np.nan
    frame["n5"] = 7.0  # constant: StandardScaler's zero-variance case
    frame["colour"] = rng.choice(np.array(["red", "green", "blue", None], dtype=object), size=n)
    frame["size"] = rng.choice(["S", "M", "L"], size=n)
    codes = rng.choice([1.0, 2.0, 3.0, np.nan], size=n)  # integer codes made float by a null
    frame["code"] = codes
    frame["flag"] = rng.choice([True, False], size=n)
    frame["y"] = rng.integers(0, 2, size=n)
    return frame


def _serving_frame(n: int, seed: int) -> pd.DataFrame:
    frame = _frame(n, seed)
    frame["colour"] = frame["colour"].astype(object)
    frame.loc[0, "colour"] = "purple"  # unseen category
    frame.loc[1, "size"] = None  # missing where training had no missing value
    frame["code"] = frame["code"].astype(object)
    frame.loc[2, "code"] = 9  # unseen integer code
    frame.loc[3, "code"] = 2  # int where training had float 2.0
    frame.loc[4, NUMERIC[:3]] = np.nan
    return frame


@pytest.fixture(scope="module")
def fitted() -> tuple[object, FittedPreprocessor]:
    train = _frame(300, seed=0)
    ct = build_preprocessor(SCHEMA).fit(train)
    return ct, FittedPreprocessor.from_column_transformer(ct, SCHEMA)


@pytest.mark.parametrize("n_rows", [1, 50, SMALL_FRAME_CELLS // 10])
def test_transform_matches_sklearn(fitted: tuple, n_rows: int) -> None:
    ct, preprocessor = fitted
    frame = _serving_frame(max(n_rows, 5), seed=1).head(n_rows)
    expected = ct.transform(frame)
    actual = preprocessor.transform(frame)
    assert actual.dtype == np.float32
    assert actual.shape == expected.shape == (n_rows, preprocessor.n_features_out)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-6)
    # Same float64 arithmetic as scikit-learn, so the float32 results are identical.
    np.testing.assert_array_equal(actual, expected.astype(np.float32))


def test_unknown_and_missing_categories_encode_as_documented(fitted: tuple) -> None:
    _, preprocessor = fitted
    out = preprocessor.transform(_serving_frame(10, seed=1))
    names = preprocessor.feature_names_out
    colour = [i for i, name in enumerate(names) if name.startswith("colour_")]
    size = [i for i, name in enumerate(names) if name.startswith("size_")]
    code = [i for i, name in enumerate(names) if name.startswith("code_")]
    assert out[0, colour].sum() == 0  # "purple" unseen: all zeros
    assert out[1, size].sum() == 0  # missing, but training had no missing size
    assert f"colour_{MISSING_CATEGORY}" in names  # training had missing colours
    assert out[2, code].sum() == 0  # unseen code 9
    assert out[3, names.index("code_2")] == 1.0  # int 2 is the category of float 2.0
    assert np.isfinite(out).all()


def test_feature_names_match_sklearn(fitted: tuple) -> None:
    ct, preprocessor = fitted
    assert preprocessor.feature_names_out == list(ct.get_feature_names_out())
    assert preprocessor.n_features_out == len(preprocessor.feature_names_out)
    assert preprocessor.feature_names_out[: len(NUMERIC)] == NUMERIC


def test_parameters_come_from_the_training_split(fitted: tuple) -> None:
    _, preprocessor = fitted
    train = _frame(300, seed=0)
    np.testing.assert_array_equal(preprocessor.medians[:1], [train["n0"].median()])
    assert preprocessor.scales[NUMERIC.index("n5")] == 1.0
    assert preprocessor.categories[CATEGORICAL.index("size")] == ["L", "M", "S"]


def test_json_round_trip_is_exact(fitted: tuple) -> None:
    _, preprocessor = fitted
    restored = FittedPreprocessor.from_dict(json.loads(json.dumps(preprocessor.to_dict())))
    for name in ("medians", "means", "scales"):
        np.testing.assert_array_equal(getattr(restored, name), getattr(preprocessor, name))
    assert restored.to_dict() == preprocessor.to_dict()
    frame = _serving_frame(40, seed=2)
    np.testing.assert_array_equal(restored.transform(frame), preprocessor.transform(frame))


def test_column_order_and_extra_columns_do_not_matter(fitted: tuple) -> None:
    _, preprocessor = fitted
    frame = _serving_frame(20, seed=3)
    shuffled = frame[list(reversed(frame.columns))].assign(unused="x")
    np.testing.assert_array_equal(preprocessor.transform(shuffled), preprocessor.transform(frame))


def test_numeric_strings_and_nullable_integers_are_accepted(fitted: tuple) -> None:
    _, preprocessor = fitted
    frame = _serving_frame(5, seed=4)
    text = frame.astype({"n1": object})
    text["n1"] = [str(v) for v in frame["n1"]]
    np.testing.assert_array_equal(preprocessor.transform(text), preprocessor.transform(frame))
    nullable = frame.assign(n2=pd.array([1, None, 3, 4, 5], dtype="Int64"))
    plain = frame.assign(n2=[1.0, np.nan, 3.0, 4.0, 5.0])
    np.testing.assert_array_equal(preprocessor.transform(nullable), preprocessor.transform(plain))


def test_missing_column_raises_key_error_naming_all(fitted: tuple) -> None:
    _, preprocessor = fitted
    with pytest.raises(KeyError, match=r"\['n1', 'size'\]"):
        preprocessor.transform(_frame(3, seed=5).drop(columns=["n1", "size"]))


def test_non_numeric_value_names_the_column(fitted: tuple) -> None:
    _, preprocessor = fitted
    frame = _frame(3, seed=5).astype({"n4": object})
    frame.loc[1, "n4"] = "abc"
    with pytest.raises(ValueError, match="column 'n4'"):
        preprocessor.transform(frame)


def test_all_null_training_column_keeps_the_output_width() -> None:
    schema = FeatureSchema("y", 1, 0, ["a", "b"], [], [])
    train = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [np.nan] * 3})
    ct = build_preprocessor(schema).fit(train)
    preprocessor = FittedPreprocessor.from_column_transformer(ct, schema)
    serving = pd.DataFrame({"a": [2.0], "b": [5.0]})
    assert preprocessor.n_features_out == 2
    np.testing.assert_array_equal(preprocessor.transform(serving), ct.transform(serving))


def _assert_parity(ours: FittedPreprocessor, reference: FittedPreprocessor) -> None:
    """Parameters equal to scikit-learn's within 1e-6 (relative), categories exactly."""
    assert ours.numeric_columns == reference.numeric_columns
    assert ours.categorical_columns == reference.categorical_columns
    assert ours.categories == reference.categories
    for name in ("medians", "means", "scales"):
        np.testing.assert_allclose(
            getattr(ours, name), getattr(reference, name), rtol=1e-6, atol=1e-12, err_msg=name
        )


@pytest.mark.parametrize("chunk_rows", [1, 7, 64, 100_000])
def test_array_fit_matches_sklearn_within_1e_6(chunk_rows: int) -> None:
    train = _frame(500, seed=6)
    train["n1"] = 1e6 + train["n1"] * 1e-3  # large mean, small spread: cancellation
    train["n2"] = np.nan  # all null: median 0, scale 1 (keep_empty_features)
    train.loc[::3, "n4"] = np.nan
    reference = FittedPreprocessor.from_column_transformer(
        build_preprocessor(SCHEMA).fit(train), SCHEMA
    )
    block = train[NUMERIC].to_numpy(dtype=np.float64)
    texts = np.asarray(
        [
            [None if pd.isna(v) else category_text(v) for v in row]
            for row in train[CATEGORICAL].itertuples(index=False)
        ],
        dtype=object,
    ).reshape(len(train), len(CATEGORICAL))
    ours = FittedPreprocessor.fit_arrays(block, texts, NUMERIC, CATEGORICAL, chunk_rows)
    _assert_parity(ours, reference)
    assert ours.medians[2] == 0.0 and ours.scales[2] == 1.0 and ours.scales[5] == 1.0
    _assert_parity(FittedPreprocessor.fit(train, SCHEMA), reference)
    # The outputs agree too: float32 of the same float64 arithmetic on equal parameters.
    np.testing.assert_allclose(
        ours.transform(train), reference.transform(train), rtol=1e-6, atol=1e-6
    )


def test_array_fit_refuses_empty_or_mismatched_arrays() -> None:
    texts = np.empty((0, 1), dtype=object)
    with pytest.raises(ValueError, match="0 rows"):
        FittedPreprocessor.fit_arrays(np.empty((0, 1)), texts, ["a"], ["b"])
    with pytest.raises(ValueError, match="widths 1 and 0 for 2 numeric"):
        FittedPreprocessor.fit_arrays(
            np.zeros((3, 1)), np.empty((3, 0), dtype=object), ["a", "b"], []
        )


def test_transform_in_chunks_equals_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    train = _frame(300, seed=8)
    preprocessor = FittedPreprocessor.fit(train, SCHEMA)
    serving = _serving_frame(257, seed=9)
    whole = preprocessor.transform(serving)
    monkeypatch.setattr(fitted_preprocessor, "CHUNK_ROWS", 16)
    np.testing.assert_array_equal(preprocessor.transform(serving), whole)


def test_numeric_only_and_categorical_only_schemas() -> None:
    train = _frame(50, seed=7)
    for schema in (
        FeatureSchema("y", 1, 0, NUMERIC, [], []),
        FeatureSchema("y", 1, 0, [], CATEGORICAL, []),
    ):
        ct = build_preprocessor(schema).fit(train)
        preprocessor = FittedPreprocessor.from_column_transformer(ct, schema)
        np.testing.assert_array_equal(
            preprocessor.transform(train), ct.transform(train).astype(np.float32)
        )


def test_schema_without_features_is_rejected() -> None:
    with pytest.raises(ValueError, match="no feature columns"):
        build_preprocessor(FeatureSchema("y", 1, 0, [], [], []))


def test_unfitted_or_foreign_transformer_is_rejected() -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.exceptions import NotFittedError
    from sklearn.preprocessing import StandardScaler

    with pytest.raises(NotFittedError):
        FittedPreprocessor.from_column_transformer(build_preprocessor(SCHEMA), SCHEMA)
    foreign = ColumnTransformer([("scaled", StandardScaler(), NUMERIC)]).fit(_frame(20, 8))
    with pytest.raises(ValueError, match="not built by build_preprocessor"):
        FittedPreprocessor.from_column_transformer(
            foreign, FeatureSchema("y", 1, 0, NUMERIC, [], [])
        )


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("missing_category", "<NA>", "missing_category"),
        ("medians", [0.0], "medians has 1 values"),
        ("scales", [1.0] * 5 + [0.0], "scales must be positive"),
        ("means", [float("nan")] * 6, "'means' must be a list of finite numbers"),
        ("categories", [["a"], ["b"], ["c"]], "3 category lists for 4"),
        ("categories", [["a", "a"], ["b"], ["c"], ["d"]], "repeated categories"),
        ("numeric_columns", "n0", "'numeric_columns' must be a list of strings"),
    ],
)
def test_from_dict_rejects_bad_payloads(
    fitted: tuple, key: str, value: object, message: str
) -> None:
    payload = fitted[1].to_dict()
    payload[key] = value
    with pytest.raises(ValueError, match=message):
        FittedPreprocessor.from_dict(payload)


def test_one_row_transform_is_fast() -> None:
    columns = [f"f{i}" for i in range(30)]
    schema = FeatureSchema("y", 1, 0, columns, [], [])
    train = pd.DataFrame(np.random.default_rng(9).normal(size=(200, 30)), columns=columns)
    preprocessor = FittedPreprocessor.fit(train, schema)
    row = train.head(1)
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(200):
            preprocessor.transform(row)
        timings.append((time.perf_counter() - start) / 200)
    # Target is 100 us; allow slack for a loaded CI machine.
    assert min(timings) < 300e-6, f"1-row transform took {min(timings) * 1e6:.0f} us"


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"a": [1, 2, 3, 4], "b": [5, 6, 7, 9], "c": [1, 2, 1, 2]}),
        pd.DataFrame({"a": [True, False, True, True], "b": [1, 0, 0, 1], "c": [True, False] * 2}),
        pd.DataFrame(
            {
                "a": pd.array([1, None, 3, 4], dtype="Int64"),
                "b": [0.5, None, 2.5, 1.0],
                "c": pd.array(["x", None, "y", "x"], dtype="string"),
            }
        ),
    ],
    ids=["integers", "booleans", "nullable"],
)
def test_homogeneous_and_extension_dtypes_match_sklearn(frame: pd.DataFrame) -> None:
    schema = FeatureSchema("y", 1, 0, ["a", "b"], ["c"], [])
    ct = build_preprocessor(schema).fit(frame)
    preprocessor = FittedPreprocessor.from_column_transformer(ct, schema)
    for rows in (frame, frame.head(1), pd.concat([frame] * 10_000, ignore_index=True)):
        np.testing.assert_array_equal(
            preprocessor.transform(rows), ct.transform(rows).astype(np.float32)
        )
