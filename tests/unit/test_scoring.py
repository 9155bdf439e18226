"""The NumPy scorer (``tabular_classifier.scoring``) reproduces the torch Predictor.

Parity to 1e-6 on probabilities, on categorical, boolean, integer and float features with
missing values and unseen categories, for every activation the model offers, several layer
layouts, dropout (identity at inference) and temperature scaling.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import safetensors.numpy

from serving.contract import parse_rows
from tabular_classifier.config import DataConfig
from tabular_classifier.errors import InputValidationError
from tabular_classifier.features import MISSING_CATEGORY as FEATURES_MISSING_CATEGORY
from tabular_classifier.predictor import ModelBundle, Predictor
from tabular_classifier.scoring import (
    MISSING_CATEGORY,
    NumpyScorer,
    UnsupportedBundle,
    read_bundle_files,
    sha256,
)
from tests.training_helpers import fit_small_bundle

REPO_ROOT = Path(__file__).resolve().parents[2]

CONFIGS: dict[str, dict[str, Any]] = {
    "relu-one-layer": {},
    "gelu-two-layers-dropout": {"activation": "gelu", "hidden_sizes": [16, 8], "dropout": 0.2},
    "tanh-temperature": {"activation": "tanh", "temperature_scaling": True},
    "leaky-relu-three-layers": {"activation": "leaky_relu", "hidden_sizes": [12, 8, 4]},
}


def _table(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "tenure": rng.integers(0, 72, size=n),
            "charges": rng.normal(70, 20, size=n),
            "contract": rng.choice(["monthly", "yearly", "two-year"], size=n).astype(object),
            "paperless": rng.choice([True, False], size=n),
        }
    )
    frame.loc[rng.random(n) < 0.1, "charges"] = np.nan
    frame.loc[rng.random(n) < 0.1, "contract"] = None
    churn = (frame["tenure"] < 20) & (frame["contract"] == "monthly")
    frame["churn"] = np.where(churn | (rng.random(n) < 0.1), "yes", "no")
    return frame


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def bundle_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_cfg = DataConfig(path="churn.csv", target="churn", positive_label="yes")
    bundle = fit_small_bundle(_table(), data_cfg, request.param, epochs=5, **CONFIGS[request.param])
    directory = tmp_path_factory.mktemp(request.param) / "bundle"
    bundle.save(directory)
    return directory


def _request_rows() -> tuple[list[str], list[list[Any]]]:
    columns = ["tenure", "charges", "contract", "paperless"]
    rows: list[list[Any]] = [
        [3, 95.5, "monthly", True],
        [60, None, "two-year", False],  # missing number: the median
        [10, 40.0, None, None],  # missing category and boolean: __missing__ (if seen)
        [0, 1e3, "weekly", True],  # a category never seen in training
        [71, -20.0, "yearly", False],
    ]
    rng = np.random.default_rng(3)
    for _ in range(200):
        rows.append(
            [
                int(rng.integers(0, 72)),
                None if rng.random() < 0.2 else float(rng.normal(70, 30)),
                [None, "monthly", "yearly", "two-year", "daily"][int(rng.integers(0, 5))],
                [None, True, False][int(rng.integers(0, 3))],
            ]
        )
    return columns, rows


def test_probabilities_and_labels_match_the_torch_predictor(bundle_dir: Path) -> None:
    predictor = Predictor.from_directory(bundle_dir)
    scorer = NumpyScorer.from_directory(bundle_dir)
    assert scorer.contract.to_dict() == predictor.contract.to_dict()
    columns, rows = _request_rows()
    body = json.dumps({"dataframe_split": {"columns": columns, "data": rows}}).encode()
    parsed = parse_rows(body, scorer.contract)
    assert parsed.unknown_per_row()[3] == 1  # the unseen "weekly" is in the sample
    expected = predictor.score(parse_rows(body, predictor.contract))
    got = scorer.score(parsed)
    assert got.dtype == np.float64 and got.shape == (len(rows),)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    assert 0.0 < got.min() < got.max() < 1.0  # not a constant model
    np.testing.assert_array_equal(
        scorer.features(parsed), predictor.bundle.preprocessor.transform_parsed(parsed)
    )
    assert scorer.labels(got) == [str(label) for label in predictor.labels(expected)]
    assert scorer.decision_threshold == predictor.bundle.decision_threshold
    assert scorer.temperature == predictor.bundle.temperature


def test_single_row_matches(bundle_dir: Path) -> None:
    predictor = Predictor.from_directory(bundle_dir)
    scorer = NumpyScorer.from_directory(bundle_dir)
    record = {"tenure": 5, "charges": None, "contract": "monthly", "paperless": True}
    body = json.dumps({"dataframe_records": [record]}).encode()
    np.testing.assert_allclose(
        scorer.score(parse_rows(body, scorer.contract)),
        predictor.score(parse_rows(body, predictor.contract)),
        rtol=0,
        atol=1e-6,
    )


def test_missing_category_token_is_the_preprocessors() -> None:
    assert MISSING_CATEGORY == FEATURES_MISSING_CATEGORY


def _rewrite(
    directory: Path, tensors: dict[str, np.ndarray] | None = None, **metadata: Any
) -> None:
    meta = json.loads((directory / "metadata.json").read_text())
    if tensors is not None:
        data = safetensors.numpy.save(tensors)
        (directory / "model.safetensors").write_bytes(data)
        meta["checksums"]["model.safetensors"] = sha256(data)
    for key, value in metadata.items():
        meta[key] = value
    (directory / "metadata.json").write_text(json.dumps(meta))


@pytest.fixture()
def relu_bundle(tmp_path: Path) -> Path:
    data_cfg = DataConfig(path="churn.csv", target="churn", positive_label="yes")
    directory = tmp_path / "bundle"
    fit_small_bundle(_table(), data_cfg, "relu", epochs=1).save(directory)
    return directory


def test_an_unknown_activation_is_refused_by_name(relu_bundle: Path) -> None:
    meta = json.loads((relu_bundle / "metadata.json").read_text())
    _rewrite(relu_bundle, architecture={**meta["architecture"], "activation": "silu"})
    with pytest.raises(UnsupportedBundle, match="activation 'silu' cannot be reproduced"):
        NumpyScorer.from_directory(relu_bundle)


def test_a_layer_layout_other_than_the_mlps_is_refused(relu_bundle: Path) -> None:
    tensors = safetensors.numpy.load((relu_bundle / "model.safetensors").read_bytes())
    tensors["layers.1.weight"] = np.ones((1, 1), dtype=np.float32)  # e.g. a norm layer
    _rewrite(relu_bundle, tensors)
    with pytest.raises(UnsupportedBundle, match="not an MLPClassifier's"):
        NumpyScorer.from_directory(relu_bundle)


def test_wrong_shapes_are_refused(relu_bundle: Path) -> None:
    tensors = safetensors.numpy.load((relu_bundle / "model.safetensors").read_bytes())
    tensors["layers.0.bias"] = np.zeros(3, dtype=np.float32)
    _rewrite(relu_bundle, tensors)
    with pytest.raises(UnsupportedBundle, match=r"layer layers\.0 has shapes"):
        NumpyScorer.from_directory(relu_bundle)


def test_tampered_weights_fail_the_checksum(relu_bundle: Path) -> None:
    path = relu_bundle / "model.safetensors"
    path.write_bytes(path.read_bytes()[:-1] + b"\x00")
    with pytest.raises(ValueError, match="SHA-256 does not match"):
        NumpyScorer.from_directory(relu_bundle)
    with pytest.raises(ValueError, match="SHA-256 does not match"):
        ModelBundle.load(relu_bundle)


def test_missing_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="model bundle directory not found"):
        read_bundle_files(tmp_path / "nowhere")


def test_a_format_1_bundle_derives_the_same_contract(relu_bundle: Path) -> None:
    _rewrite(relu_bundle, format_version=1)
    meta = json.loads((relu_bundle / "metadata.json").read_text())
    del meta["contract"]
    (relu_bundle / "metadata.json").write_text(json.dumps(meta))
    scorer = NumpyScorer.from_directory(relu_bundle)
    predictor = Predictor.from_directory(relu_bundle)
    assert scorer.contract.to_dict() == predictor.contract.to_dict()


def test_a_non_finite_output_is_refused(relu_bundle: Path) -> None:
    tensors = safetensors.numpy.load((relu_bundle / "model.safetensors").read_bytes())
    tensors["layers.3.bias"] = np.array([np.nan], dtype=np.float32)
    _rewrite(relu_bundle, tensors)
    scorer = NumpyScorer.from_directory(relu_bundle)
    record = {"tenure": 1, "charges": 2.0, "contract": "monthly", "paperless": True}
    body = json.dumps({"dataframe_records": [record]}).encode()
    with pytest.raises(InputValidationError, match="row 0: the model's output is not finite"):
        scorer.score(parse_rows(body, scorer.contract))


def test_scoring_imports_neither_torch_nor_sklearn_nor_mlflow() -> None:
    probe = (
        "import sys, tabular_classifier.scoring, serving.contract\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'sklearn', 'mlflow'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
