"""Log a trained classifier to MLflow as a pyfunc model, without pickle.

Used by the registration step and by anything else that needs the same MLflow model (the
benchmarks' bare script). Knows MLflow, not ZenML.
"""

from __future__ import annotations

import tempfile
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import mlflow
from mlflow.models import ModelSignature
from mlflow.models.model import ModelInfo
from mlflow.types.schema import ColSpec, Schema

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


SIGNATURE = ModelSignature(
    outputs=Schema(
        [
            ColSpec("double", "probability"),
            ColSpec("string", "label"),
            ColSpec("string", "model_version"),
            ColSpec("long", "unknown_categories"),
        ]
    )
)
"""Outputs only: the row contract, stored in the bundle and in the model's
``metadata["row_contract"]``, is the input's specification (see ``serving.pyfunc_model``)."""


def _pyfunc_arguments(
    classifier: ModelBundle, report: EvaluationReport, model_version: str, bundle_dir: Path
) -> dict[str, Any]:
    """What ``log_model`` and ``save_model`` both take: the one definition of our MLflow model."""
    classifier.save(bundle_dir)
    return {
        "python_model": Path(pyfunc_model.__file__),
        "artifacts": {pyfunc_model.BUNDLE_ARTIFACT: str(bundle_dir)},
        "code_paths": [str(Path(tabular_classifier.__file__).parent)],
        "model_config": {"model_version": model_version},
        "signature": SIGNATURE,
        # The evaluation's smoke sample (5 rows) as the input example.
        "input_example": report.smoke_frame().head(5),
        "pip_requirements": pinned_requirements(),
        "metadata": {"row_contract": classifier.contract.to_dict()},
    }


def log_pyfunc_model(
    classifier: ModelBundle, report: EvaluationReport, model_version: str
) -> ModelInfo:
    """Log the classifier to the active MLflow run as a pyfunc *model from code*.

    Args:
        classifier: The trained classifier bundle.
        report: Its evaluation report (source of the input example).
        model_version: The version string the served model reports in ``model_version``.

    Returns:
        MLflow's ``ModelInfo``; ``model_uri`` is what a registry version points at.

    Raises:
        mlflow.exceptions.MlflowException: If logging fails (no active run, store error).
    """
    with tempfile.TemporaryDirectory() as tmp:
        arguments = _pyfunc_arguments(classifier, report, model_version, Path(tmp) / "bundle")
        return mlflow.pyfunc.log_model(name=MLFLOW_MODEL_NAME, **arguments)


def save_pyfunc_model(
    path: Path, classifier: ModelBundle, report: EvaluationReport, model_version: str
) -> None:
    """Write the same MLflow model as :func:`log_pyfunc_model` to a local directory.

    Args:
        path: The model directory to create (must not exist).
        classifier: The trained classifier bundle.
        report: Its evaluation report (source of the input example).
        model_version: The version string the served model reports in ``model_version``.

    Raises:
        mlflow.exceptions.MlflowException: If ``path`` exists or saving fails.
    """
    with tempfile.TemporaryDirectory() as tmp:
        arguments = _pyfunc_arguments(classifier, report, model_version, Path(tmp) / "bundle")
        mlflow.pyfunc.save_model(str(path), **arguments)
