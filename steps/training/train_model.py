"""Training step: fit the preprocessing and the PyTorch MLP, logging every epoch to MLflow."""

from __future__ import annotations

from typing import Annotated, Any

import mlflow
import pandas as pd
from zenml import get_step_context, log_metadata, step
from zenml.logger import get_logger

from steps.caching import ML_CODE
from steps.tracking import record_failure
from tabular_classifier.config import ModelConfig
from tabular_classifier.data import FeatureSchema, encode_target
from tabular_classifier.features import FittedPreprocessor
from tabular_classifier.predictor import ModelBundle
from tabular_classifier.training import EpochRecord, train_classifier

logger = get_logger(__name__)


def _log_epoch(record: EpochRecord) -> None:
    mlflow.log_metrics(
        {
            "train_loss": record.train_loss,
            "train_accuracy": record.train_accuracy,
            "val_loss": record.val_loss,
            "val_accuracy": record.val_accuracy,
            "val_roc_auc": record.val_roc_auc,
        },
        step=record.epoch,
    )


@step(experiment_tracker=True, cache_policy=ML_CODE)
def train_model(
    train_split: pd.DataFrame,
    validation_split: pd.DataFrame,
    feature_schema: dict[str, Any],
    data_version: dict[str, Any],
    model_config: dict[str, Any],
    model_config_file: str,
    model_config_sha256: str,
) -> Annotated[ModelBundle, "classifier"]:
    """Fit the preprocessor on the training split only, then train the classifier.

    Logs to MLflow: every hyperparameter as a param (``batch_size``, ``learning_rate``, ...),
    ``train_loss``, ``train_accuracy``, ``val_loss``, ``val_accuracy`` and ``val_roc_auc``
    per epoch, and the config file name and SHA-256 as tags.

    Args:
        train_split: Training rows, shape (n_train, n_columns).
        validation_split: Validation rows for early stopping, shape (n_val, n_columns).
        feature_schema: The schema from the validation step.
        data_version: The data version from the ingest step, stored in the bundle.
        model_config: A validated ``ModelConfig`` as a dict.
        model_config_file: Path of the model config YAML, for lineage.
        model_config_sha256: SHA-256 of that file's bytes.

    Returns:
        The trained classifier: weights of the best validation-loss epoch, the fitted
        preprocessing, the schema, the config and the best epoch's validation metrics.
    """
    with record_failure("train_model"):
        cfg = ModelConfig.model_validate(model_config)
        schema = FeatureSchema.from_dict(feature_schema)
        preprocessor = FittedPreprocessor.fit(train_split, schema)
        x_train = preprocessor.transform(train_split[schema.feature_columns])
        x_val = preprocessor.transform(validation_split[schema.feature_columns])
        y_train = encode_target(train_split[schema.target], schema)
        y_val = encode_target(validation_split[schema.target], schema)

        params = cfg.model_dump(mode="json")
        params.pop("description", None)
        params["hidden_sizes"] = ",".join(str(h) for h in cfg.hidden_sizes)
        params["n_features_out"] = preprocessor.n_features_out
        params["model_config_file"] = model_config_file
        mlflow.log_params(params)
        mlflow.set_tags(
            {
                "model_config.name": cfg.name,
                "model_config.file": model_config_file,
                "model_config.sha256": model_config_sha256,
                "zenml.run_id": str(get_step_context().pipeline_run.id),
                "zenml.run_name": get_step_context().pipeline_run.name,
            }
        )
        logger.info(
            "Training %s on %d rows (%d features after preprocessing), validating on %d rows",
            cfg.name,
            len(x_train),
            preprocessor.n_features_out,
            len(x_val),
        )
        result = train_classifier(cfg, x_train, y_train, x_val, y_val, on_epoch=_log_epoch)
        best = result.history[result.best_epoch - 1]
        val_metrics = {
            "val_loss": best.val_loss,
            "val_accuracy": best.val_accuracy,
            "val_roc_auc": best.val_roc_auc,
        }
        mlflow.log_metrics({"best_epoch": result.best_epoch, "training_seconds": result.seconds})
        log_metadata(
            metadata={
                "best_epoch": result.best_epoch,
                "epochs_run": len(result.history),
                "stopped_early": result.stopped_early,
                "training_seconds": result.seconds,
                **val_metrics,
            }
        )
        return ModelBundle(
            model=result.model,
            preprocessor=preprocessor,
            schema=schema,
            model_config=cfg,
            decision_threshold=cfg.decision_threshold,
            metrics=val_metrics,
            extra={
                "model_config_file": model_config_file,
                "model_config_sha256": model_config_sha256,
                "data_version": data_version,
                "best_epoch": result.best_epoch,
                "pos_weight": result.pos_weight,
            },
        )
