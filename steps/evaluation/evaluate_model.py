"""Evaluation step: score the held-out test split through the predictor, log it to MLflow."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated

import mlflow
import pandas as pd
from zenml import log_metadata, step
from zenml.logger import get_logger

from steps.caching import ML_CODE
from steps.tracking import record_failure
from tabular_classifier.evaluation import EvaluationReport, evaluate, reference_predictions
from tabular_classifier.predictor import ModelBundle, Predictor

logger = get_logger(__name__)


@step(experiment_tracker=True, cache_policy=ML_CODE)
def evaluate_model(
    classifier: ModelBundle, train_split: pd.DataFrame, test_split: pd.DataFrame
) -> tuple[
    Annotated[EvaluationReport, "evaluation_report"],
    Annotated[pd.DataFrame, "reference_data"],
]:
    """Evaluate on the test split and build the monitoring reference from the training split.

    Logs to MLflow: ``test_accuracy``, ``test_roc_auc``, ``test_precision``, ``test_recall``,
    ``test_f1_score``; ``confusion_matrix.png``, ``roc_curve.png``,
    ``precision_recall_curve.png``; ``classification_report.txt`` and ``.json``.

    Args:
        classifier: The trained classifier.
        train_split: Training rows; becomes the reference data for drift monitoring.
        test_split: Held-out rows never seen in training or early stopping.

    Returns:
        The evaluation report, and the reference data: training features, target,
        ``prediction_probability`` and ``prediction_label`` (shape (n_train, n_features + 3)).
    """
    with record_failure("evaluate_model"):
        predictor = Predictor(classifier)
        schema = classifier.schema
        report = evaluate(predictor, test_split, schema)
        reference = reference_predictions(predictor, train_split, schema)
        mlflow.log_metrics(report.metrics)
        _log_report_files(report)
        log_metadata(metadata=dict(report.metrics))
        logger.info(
            "Test metrics on %d rows: %s",
            report.n_rows,
            ", ".join(f"{k}={v:.4f}" for k, v in report.metrics.items()),
        )
        return report, reference


def _log_report_files(report: EvaluationReport) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, png in report.plots.items():
            (folder / f"{name}.png").write_bytes(png)
        (folder / "classification_report.txt").write_text(report.classification_report_text)
        (folder / "classification_report.json").write_text(
            json.dumps(report.classification_report, indent=1)
        )
        (folder / "evaluation_report.json").write_text(json.dumps(report.to_json_dict(), indent=1))
        mlflow.log_artifacts(tmp, artifact_path="evaluation")
