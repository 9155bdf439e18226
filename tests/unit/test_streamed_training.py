"""Training from the stored Parquet file by column and row group gives fit_bundle's bundle.

``fit_bundle_streamed`` (the training step's path) must build, from the file and the split
codes, exactly the bundle that ``fit_bundle`` builds from the two splits taken out of the whole
table: the same row contract, preprocessing numbers, network weights, temperature and decision
threshold. The table mixes every kind of column the contract knows (float with nulls, nullable
Int64, numbers written as text, text categories with nulls, booleans) and is written in row
groups of 64 rows, so that every split spans many groups.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from tabular_classifier.config import DataConfig, SplitConfig
from tabular_classifier.data import validate_and_infer_schema
from tabular_classifier.errors import DataValidationError
from tabular_classifier.feature_arrays import MISSING_CATEGORY
from tabular_classifier.parquet_table import ParquetTable
from tabular_classifier.splits import DataSplit
from tabular_classifier.streamed_training import fit_bundle_streamed
from tabular_classifier.training import fit_bundle
from tests.training_helpers import small_model_config

ROWS = 900
GROUP_ROWS = 64


def _table(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=ROWS)
    x[rng.random(ROWS) < 0.05] = np.nan
    counts = pd.array(rng.integers(0, 50, size=ROWS), dtype="Int64")
    counts[rng.random(ROWS) < 0.05] = pd.NA
    amount = [f"{v:.3f}" for v in rng.normal(100, 20, size=ROWS)]
    colour = rng.choice(["red", "green", "blue"], size=ROWS).astype(object)
    colour[rng.random(ROWS) < 0.05] = None
    flag = rng.random(ROWS) < 0.3
    score = np.nan_to_num(x) + 0.04 * np.asarray(counts.fillna(0), dtype=float)
    score += (colour == "red") * 1.0 + flag * 0.5 + rng.normal(scale=0.5, size=ROWS)
    return pd.DataFrame(
        {
            "x": x,
            "count": counts,
            "amount": amount,
            "colour": colour,
            "flag": flag,
            "label": np.where(score > np.median(score), "yes", "no"),
        }
    )


@pytest.fixture()
def stored(tmp_path: Path) -> tuple[pd.DataFrame, Path, DataConfig]:
    table = _table()
    path = tmp_path / "table.parquet"
    table.to_parquet(path, row_group_size=GROUP_ROWS)
    data_cfg = DataConfig(
        path="table.parquet",
        target="label",
        positive_label="yes",
        numeric_features=["x", "count", "amount"],
        categorical_features=["colour", "flag"],
    )
    return table, path, data_cfg


def _fit_both(table: pd.DataFrame, path: Path, data_cfg: DataConfig, **overrides: object):
    schema = validate_and_infer_schema(table, data_cfg, data_cfg.path)
    split = DataSplit.compute(table, schema, SplitConfig(), "md5", data_cfg.path)
    cfg = small_model_config("streamed", **overrides)
    in_memory, memory_result = fit_bundle(
        cfg, schema, split.take(table, "train", schema), split.take(table, "val", schema)
    )
    with ParquetTable(str(path)) as stored:
        streamed, streamed_result = fit_bundle_streamed(cfg, schema, stored, split)
    return (in_memory, memory_result), (streamed, streamed_result)


def test_streamed_bundle_equals_in_memory_bundle(stored) -> None:
    table, path, data_cfg = stored
    (a, ra), (b, rb) = _fit_both(
        table,
        path,
        data_cfg,
        temperature_scaling=True,
        decision_threshold={"rule": "max_f1"},
    )
    assert a.contract.features == b.contract.features
    assert [s.type for s in b.contract.features] == [
        "float",
        "integer",
        "float",
        "categorical",
        "boolean",
    ]
    assert b.contract.features[1].nullable is True
    pa, pb = a.preprocessor, b.preprocessor
    np.testing.assert_array_equal(pa.medians, pb.medians)
    np.testing.assert_array_equal(pa.means, pb.means)
    np.testing.assert_array_equal(pa.scales, pb.scales)
    assert pa.categories == pb.categories
    assert pb.categories[0] == sorted([MISSING_CATEGORY, "blue", "green", "red"])
    for key, value in a.model.state_dict().items():
        assert torch.equal(value, b.model.state_dict()[key]), key
    assert [r.metrics() for r in ra.history] == [r.metrics() for r in rb.history]
    assert a.temperature == b.temperature != 1.0
    assert a.decision_threshold == b.decision_threshold
    assert a.metrics == b.metrics
    assert a.extra == b.extra


def test_a_split_of_another_data_version_is_refused(stored, tmp_path: Path) -> None:
    table, _, data_cfg = stored
    schema = validate_and_infer_schema(table, data_cfg, data_cfg.path)
    split = DataSplit.compute(table, schema, SplitConfig(), "md5", data_cfg.path)
    shorter = tmp_path / "shorter.parquet"
    table.iloc[:-1].to_parquet(shorter, row_group_size=GROUP_ROWS)
    with ParquetTable(str(shorter)) as stored_table, pytest.raises(ValueError) as err:
        fit_bundle_streamed(small_model_config("s"), schema, stored_table, split)
    assert "split indexes 900 rows" in str(err.value)
    assert "the table has 899" in str(err.value)


def test_a_bad_number_in_a_validation_row_is_named_as_the_in_memory_path_names_it(
    stored, tmp_path: Path
) -> None:
    table, _, data_cfg = stored
    schema = validate_and_infer_schema(table, data_cfg, data_cfg.path)
    split = DataSplit.compute(table, schema, SplitConfig(), "md5", data_cfg.path)
    broken = table.copy()
    broken.loc[split.indices("val")[5], "amount"] = "12,5"
    path = tmp_path / "broken.parquet"
    broken.to_parquet(path, row_group_size=GROUP_ROWS)
    with pytest.raises(DataValidationError) as in_memory:
        fit_bundle(
            small_model_config("s"),
            schema,
            split.take(broken, "train", schema),
            split.take(broken, "val", schema),
        )
    with ParquetTable(str(path)) as stored_table, pytest.raises(DataValidationError) as streamed:
        fit_bundle_streamed(small_model_config("s"), schema, stored_table, split)
    assert str(streamed.value) == str(in_memory.value)
    assert "table.parquet" in str(streamed.value)
    assert "'amount'" in str(streamed.value)
    assert "12,5" in str(streamed.value)


def test_parquet_table_reads_columns_and_groups_with_their_dtypes(stored) -> None:
    table, path, _ = stored
    with ParquetTable(str(path)) as stored_table:
        assert stored_table.n_rows == ROWS
        assert stored_table.group_rows == [GROUP_ROWS] * 14 + [ROWS - 14 * GROUP_ROWS]
        assert str(stored_table.column("count").dtype) == "Int64"
        pd.testing.assert_series_equal(stored_table.column("amount"), table["amount"])
        starts = [start for start, _ in stored_table.row_groups(["x", "label"])]
        assert starts == list(range(0, ROWS, GROUP_ROWS))
        with pytest.raises(KeyError) as err:
            stored_table.column("nope")
        assert "table.parquet: no column(s) ['nope']" in str(err.value)


def test_take_stored_gives_the_rows_take_gives(stored) -> None:
    table, path, data_cfg = stored
    schema = validate_and_infer_schema(table, data_cfg, data_cfg.path)
    split = DataSplit.compute(table, schema, SplitConfig(), "md5", data_cfg.path)
    with ParquetTable(str(path)) as stored_table:
        taken = split.take_stored(stored_table, ("train", "test"), schema)
        with pytest.raises(KeyError):
            split.take_stored(stored_table, ("holdout",), schema)
    assert set(taken) == {"train", "test"}
    for name, rows in taken.items():
        pd.testing.assert_frame_equal(rows, split.take(table, name, schema))
    assert len(taken["train"]) == split.counts["train"] > 0
    assert taken["test"]["amount"].dtype == np.float64  # numbers written as text, converted
