"""Log a trained classifier to MLflow as a pyfunc model, without pickle.

Used by the registration step and by anything else that needs the same MLflow model (the
benchmarks' bare script). Knows MLflow, not ZenML.
"""

from __future__ import annotations

import tempfile
from importlib import metadata as importlib_metadata
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.models import infer_signature
from mlflow.models.model import ModelInfo

import serving.pyfunc_model as pyfunc_model
import tabular_classifier
from tabular_classifier.evaluation import EvaluationReport
from tabular_classifier.predictor import ModelBundle

MLFLOW_MODEL_NAME = "model"
# What the served model imports, pinned to this environment's versions (uv.lock). Listed
# explicitly because MLflow's requirement inference re-imports the model in a subprocess,
# which costs several seconds per run.
SERVING_REQUIREMENTS = (
    "mlflow",
    "torch",
    "numpy",
    "pandas",
    "scikit-learn",
    "safetensors",
    "pydantic",
    "pyyaml",
    "matplotlib",
)


def pinned_requirements() -> list[str]:
    """Return ``name==version`` for each package in ``SERVING_REQUIREMENTS``."""
    return [f"{name}=={importlib_metadata.version(name)}" for name in SERVING_REQUIREMENTS]


def log_pyfunc_model(
    classifier: ModelBundle, report: EvaluationReport, model_version: str
) -> ModelInfo:
    """Log the classifier to the active MLflow run as a pyfunc *model from code*.

    The signature is inferred from the evaluation's smoke sample (5 rows) and the matching
    output frame; that sample is also the input example.

    Args:
        classifier: The trained classifier bundle.
        report: Its evaluation report (source of the input example).
        model_version: The version string the served model reports in ``model_version``.

    Returns:
        MLflow's ``ModelInfo``; ``model_uri`` is what a registry version points at.

    Raises:
        mlflow.exceptions.MlflowException: If logging fails (no active run, store error).
    """
    example = report.smoke_frame().head(5)
    # Numeric features are doubles in the signature, whatever pandas inferred for the sample
    # (int64 would make MLflow refuse nulls and floats, which the model imputes and accepts).
    for column in classifier.schema.numeric_features:
        example[column] = example[column].astype("float64")
    output = pd.DataFrame(
        {
            "probability": pd.Series(report.smoke_probabilities[: len(example)], dtype="float64"),
            "label": [str(classifier.schema.positive_label)] * len(example),
            "model_version": [model_version] * len(example),
        }
    )
    signature = infer_signature(example, output)
    with tempfile.TemporaryDirectory() as tmp:
        bundle_dir = Path(tmp) / "bundle"
        classifier.save(bundle_dir)
        return mlflow.pyfunc.log_model(
            name=MLFLOW_MODEL_NAME,
            python_model=Path(pyfunc_model.__file__),
            artifacts={pyfunc_model.BUNDLE_ARTIFACT: str(bundle_dir)},
            code_paths=[str(Path(tabular_classifier.__file__).parent)],
            model_config={"model_version": model_version},
            signature=signature,
            input_example=example,
            pip_requirements=pinned_requirements(),
        )
