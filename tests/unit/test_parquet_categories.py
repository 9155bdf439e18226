"""A pandas ``category`` column of numbers stays categorical through every Parquet read.

Walkthrough: a Parquet file's ``category`` column of integer codes was trained as a numeric
feature, without a word, although the README says category columns are categorical. pyarrow
reads such a column back as ``int64``; ``tabular_classifier.parquet_categories`` restores it in
the file reader, the table materializer and ``ParquetTable``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from materializers import table_materializer
from materializers.table_materializer import ParquetTableMaterializer
from tabular_classifier.config import DataConfig, SplitConfig
from tabular_classifier.data import validate_and_infer_schema
from tabular_classifier.parquet_categories import restore_categories
from tabular_classifier.parquet_table import ParquetTable
from tabular_classifier.splits import DataSplit
from tabular_classifier.streamed_training import fit_bundle_streamed
from tabular_classifier.table_reader import read_table
from tabular_classifier.training import fit_bundle
from tests.training_helpers import small_model_config

ROWS = 400
CATEGORY_COLUMNS = ["tier", "grade", "plan", "rank"]


def _table() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    tier = rng.choice([1, 2, 3], ROWS)
    x = rng.normal(size=ROWS)
    grade = pd.Categorical(rng.choice([0.5, 1.5], ROWS))
    rank = pd.Categorical(rng.choice([10, 20], ROWS), categories=[20, 10], ordered=True)
    tier_with_nulls = pd.Categorical(tier)
    tier_with_nulls[:7] = np.nan
    return pd.DataFrame(
        {
            "x": x,
            "tier": tier_with_nulls,
            "grade": grade,
            "plan": pd.Categorical(rng.choice(["basic", "pro"], ROWS)),
            "rank": rank,
            "label": np.where(x + (tier == 3) > 0.5, "yes", "no"),
        }
    )


@pytest.fixture()
def parquet_file(tmp_path: Path) -> Path:
    path = tmp_path / "codes.parquet"
    _table().to_parquet(path, row_group_size=128)
    return path


def _assert_categories_kept(frame: pd.DataFrame) -> None:
    original = _table()
    for column in CATEGORY_COLUMNS:
        assert isinstance(frame[column].dtype, pd.CategoricalDtype), (column, frame[column].dtype)
        # The same values and nulls, whatever type pyarrow gave the numbers.
        assert frame[column].isna().tolist() == original[column].isna().tolist(), column
        present = original[column].notna()
        assert frame[column][present].astype(object).tolist() == (
            original[column][present].astype(object).tolist()
        ), column
    assert frame["rank"].dtype.ordered is True
    assert frame["x"].dtype == np.float64


def test_pyarrow_alone_reads_number_categories_back_as_numbers(parquet_file: Path) -> None:
    # The premise: if pyarrow ever keeps them, parquet_categories has nothing left to do.
    plain = pd.read_parquet(parquet_file)
    assert plain["tier"].dtype == np.float64  # integer codes with nulls
    assert plain["grade"].dtype == np.float64
    assert isinstance(plain["plan"].dtype, pd.CategoricalDtype)


def test_the_file_reader_keeps_them_and_validation_calls_them_categorical(
    parquet_file: Path,
) -> None:
    frame = read_table(str(parquet_file))
    _assert_categories_kept(frame)
    schema = validate_and_infer_schema(
        frame, DataConfig(path="codes.parquet", target="label", positive_label="yes"), "codes"
    )
    assert schema.numeric_features == ["x"]
    assert schema.categorical_features == ["tier", "grade", "plan", "rank"]


def test_the_trained_contract_types_them_categorical(parquet_file: Path) -> None:
    frame = read_table(str(parquet_file))
    cfg = DataConfig(path="codes.parquet", target="label", positive_label="yes")
    schema = validate_and_infer_schema(frame, cfg, "codes")
    bundle, _ = fit_bundle(small_model_config("codes"), schema, frame[:300], frame[300:])
    types = {spec.name: spec.type for spec in bundle.contract.features}
    assert types == {
        "x": "float",
        "tier": "categorical",
        "grade": "categorical",
        "plan": "categorical",
        "rank": "categorical",
    }
    assert sorted(bundle.preprocessor.categories[0]) == sorted(["1", "2", "3", "__missing__"])


def test_the_table_materializer_and_parquet_table_keep_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(table_materializer, "ROW_GROUP_ROWS", 128)
    materializer = ParquetTableMaterializer(uri=str(tmp_path))
    materializer.save(_table())
    _assert_categories_kept(materializer.load(pd.DataFrame))
    with ParquetTable(str(tmp_path / "table.parquet")) as stored:
        assert isinstance(stored.column("tier").dtype, pd.CategoricalDtype)
        groups = [frame for _, frame in stored.row_groups(CATEGORY_COLUMNS)]
    assert len(groups) == 4
    for frame in groups:
        for column in CATEGORY_COLUMNS:
            assert isinstance(frame[column].dtype, pd.CategoricalDtype), column


def test_a_table_without_lost_categories_is_returned_as_it_is() -> None:
    frame = pd.DataFrame({"a": [1, 2], "b": pd.Categorical(["x", "y"])})
    metadata = {"columns": [{"name": "b", "pandas_type": "categorical", "metadata": {}}]}
    assert restore_categories(frame, metadata) is frame
    assert restore_categories(frame, None) is frame


def test_streamed_training_from_the_file_equals_training_in_memory(parquet_file: Path) -> None:
    frame = read_table(str(parquet_file))
    cfg = DataConfig(path="codes.parquet", target="label", positive_label="yes")
    schema = validate_and_infer_schema(frame, cfg, "codes")
    split = DataSplit.compute(frame, schema, SplitConfig(), "md5", "codes")
    model_cfg = small_model_config("codes")
    in_memory, _ = fit_bundle(
        model_cfg, schema, split.take(frame, "train", schema), split.take(frame, "val", schema)
    )
    with ParquetTable(str(parquet_file)) as stored:
        streamed, _ = fit_bundle_streamed(model_cfg, schema, stored, split)
    assert streamed.contract.features == in_memory.contract.features
    assert streamed.preprocessor.categories == in_memory.preprocessor.categories
    for key, value in in_memory.model.state_dict().items():
        assert torch.equal(value, streamed.model.state_dict()[key]), key
