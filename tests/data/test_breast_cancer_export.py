"""Expectations on the reference dataset: scikit-learn's breast-cancer table as CSV."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tabular_classifier.config import DataConfig
from tabular_classifier.data import load_table, validate_and_infer_schema
from tabular_classifier.datasets import BREAST_CANCER_MD5, export_breast_cancer_csv


@pytest.fixture(scope="module")
def table(core_breast_cancer_csv: Path) -> pd.DataFrame:
    return load_table(
        DataConfig(path=str(core_breast_cancer_csv), target="target", positive_label=1)
    )


def test_export_is_byte_reproducible(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "breast_cancer.csv"
    md5 = export_breast_cancer_csv(path)
    data = path.read_bytes()
    assert md5 == hashlib.md5(data).hexdigest()
    assert md5 == BREAST_CANCER_MD5 == "5afc23b9622f8f9ffa60824f4e97d0d5"
    assert len(data) == 121_385
    assert b"\r\n" not in data


def test_shape_and_columns(table: pd.DataFrame) -> None:
    assert table.shape == (569, 31)
    assert table.columns[-1] == "target"
    assert {"mean radius", "worst concave points", "worst area"} <= set(table.columns)
    assert table.columns.is_unique


def test_target_is_binary_with_sklearn_encoding(table: pd.DataFrame) -> None:
    # scikit-learn: 0 = malignant, 1 = benign.
    assert table["target"].dtype == np.int64
    assert table["target"].value_counts().to_dict() == {1: 357, 0: 212}


def test_no_nulls_and_all_features_numeric_and_finite(table: pd.DataFrame) -> None:
    assert not table.isna().any().any()
    features = table.drop(columns="target")
    assert all(dtype == np.float64 for dtype in features.dtypes)
    assert np.isfinite(features.to_numpy()).all()
    assert (features.to_numpy() >= 0).all()


def test_feature_ranges_are_plausible(table: pd.DataFrame) -> None:
    assert table["mean radius"].between(5, 30).all()
    assert table["worst area"].between(150, 4_500).all()
    assert table["mean concave points"].between(0, 0.25).all()


def test_schema_inference_finds_thirty_numeric_features(
    table: pd.DataFrame, core_breast_cancer_csv: Path
) -> None:
    cfg = DataConfig(path=str(core_breast_cancer_csv), target="target", positive_label=1)
    schema = validate_and_infer_schema(table, cfg, cfg.path)
    assert len(schema.numeric_features) == 30
    assert schema.categorical_features == []
    assert (schema.positive_label, schema.negative_label) == (1, 0)
