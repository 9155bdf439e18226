"""The row contract: types inferred in training, and the one set of rules for every input path."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tabular_classifier.contract.columns as contract_module
from tabular_classifier.contract import (
    ErrorKind,
    FeatureSpec,
    RowContract,
    scorable_z_bound,
)
from tabular_classifier.errors import InputValidationError
from tabular_classifier.predictor import ModelBundle, Predictor
from tests.conftest import CoreTrainedModel

NAMES = ["x", "amount", "code", "visits", "is_member", "city", "plan"]


@pytest.fixture(scope="module")
def mixed(core_mixed_model: CoreTrainedModel) -> CoreTrainedModel:
    return core_mixed_model


@pytest.fixture(scope="module")
def contract(mixed: CoreTrainedModel) -> RowContract:
    return mixed.bundle.contract


def _row(**values: Any) -> list[Any]:
    base: dict[str, Any] = {name: None for name in NAMES}
    base.update(values)
    return [base[name] for name in NAMES]


def test_types_nullability_ranges_and_categories_come_from_training(
    contract: RowContract, mixed: CoreTrainedModel
) -> None:
    specs = {spec.name: spec for spec in contract.features}
    assert {name: spec.type for name, spec in specs.items()} == {
        "x": "float",
        "amount": "float",
        "code": "integer",
        "visits": "integer",
        "is_member": "boolean",
        "city": "categorical",
        "plan": "categorical",
    }
    assert {name: spec.nullable for name, spec in specs.items()} == {
        "x": False,
        "amount": True,
        "code": False,
        "visits": True,
        "is_member": True,
        "city": True,
        "plan": False,
    }
    assert specs["code"].minimum == mixed.train["code"].min() == 100
    assert specs["code"].maximum == mixed.train["code"].max() == 109
    assert specs["is_member"].categories == ("False", "True")
    assert specs["city"].categories == ("lyon", "nice", "paris")
    assert specs["plan"].categories == ("basic", "pro")
    # Scorable bounds are far outside the data, and symmetric around the training mean.
    scaler_mean = mixed.bundle.preprocessor.means[0]
    assert specs["x"].lower < -1e20 and specs["x"].upper > 1e20
    assert math.isclose((specs["x"].lower + specs["x"].upper) / 2, scaler_mean, abs_tol=1e10)
    assert contract.ignored_columns == ("churn", "row_id")


def test_contract_round_trips_through_the_bundle(mixed: CoreTrainedModel) -> None:
    loaded = ModelBundle.load(mixed.bundle_dir)
    assert loaded.contract == mixed.bundle.contract
    assert RowContract.from_dict(json.loads(json.dumps(loaded.contract.to_dict()))) == (
        loaded.contract
    )


def test_format_1_bundles_load_with_a_derived_contract(
    mixed: CoreTrainedModel, tmp_path: Path
) -> None:
    target = tmp_path / "old"
    mixed.bundle.save(target)
    metadata = json.loads((target / "metadata.json").read_text())
    metadata["format_version"] = 1
    del metadata["contract"]
    (target / "metadata.json").write_text(json.dumps(metadata))
    old = ModelBundle.load(target)
    assert [spec.type for spec in old.contract.features] == ["float"] * 4 + ["categorical"] * 3
    assert old.contract.spec("is_member").categories == ("False", "True")
    assert old.contract.spec("x").upper == mixed.bundle.contract.spec("x").upper
    frame = mixed.test.head(5)
    np.testing.assert_array_equal(
        Predictor(old).predict_proba(frame), Predictor(mixed.bundle).predict_proba(frame)
    )


@pytest.mark.parametrize(
    ("column", "value", "kind"),
    [
        ("x", "1.5", ErrorKind.WRONG_TYPE),
        ("x", True, ErrorKind.WRONG_TYPE),
        ("x", math.inf, ErrorKind.NOT_FINITE),
        ("x", -math.inf, ErrorKind.NOT_FINITE),
        ("x", 1e308, ErrorKind.OUT_OF_RANGE),
        ("x", 10**400, ErrorKind.OUT_OF_RANGE),
        ("code", 2.5, ErrorKind.WRONG_TYPE),
        ("code", "3", ErrorKind.WRONG_TYPE),
        ("is_member", 1, ErrorKind.WRONG_TYPE),
        ("is_member", "true", ErrorKind.WRONG_TYPE),
        ("city", ["paris"], ErrorKind.WRONG_TYPE),
        ("city", {"a": 1}, ErrorKind.WRONG_TYPE),
        ("city", math.inf, ErrorKind.NOT_FINITE),
    ],
)
def test_each_refusal_names_its_kind_column_and_row_on_both_paths(
    contract: RowContract, column: str, value: Any, kind: ErrorKind
) -> None:
    rows = [_row(), _row(**{column: value})]
    with pytest.raises(InputValidationError) as from_json:
        contract.parse_rows(NAMES, rows)
    assert (from_json.value.kind, from_json.value.column, from_json.value.row) == (kind, column, 1)
    assert f"column '{column}'" in str(from_json.value)
    with pytest.raises(InputValidationError) as from_frame:
        contract.parse_frame(pd.DataFrame(rows, columns=NAMES, dtype=object))
    assert (from_frame.value.kind, from_frame.value.column, from_frame.value.row) == (
        kind,
        column,
        1,
    )


def test_nan_is_null_in_pandas_and_refused_in_json(contract: RowContract) -> None:
    frame = pd.DataFrame([_row(x=float("nan"))], columns=NAMES)
    assert np.isnan(contract.parse_frame(frame).numeric[0, 0])
    with pytest.raises(InputValidationError) as err:
        contract.parse_rows(NAMES, [_row(x=float("nan"))])
    assert err.value.kind == ErrorKind.NOT_FINITE


@pytest.mark.parametrize(
    ("columns", "kind", "column"),
    [
        (["x", *NAMES], ErrorKind.DUPLICATE_COLUMN, "x"),
        (NAMES[1:], ErrorKind.MISSING_COLUMN, "x"),
        ([*NAMES, "zip"], ErrorKind.UNKNOWN_COLUMN, "zip"),
    ],
)
def test_column_errors(
    contract: RowContract, columns: list[str], kind: ErrorKind, column: str
) -> None:
    with pytest.raises(InputValidationError) as err:
        contract.parse_rows(columns, [[None] * len(columns)])
    assert (err.value.kind, err.value.column) == (kind, column)


def test_target_and_dropped_columns_are_accepted_and_ignored(
    contract: RowContract, mixed: CoreTrainedModel
) -> None:
    frame = mixed.test.head(3)
    assert set(frame.columns) == {*NAMES, "churn", "row_id"}
    with_extra = contract.parse_frame(frame)
    only_features = contract.parse_frame(frame[NAMES[::-1]])
    np.testing.assert_array_equal(with_extra.numeric, only_features.numeric)
    assert (with_extra.categorical == only_features.categorical).all()


def test_empty_batch(contract: RowContract) -> None:
    with pytest.raises(InputValidationError) as err:
        contract.parse_rows(NAMES, [])
    assert err.value.kind == ErrorKind.EMPTY
    with pytest.raises(InputValidationError) as err:
        contract.parse_frame(pd.DataFrame(columns=NAMES))
    assert err.value.kind == ErrorKind.EMPTY


def test_first_error_is_row_major_in_contract_order(contract: RowContract) -> None:
    rows = [_row(), _row(plan=[1], x="a"), _row(code=1.5)]
    # Sent in another column order: the contract's order still decides.
    order = NAMES[::-1]
    sent = [[row[NAMES.index(name)] for name in order] for row in rows]
    for parse in (
        lambda: contract.parse_rows(order, sent),
        lambda: contract.parse_frame(pd.DataFrame(sent, columns=order, dtype=object)),
    ):
        with pytest.raises(InputValidationError) as err:
            parse()
        assert (err.value.row, err.value.column) == (1, "x")


def test_canonical_values_and_unknown_categories(contract: RowContract) -> None:
    rows = [
        _row(x=1, code=3.0, is_member=True, city="paris", plan="pro"),
        _row(x=2.5, code=4, is_member=None, city="rome", plan=7),
    ]
    parsed = contract.parse_rows(NAMES, rows)
    assert parsed.json_rows() == [
        [1.0, None, 3, None, True, "paris", "pro"],
        [2.5, None, 4, None, None, "rome", "7"],
    ]
    assert parsed.unknown_categories() == {"city": 1, "plan": 1}
    assert parsed.unknown_per_row().tolist() == [0, 2]
    again = contract.parse_rows(NAMES, parsed.json_rows())
    assert again.json_rows() == parsed.json_rows()
    frame = contract.parse_frame(pd.DataFrame(rows, columns=NAMES))
    assert frame.json_rows() == parsed.json_rows()


def test_storage_frame_survives_parquet(
    contract: RowContract, mixed: CoreTrainedModel, tmp_path: Path
) -> None:
    parsed = contract.parse_frame(mixed.test)
    storage = parsed.storage_frame()
    assert [str(storage[c].dtype) for c in NAMES] == [
        "float64",
        "float64",
        "Int64",
        "Int64",
        "boolean",
        "object",
        "object",
    ]
    storage.to_parquet(tmp_path / "rows.parquet")
    back = contract.parse_frame(pd.read_parquet(tmp_path / "rows.parquet"))
    assert back.json_rows() == parsed.json_rows()
    analysis = parsed.analysis_frame()
    assert [str(analysis[c].dtype) for c in NAMES] == ["float64"] * 4 + ["object"] * 3
    assert set(analysis["is_member"].dropna()) == {"True", "False"}


def test_split_valid_sets_bad_rows_aside(contract: RowContract) -> None:
    rows = [_row(x=1.0), _row(x="bad"), _row(code=2.5), _row(x=2.0)]
    frame = pd.DataFrame(rows, columns=NAMES, index=[10, 11, 12, 13])
    valid, problems = contract.split_valid(frame)
    assert list(valid.index) == [10, 13]
    assert [(p.position, p.column, p.kind) for p in problems] == [
        (1, "x", ErrorKind.WRONG_TYPE),
        (2, "code", ErrorKind.WRONG_TYPE),
    ]
    assert "at row 11" in problems[0].message


def test_null_boolean_is_the_missing_category_not_false(mixed: CoreTrainedModel) -> None:
    """Issue 9, case 1: a null boolean was scored as false through MLflow's JSON path."""
    predictor = Predictor(mixed.bundle)
    contract = mixed.bundle.contract
    base = mixed.test[NAMES].head(1).astype(object)
    as_null = predictor.score(contract.parse_rows(NAMES, [_with(base, is_member=None)]))
    as_false = predictor.score(contract.parse_rows(NAMES, [_with(base, is_member=False)]))
    assert as_null[0] != as_false[0]
    frame = pd.DataFrame([_with(base, is_member=None)], columns=NAMES)
    frame["is_member"] = frame["is_member"].astype("boolean")
    assert predictor.predict_proba(frame)[0] == as_null[0]


