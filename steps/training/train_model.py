"""Training step: fit the preprocessing and the PyTorch MLP, logging every epoch to MLflow."""

from __future__ import annotations

from typing import Annotated

import mlflow
from zenml import get_step_context, log_metadata, step
from zenml.artifacts.unmaterialized_artifact import UnmaterializedArtifact
from zenml.logger import get_logger

from materializers.table_materializer import ParquetTableMaterializer
from steps.caching import ML_CODE
from steps.tracking import record_failure
from tabular_classifier.config import ModelConfig
from tabular_classifier.data import FeatureSchema
from tabular_classifier.data_version import DataVersion
from tabular_classifier.parquet_table import ParquetTable
from tabular_classifier.predictor import ModelBundle
from tabular_classifier.splits import DataSplit
from tabular_classifier.streamed_training import fit_bundle_streamed
from tabular_classifier.training import EpochRecord, TrainingResult, fit_bundle

logger = get_logger(__name__)


def _log_epoch(record: EpochRecord) -> None:
    """Log one epoch's metrics to the active MLflow run, at ``step=record.epoch``.

    ``val_roc_auc`` is logged only on the epochs that computed it (every
    ``ModelConfig.val_auc_every``-th), so its MLflow series has no placeholder points.
    """
    mlflow.log_metrics(record.metrics(), step=record.epoch)


@step(experiment_tracker=True, cache_policy=ML_CODE)
def train_model(
    raw_data: UnmaterializedArtifact,
    data_split: DataSplit,
    feature_schema: FeatureSchema,
    data_version: DataVersion,
    model_config: ModelConfig,
    model_config_file: str,
    model_config_sha256: str,
    na_values: list[str] | None = None,
) -> Annotated[ModelBundle, "classifier"]:
    """Fit the preprocessor on the training split only, then train the classifier.

    Logs to MLflow: every hyperparameter as a param (``batch_size``, ``learning_rate``, ...),
    ``train_loss``, ``train_accuracy``, ``val_loss`` and ``val_accuracy`` per epoch,
    ``val_roc_auc`` every ``val_auc_every`` epochs, and the config file name and SHA-256 as tags.

    Args:
        raw_data: The ingested table, shape (n_rows, n_columns), not loaded: its Parquet file
            is read a column, then a row group, at a time
            (``tabular_classifier.streamed_training``), so that the step's memory holds the
            float32 features of the training and validation rows, not the table. A table
            stored by another materializer (before this one) is loaded whole instead.
        data_split: Which rows are training and which validation (early stopping) rows. Its
            ``SplitConfig`` is stored in the bundle's ``extra["split"]`` so that promotion can
            tell which rows this model never trained on.
        feature_schema: The schema from the validation step.
        data_version: The data version from the ingest step, stored in the bundle's
            ``extra["data_version"]`` (as its ``to_dict()``).
        model_config: The model config, validated when the pipeline was compiled.
        model_config_file: Path of the model config YAML, for lineage.
        model_config_sha256: SHA-256 of that file's bytes.
        na_values: The data config's ``na_values``, recorded in the row contract for readers
            of CSV inputs.

    Returns:
        The trained classifier (``tabular_classifier.training.fit_bundle``): weights of the
        best validation-loss epoch, the fitted preprocessing, the schema, the row contract,
        the config and the best epoch's validation metrics.
    """
    with record_failure("train_model"):
        mlflow.log_params({**model_config.mlflow_params(), "model_config_file": model_config_file})
        mlflow.set_tags(
            {
                "model_config.name": model_config.name,
                "model_config.file": model_config_file,
                "model_config.sha256": model_config_sha256,
                "zenml.run_id": str(get_step_context().pipeline_run.id),
                "zenml.run_name": get_step_context().pipeline_run.name,
            }
        )
        counts = data_split.counts
        logger.info(
            "Training %s on %d rows, validating on %d rows",
            model_config.name,
            counts["train"],
            counts["val"],
        )
        bundle, result = _fit(
            raw_data,
            data_split,
            model_config,
            feature_schema,
            na_values or [],
            extra={
                "model_config_file": model_config_file,
                "model_config_sha256": model_config_sha256,
                "data_version": data_version.to_dict(),
                "split": data_split.split.model_dump(),
            },
        )
        best_val_loss = result.history[result.best_epoch - 1].val_loss
        mlflow.log_params(
            {
                "n_features_out": bundle.preprocessor.n_features_out,
                "epochs_run": len(result.history),
                "stopped_early": result.stopped_early,
                "best_epoch": result.best_epoch,
                "best_val_loss": best_val_loss,
                "chosen_decision_threshold": bundle.decision_threshold,
                "temperature": bundle.temperature,
            }
        )
        mlflow.log_metrics({"best_epoch": result.best_epoch, "training_seconds": result.seconds})
        log_metadata(
            metadata={
                "best_epoch": result.best_epoch,
                "epochs_run": len(result.history),
                "stopped_early": result.stopped_early,
                "best_val_loss": best_val_loss,
                "training_seconds": result.seconds,
                "decision_threshold": bundle.decision_threshold,
                "threshold_rule": bundle.threshold_rule or "fixed",
                "temperature": bundle.temperature,
                "feature_types": {spec.name: spec.type for spec in bundle.contract.features},
                **bundle.metrics,
            }
        )
        return bundle


def _fit(
    raw_data: UnmaterializedArtifact,
    data_split: DataSplit,
    model_config: ModelConfig,
    feature_schema: FeatureSchema,
    na_values: list[str],
    extra: dict[str, object],
) -> tuple[ModelBundle, TrainingResult]:
    """Train from the stored Parquet file, or from the loaded table if it is not one."""
    path = ParquetTableMaterializer.table_path(raw_data)
    if path is None:
        table = raw_data.load()
        return fit_bundle(
            model_config,
            feature_schema,
            data_split.take(table, "train", feature_schema),
            data_split.take(table, "val", feature_schema),
            na_values=na_values,
            on_epoch=_log_epoch,
            extra=extra,
        )
    with ParquetTable(path) as stored:
        return fit_bundle_streamed(
            model_config,
            feature_schema,
            stored,
            data_split,
            na_values=na_values,
            on_epoch=_log_epoch,
            extra=extra,
        )
