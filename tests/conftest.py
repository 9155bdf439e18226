"""Fixtures shared by the unit, data and model tests of the ``tabular_classifier`` core.

Every fixture name starts with ``core_`` so that it cannot clash with the end-to-end fixtures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from tabular_classifier.config import ModelConfig, SplitConfig, load_data_config
from tabular_classifier.data import (
    FeatureSchema,
    encode_target,
    load_table,
    split_data,
    validate_and_infer_schema,
)
from tabular_classifier.datasets import export_breast_cancer_csv
from tabular_classifier.features import FittedPreprocessor
from tabular_classifier.predictor import ModelBundle
from tabular_classifier.training import TrainingResult, train_classifier

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
    preprocessor = FittedPreprocessor.fit(train, schema)
    cfg = ModelConfig.model_validate(CORE_BEHAVIOURAL_CONFIG)
    result = train_classifier(
        cfg,
        preprocessor.transform(train),
        encode_target(train[schema.target], schema),
        preprocessor.transform(val),
        encode_target(val[schema.target], schema),
    )
    bundle = ModelBundle(
        model=result.model,
        preprocessor=preprocessor,
        schema=schema,
        model_config=cfg,
        decision_threshold=cfg.decision_threshold,
        metrics={"val_loss": result.history[result.best_epoch - 1].val_loss},
        extra={"data_source": "sklearn.datasets.load_breast_cancer"},
    )
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