def _with(base: pd.DataFrame, **values: Any) -> list[Any]:
    row = {k: (None if pd.isna(v) else v) for k, v in base.iloc[0].to_dict().items()}
    row.update(values)
    return [row[name] for name in NAMES]


def test_extreme_numbers_never_give_nan(mixed: CoreTrainedModel) -> None:
    """Issue 9, case 3: 1e308 gave a NaN probability; within the bound the output is finite."""
    predictor = Predictor(mixed.bundle)
    contract = mixed.bundle.contract
    base = mixed.test[NAMES].head(1).astype(object)
    for name in contract.numeric_features:
        spec = contract.spec(name)
        for edge in (spec.lower, spec.upper):
            proba = predictor.score(contract.parse_rows(NAMES, [_with(base, **{name: edge})]))
            assert np.isfinite(proba).all()
        with pytest.raises(InputValidationError) as err:
            contract.parse_rows(NAMES, [_with(base, **{name: 1e308})])
        assert (err.value.kind, err.value.column) == (ErrorKind.OUT_OF_RANGE, name)


@given(
    sizes=st.lists(st.integers(1, 64), min_size=1, max_size=4),
    scale=st.floats(1e-3, 1e3),
    seed=st.integers(0, 2**16),
)
@settings(max_examples=30, deadline=None, derandomize=True)
def test_scorable_z_bound_keeps_every_network_finite(
    sizes: list[int], scale: float, seed: int
) -> None:
    torch.manual_seed(seed)
    dims = [5, *sizes, 1]
    layers = []
    modules: list[torch.nn.Module] = []
    for n_in, n_out in zip(dims[:-1], dims[1:], strict=True):
        linear = torch.nn.Linear(n_in, n_out)
        with torch.no_grad():
            linear.weight.mul_(scale)
            linear.bias.mul_(scale)
        layers.append(
            (linear.weight.detach().double().numpy(), linear.bias.detach().double().numpy())
        )
        modules += [linear, torch.nn.ReLU()]
    network = torch.nn.Sequential(*modules[:-1])
    z = scorable_z_bound(layers)
    signs = torch.tensor(np.random.default_rng(seed).choice([-1.0, 1.0], (64, 5)))
    with torch.no_grad():
        out = network((signs * z).float())
    assert torch.isfinite(out).all()


