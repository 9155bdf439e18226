"""Evaluation step: score the held-out test split through the predictor, log it to MLflow."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated

import mlflow
import pandas as pd
from zenml import log_metadata, step
from zenml.artifacts.unmaterialized_artifact import UnmaterializedArtifact
from zenml.logger import get_logger

from materializers.table_materializer import ParquetTableMaterializer
from steps.caching import ML_CODE
from steps.stored_rows import split_rows
from steps.tracking import record_failure
from tabular_classifier.config import ReferenceConfig
from tabular_classifier.evaluation import (
    EvaluationReport,
    evaluate,
    reference_predictions,
    reference_sampling_metadata,
)
from tabular_classifier.predictor import ModelBundle, Predictor
from tabular_classifier.splits import DataSplit

logger = get_logger(__name__)


@step(
    experiment_tracker=True,
    cache_policy=ML_CODE,
    output_materializers={"reference_data": ParquetTableMaterializer},
)
def evaluate_model(
    classifier: ModelBundle,
    raw_data: UnmaterializedArtifact,
    data_split: DataSplit,
    reference_config: ReferenceConfig | None = None,
) -> tuple[
    Annotated[EvaluationReport, "evaluation_report"],
    Annotated[pd.DataFrame, "reference_data"],
]:
    """Evaluate on the test split and build the monitoring reference from the training split.

    The reference is a seeded uniform sample of at most ``reference_config.max_rows``
    training rows (default 100,000; ``tabular_classifier.config.ReferenceConfig`` says why).
    How it was sampled (``rows_in_split``, ``rows_kept``, ``max_rows``, ``seed``, ``method``)
    is logged as the ``reference_sampling`` metadata of the ``reference_data`` artifact.

    Logs to MLflow: ``test_accuracy``, ``test_roc_auc``, ``test_precision``, ``test_recall``,
    ``test_f1_score``, ``test_pr_auc``, ``test_brier``, and the logistic-regression baseline's
    as ``baseline_test_*``; ``confusion_matrix.png``, ``roc_curve.png``,
    ``precision_recall_curve.png``, ``reliability_diagram.png``; ``classification_report.txt``
    and ``.json`` and ``evaluation_report.json`` (the whole report, curves thinned to
    ``metrics.MAX_CURVE_POINTS``; the one place the step logs it to MLflow), under
    ``evaluation/``. A degenerate model (one class for nearly every test row, or recall or
    precision 0) is logged as a warning and tagged ``degenerate``; promotion refuses it.

    Args:
        classifier: The trained classifier.
        raw_data: The ingested table, shape (n_rows, n_columns), unloaded: the training and
            test rows are read from its Parquet file a row group at a time
            (``steps/stored_rows.py``).
        data_split: Which of its rows are test rows (held out from training and early
            stopping) and which training rows (the baseline's and the reference's).
        reference_config: How to sample the reference (``max_rows``, ``seed``), validated
            when the pipeline was compiled; None uses its defaults.

    Returns:
        The evaluation report, and the reference data: the sampled training rows' features,
        target, ``prediction_probability`` and ``prediction_label`` (shape
        (min(n_train, max_rows), n_features + 3)).
    """
    with record_failure("evaluate_model"):
        predictor = Predictor(classifier)
        schema = classifier.schema
        rows = split_rows(raw_data, data_split, ("train", "test"), schema)
        train_split, test_split = rows.pop("train"), rows.pop("test")
        report = evaluate(predictor, test_split, schema, train=train_split)
        sampling = reference_config or ReferenceConfig()
        reference = reference_predictions(predictor, train_split, schema, sampling)
        sampling_metadata = reference_sampling_metadata(len(train_split), sampling)
        log_metadata(
            metadata={"reference_sampling": sampling_metadata},
            artifact_name="reference_data",
            infer_artifact=True,
        )
        logger.info(
            "Monitoring reference: %d of %d training rows (seed %d)",
            sampling_metadata["rows_kept"],
            sampling_metadata["rows_in_split"],
            sampling.seed,
        )
        mlflow.log_metrics(report.metrics)
        if report.baseline:
            mlflow.log_metrics(
                {f"baseline_{key}": value for key, value in report.baseline["metrics"].items()}
            )
        if report.degenerate:
            logger.warning("Degenerate model: %s; it will not be promoted", report.degenerate)
            mlflow.set_tag("degenerate", report.degenerate)
        _log_report_files(report)
        log_metadata(metadata=dict(report.metrics))
        logger.info(
            "Test metrics on %d rows at threshold %.4g: %s",
            report.n_rows,
            report.threshold,
            ", ".join(f"{k}={v:.4f}" for k, v in report.metrics.items()),
        )
        if report.baseline:
            logger.info(
                "Baseline (%s) on the same rows: %s",
                report.baseline["model"],
                ", ".join(f"{k}={v:.4f}" for k, v in report.baseline["metrics"].items()),
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
