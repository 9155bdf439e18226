"""DataSplit: the split stored as row codes, rows taken from the one table, and its artifact."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from materializers.data_split_materializer import DataSplitMaterializer
from tabular_classifier.config import DataConfig, SplitConfig
from tabular_classifier.data import split_data, validate_and_infer_schema
from tabular_classifier.splits import DataSplit

SOURCE = "data/t.csv"


def _table(n: int = 4000) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {
            "a": rng.normal(size=n),
            # numbers written as text, as a CSV column with a stray quote would give
            "b": [f"{v:.6f}" for v in rng.normal(size=n)],
            "y": (rng.random(n) < 0.25).astype(int),
        }
    )


def _split(df: pd.DataFrame) -> tuple[DataSplit, object]:
    cfg = DataConfig(path=SOURCE, target="y", positive_label=1, numeric_features=["a", "b"])
    schema = validate_and_infer_schema(df, cfg, SOURCE)
    return DataSplit.compute(df, schema, SplitConfig(), "0" * 32, SOURCE), schema


def test_taken_rows_equal_the_frames_split_data_returns() -> None:
    df = _table()
    data_split, schema = _split(df)
    frames = split_data(df, schema, SplitConfig(), SOURCE)  # type: ignore[arg-type]
    for name, frame in zip(("train", "val", "test"), frames, strict=True):
        taken = data_split.take(df, name, schema)  # type: ignore[arg-type]
        pd.testing.assert_frame_equal(taken, frame)
        assert taken["b"].dtype == np.float64
    counts = data_split.counts
    assert sum(counts.values()) == len(df)
    assert counts == {"train": len(frames[0]), "val": len(frames[1]), "test": len(frames[2])}
    assert data_split.positives == {
        name: int(frame["y"].sum()) for name, frame in zip(counts, frames, strict=True)
    }


def test_another_data_version_is_refused() -> None:
    df = _table()
    data_split, schema = _split(df)
    with pytest.raises(ValueError, match=r"indexes 4000 rows .* table has 3999"):
        data_split.take(df.iloc[:-1], "train", schema)  # type: ignore[arg-type]
    with pytest.raises(KeyError, match="unknown split 'validation'"):
        data_split.indices("validation")


def test_bad_codes_are_refused() -> None:
    with pytest.raises(ValueError, match="split codes must be in"):
        DataSplit(np.array([0, 3], dtype=np.int8), "m", "p", SplitConfig())
    with pytest.raises(ValueError, match="1-D integer"):
        DataSplit(np.zeros((2, 2)), "m", "p", SplitConfig())


def test_artifact_is_codes_plus_summary_with_a_markdown_table(tmp_path: Path) -> None:
    df = _table()
    data_split, _ = _split(df)
    materializer = DataSplitMaterializer(uri=str(tmp_path))
    materializer.save(data_split)
    materializer.save_visualizations(data_split)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["codes.npy", "split.json", "split.md"]
    # One byte per row plus the .npy header: no copy of the rows.
    assert (tmp_path / "codes.npy").stat().st_size < len(df) + 200
    loaded = materializer.load(DataSplit)
    np.testing.assert_array_equal(loaded.codes, data_split.codes)
    assert loaded.to_dict() == data_split.to_dict()
    view = (tmp_path / "split.md").read_text()
    counts = data_split.counts
    assert f"| train | {counts['train']:,} |" in view
    assert f"| test | {counts['test']:,} |" in view
    metadata = materializer.extract_metadata(data_split)
    assert metadata["val_rows"] == counts["val"]
    assert metadata["test_positives"] == data_split.positives["test"]


def test_codes_that_disagree_with_the_summary_are_refused(tmp_path: Path) -> None:
    data_split, _ = _split(_table())
    materializer = DataSplitMaterializer(uri=str(tmp_path))
    materializer.save(data_split)
    flipped = data_split.codes.copy()
    flipped[flipped == 0] = 2
    np.save(tmp_path / "codes.npy", flipped, allow_pickle=False)
    with pytest.raises(ValueError, match="disagree with their summary"):
        materializer.load(DataSplit)


def test_table_artifact_is_snappy_parquet_in_row_groups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow.parquet as pq

    from materializers import table_materializer
    from materializers.table_materializer import ParquetTableMaterializer

    df = _table(1000).assign(c=pd.array([None, "x"] * 500, dtype=object))
    materializer = ParquetTableMaterializer(uri=str(tmp_path))
    monkeypatch.setattr(table_materializer, "ROW_GROUP_ROWS", 300)
    materializer.save(df)
    views = materializer.save_visualizations(df)
    assert sorted(Path(p).name for p in views) == ["describe.csv", "sample.csv"]
    meta = pq.ParquetFile(tmp_path / "table.parquet").metadata
    assert meta.num_row_groups == 4
    assert meta.row_group(0).column(0).compression == "SNAPPY"
    pd.testing.assert_frame_equal(materializer.load(pd.DataFrame), df)
    assert materializer.extract_metadata(df) == {"shape": (1000, 4), "n_rows": 1000}


def test_the_same_table_in_csv_and_in_parquet_gets_the_same_split(tmp_path: Path) -> None:
    # Walkthrough: pandas' default CSV float parser is not correctly rounded, so full-precision
    # floats read from CSV were one bit off in some cell of almost every row; their row keys,
    # and so their splits, differed from the Parquet copy's, and promotion's "unseen" rows
    # included rows production had trained on.
    from tabular_classifier.table_reader import read_table

    rng = np.random.default_rng(11)
    n = 2000
    table = pd.DataFrame(
        {
            "score": rng.gamma(2.0, 0.37, n),
            "ratio": rng.normal(size=n) / 3,
            "y": (rng.random(n) < 0.3).astype(int),
        }
    )
    table.to_csv(tmp_path / "t.csv", index=False)
    table.to_parquet(tmp_path / "t.parquet")
    from_csv = read_table(str(tmp_path / "t.csv"))
    from_parquet = read_table(str(tmp_path / "t.parquet"))
    pd.testing.assert_frame_equal(from_csv, table, check_exact=True)
    pd.testing.assert_frame_equal(from_parquet, table, check_exact=True)
    csv_split, _ = _split(from_csv.rename(columns={"score": "a", "ratio": "b"}))
    parquet_split, _ = _split(from_parquet.rename(columns={"score": "a", "ratio": "b"}))
    np.testing.assert_array_equal(csv_split.codes, parquet_split.codes)


def test_category_and_nullable_boolean_columns_keep_their_split_from_csv_to_parquet(
    tmp_path: Path,
) -> None:
    # Walkthrough (5,000 rows): an integer `category` column (int64 from CSV) and a nullable
    # boolean (object True/False/NaN from CSV) hashed differently in the two copies, so 2,844
    # rows changed split and 592 of promotion's 987 "unseen" rows were in production's train.
    from tabular_classifier.split_assignment import key_values, row_key_hashes
    from tabular_classifier.table_reader import read_table

    rng = np.random.default_rng(4)
    n = 3000
    table = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "region": pd.Categorical(rng.integers(1, 5, n)),
            "score": pd.Categorical(rng.choice([0.5, 1.5, np.nan], n)),
            "active": pd.array(rng.random(n) < 0.6, dtype="boolean"),
            "plan": rng.choice(np.array(["basic", "pro", None], dtype=object), n),
            "y": (rng.random(n) < 0.3).astype(int),
        }
    )
    table.loc[rng.random(n) < 0.05, "active"] = pd.NA
    table.to_csv(tmp_path / "t.csv", index=False)
    table.to_parquet(tmp_path / "t.parquet")
    from_csv = read_table(str(tmp_path / "t.csv"))
    from_parquet = read_table(str(tmp_path / "t.parquet"))
    assert from_csv["region"].dtype == np.int64 and from_csv["active"].dtype == object
    assert isinstance(from_parquet["region"].dtype, pd.CategoricalDtype)
    for column in table.columns:
        np.testing.assert_array_equal(
            pd.util.hash_array(np.asarray(key_values(from_csv[column]))),
            pd.util.hash_array(np.asarray(key_values(from_parquet[column]))),
            err_msg=column,
        )
    columns = list(table.columns)
    np.testing.assert_array_equal(
        row_key_hashes(from_csv, columns), row_key_hashes(from_parquet, columns)
    )
    assert key_values(from_parquet["active"])[from_parquet["active"].isna().to_numpy()].size > 0
    np.testing.assert_array_equal(key_values(from_parquet["region"])[:5], table["region"][:5])