def _frame_of(columns: dict[str, list[Any]]) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(values, dtype=object) for name, values in columns.items()})


VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, width=64),
    st.sampled_from(["paris", "pro", "1.5", "", "basic"]),
)


@given(data=st.data())
@settings(max_examples=60, deadline=None, derandomize=True)
def test_fast_and_per_value_paths_agree(
    contract: RowContract, data: st.DataObject, monkeypatch_module: Any
) -> None:
    n_rows = data.draw(st.integers(1, 6))
    rows = [[data.draw(VALUES) for _ in NAMES] for _ in range(n_rows)]
    typed = data.draw(st.booleans())
    frame = (
        pd.DataFrame(rows, columns=NAMES)
        if typed
        else _frame_of({name: [row[i] for row in rows] for i, name in enumerate(NAMES)})
    )
    outcomes = []
    for cells in (contract_module.SMALL_FRAME_CELLS, 0):
        monkeypatch_module.setattr(contract_module, "SMALL_FRAME_CELLS", cells)
        valid, problems = contract.split_valid(frame)
        outcomes.append(
            (
                list(valid.index),
                valid.json_rows(),
                [(p.position, p.column, str(p.kind)) for p in problems],
            )
        )
    monkeypatch_module.setattr(contract_module, "SMALL_FRAME_CELLS", 100_000)
    assert outcomes[0] == outcomes[1]


