"""Fixtures shared by the unit, data and model tests of the ``tabular_classifier`` core.

Every fixture name starts with ``core_`` so that it cannot clash with the end-to-end fixtures.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from tabular_classifier.config import ModelConfig, SplitConfig, load_data_config
from tabular_classifier.data import (
    FeatureSchema,
    load_table,
    split_data,
    validate_and_infer_schema,
)
from tabular_classifier.datasets import export_breast_cancer_csv
from tabular_classifier.features import FittedPreprocessor
from tabular_classifier.predictor import ModelBundle
from tabular_classifier.training import TrainingResult, fit_bundle

DOCKER_TESTS = Path(__file__).resolve().parent / "docker"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Collect tests/docker only when a command-line argument names it (or a file in it).

    They install and start a Docker engine as root and build images of several GB (README,
    "Containers"), so the default collection (``pytest``, ``scripts/test.sh``) leaves them out.
    """
    if collection_path != DOCKER_TESTS:
        return None
    for arg in config.args:
        named = Path(arg.split("::")[0]).resolve()
        if named == DOCKER_TESTS or DOCKER_TESTS in named.parents:
            return None
    return True


# The small configuration the behavioural tests are written against.
CORE_BEHAVIOURAL_CONFIG = {
    "name": "behavioural-tests",
    "hidden_sizes": [32, 16],
    "dropout": 0.0,
    "learning_rate": 1e-3,
    "batch_size": 32,
    "epochs": 60,
    "early_stopping_patience": 0,
    "seed": 0,
}


@dataclass
class CoreTrainedModel:
    """A model trained on the breast-cancer table, with everything it was built from."""

    csv_path: Path
    schema: FeatureSchema
    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame
    preprocessor: FittedPreprocessor
    result: TrainingResult
    bundle: ModelBundle
    bundle_dir: Path


@pytest.fixture(scope="session")
def core_breast_cancer_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """scikit-learn's breast-cancer table exported to CSV."""
    path = tmp_path_factory.mktemp("core_data") / "breast_cancer.csv"
    export_breast_cancer_csv(path)
    return path


@pytest.fixture(scope="session")
def core_breast_cancer_model(
    core_breast_cancer_csv: Path, tmp_path_factory: pytest.TempPathFactory
) -> CoreTrainedModel:
    """Train the behavioural-test model once per session and save it as a bundle."""
    data_cfg = load_data_config(
        {"path": str(core_breast_cancer_csv), "target": "target", "positive_label": 1}
    )
    source = str(core_breast_cancer_csv)
    table = load_table(data_cfg)
    schema = validate_and_infer_schema(table, data_cfg, source)
    train, val, test = split_data(table, schema, SplitConfig(), source)
    cfg = ModelConfig.model_validate(CORE_BEHAVIOURAL_CONFIG)
    bundle, result = fit_bundle(
        cfg, schema, train, val, extra={"data_source": "sklearn.datasets.load_breast_cancer"}
    )
    preprocessor = bundle.preprocessor
    bundle_dir = tmp_path_factory.mktemp("core_bundle") / "breast_cancer_model"
    bundle.save(bundle_dir)
    return CoreTrainedModel(
        csv_path=core_breast_cancer_csv,
        schema=schema,
        train=train,
        val=val,
        test=test,
        preprocessor=preprocessor,
        result=result,
        bundle=bundle,
        bundle_dir=bundle_dir,
    )


def core_mixed_table(n_rows: int = 600, seed: int = 0) -> pd.DataFrame:
    """A table with every logical type, nulls in some columns, and a learnable target.

    Columns: ``x`` float, ``amount`` float with nulls, ``code`` int64, ``visits`` nullable
    Int64, ``is_member`` nullable boolean, ``city`` string with pd.NA, ``plan`` category,
    ``row_id`` (dropped) and the target ``churn`` ("yes"/"no").
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.normal(size=n_rows)
    member = rng.choice([True, False], n_rows)
    visits = rng.integers(0, 20, n_rows)
    score = 1.5 * x + np.where(member, 1.0, -1.0) + 0.1 * visits + rng.normal(0, 0.5, n_rows)
    amount = rng.gamma(2.0, 50.0, n_rows)
    amount[rng.random(n_rows) < 0.1] = np.nan
    member_values = pd.array(member, dtype="boolean")
    member_values[rng.random(n_rows) < 0.15] = pd.NA
    visits_values = pd.array(visits, dtype="Int64")
    visits_values[rng.random(n_rows) < 0.1] = pd.NA
    city = pd.array(rng.choice(["paris", "lyon", "nice"], n_rows), dtype="string")
    city[rng.random(n_rows) < 0.1] = pd.NA
    return pd.DataFrame(
        {
            "row_id": np.arange(n_rows),
            "x": x,
            "amount": amount,
            "code": rng.integers(100, 110, n_rows),
            "visits": visits_values,
            "is_member": member_values,
            "city": city,
            "plan": pd.Categorical(rng.choice(["basic", "pro"], n_rows)),
            "churn": np.where(score > 0.5, "yes", "no"),
        }
    )


@pytest.fixture(scope="session")
def core_mixed_model(tmp_path_factory: pytest.TempPathFactory) -> CoreTrainedModel:
    """A small model on :func:`core_mixed_table`, trained once per session, saved as a bundle."""
    from tabular_classifier.config import DataConfig
    from tabular_classifier.training import fit_bundle

    table = core_mixed_table()
    data_cfg = DataConfig(
        path="mixed.parquet", target="churn", positive_label="yes", drop_columns=["row_id"]
    )
    schema = validate_and_infer_schema(table, data_cfg, "mixed.parquet")
    train, val, test = split_data(table, schema, SplitConfig(), "mixed.parquet")
    cfg = ModelConfig.model_validate({**CORE_BEHAVIOURAL_CONFIG, "name": "mixed", "epochs": 30})
    bundle, result = fit_bundle(cfg, schema, train, val)
    bundle_dir = tmp_path_factory.mktemp("core_mixed_bundle") / "mixed_model"
    bundle.save(bundle_dir)
    return CoreTrainedModel(
        csv_path=Path("mixed.parquet"),
        schema=schema,
        train=train,
        val=val,
        test=test,
        preprocessor=bundle.preprocessor,
        result=result,
        bundle=bundle,
        bundle_dir=bundle_dir,
    )


@pytest.fixture(scope="session")
def seldon_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Python of a venv built from ``serving/seldon/requirements.txt`` (Python 3.11)."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed: it builds the Seldon serving environment")
    venv = tmp_path_factory.mktemp("seldon_venv") / "venv"
    env = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    commands = [
        [uv, "venv", "--quiet", "--python", "3.11", str(venv)],
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(venv / "bin" / "python"),
            "--require-hashes",
            "-r",
            str(Path(__file__).resolve().parents[1] / "serving" / "seldon" / "requirements.txt"),
        ],
    ]
    for command in commands:
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
        if result.returncode != 0:
            pytest.fail(f"{' '.join(command)} failed:\n{result.stderr[-4000:]}")
    return venv / "bin" / "python"