@pytest.fixture(scope="module")
def monkeypatch_module() -> Any:
    patch = pytest.MonkeyPatch()
    yield patch
    patch.undo()


def test_infer_refuses_booleans_in_a_numeric_feature() -> None:
    frame = pd.DataFrame({"flag": [True, False]})
    with pytest.raises(ValueError, match="flag"):
        RowContract.infer(frame, ["flag"], [])


def test_numbers_must_come_first() -> None:
    with pytest.raises(ValueError, match="numeric features must come first"):
        RowContract([FeatureSpec("c", "categorical"), FeatureSpec("x", "float")])


@pytest.mark.parametrize("n_rows", [3, 5_000])  # the small-frame path and the column path
def test_integer_categories_parse_alike_as_category_or_as_plain_integers(n_rows: int) -> None:
    # pyarrow reads a Parquet column of integer categories back as int64 (see
    # tabular_classifier.parquet_categories); the monitoring log reader does not restore the
    # dtype, so a window from a batch-*.parquet log reaches the contract as plain integers.
    contract = RowContract(
        [FeatureSpec("a", "float"), FeatureSpec("c", "categorical", categories=("1", "2", "3"))]
    )
    plain = pd.DataFrame({"a": np.arange(n_rows, dtype=float), "c": np.arange(n_rows) % 4 + 1})
    as_category = plain.assign(c=plain["c"].astype("category"))
    parsed_plain, parsed_category = contract.parse_frame(plain), contract.parse_frame(as_category)
    analysis = parsed_plain.analysis_frame()
    assert analysis["c"].tolist()[:4] == ["1", "2", "3", "4"][:n_rows]
    pd.testing.assert_frame_equal(analysis, parsed_category.analysis_frame())
    assert parsed_plain.json_rows() == parsed_category.json_rows()
