"""Training: :func:`fit_bundle`, which turns two splits into a model bundle, and its calibration.

The loop itself (mini-batch Adam on binary cross-entropy, with early stopping on validation loss)
is :func:`~tabular_classifier.training_loop.train_classifier`, re-exported here with its records.

Progress goes to the ``tabular_classifier.training`` logger (one INFO line per epoch) and to an
optional per-epoch callback, so that orchestration code can forward metrics to a tracker
without this module knowing about it.
"""

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from tabular_classifier.calibration import choose_threshold, fit_temperature
from tabular_classifier.contract import ParsedRows, RowContract
from tabular_classifier.feature_schema import FeatureSchema
from tabular_classifier.fitted_preprocessor import FittedPreprocessor
from tabular_classifier.labels import encode_target
from tabular_classifier.model_config import ModelConfig, ThresholdRule
from tabular_classifier.predictor import ModelBundle, Predictor
from tabular_classifier.training_loop import (
    EpochRecord,
    TrainingResult,
    set_seeds,
    train_classifier,
)

__all__ = [
    "EpochRecord",
    "TrainingResult",
    "assemble_bundle",
    "calibrate",
    "calibrate_logits",
    "fit_bundle",
    "set_seeds",
    "train_classifier",
]

logger = logging.getLogger(__name__)


def fit_bundle(
    cfg: ModelConfig,
    schema: FeatureSchema,
    train: pd.DataFrame,
    validation: pd.DataFrame,
    na_values: Sequence[str] = (),
    on_epoch: Callable[[EpochRecord], None] | None = None,
    extra: dict[str, Any] | None = None,
) -> tuple[ModelBundle, TrainingResult]:
    """Build a model bundle from two splits: the one way every caller trains a model.

    1. Infer the row contract (logical types, nullability, ranges) from the training split.
    2. Parse both splits through it, as every entry point will parse inputs later.
    3. Fit the preprocessing on the parsed training split only, on its arrays.
    4. Train the network (:func:`train_classifier`).
    5. Complete the contract with the categories and the scorable bounds of the fitted model.
    6. Calibrate on the validation split (:func:`calibrate`): temperature, decision threshold.

    Args:
        cfg: Architecture and training hyperparameters.
        schema: The feature schema (``tabular_classifier.data.validate_and_infer_schema``).
        train: The training split, numeric features already numbers (``split_data`` does it).
        validation: The validation split, same columns.
        na_values: The data config's ``na_values``, recorded in the contract for CSV readers.
        on_epoch: Called with each epoch's record.
        extra: Free JSON-safe metadata for the bundle (data version, config file, ...); the
            best epoch and ``pos_weight`` are added.

    Returns:
        The bundle (best-epoch weights, preprocessing, schema, contract, temperature and decision
        threshold from :func:`calibrate`, the best epoch's ``val_loss``/``val_accuracy``/
        ``val_roc_auc``) and the training result.

    Raises:
        InputValidationError: If a split breaks the contract inferred from the training split
            (a value of another type in the validation split).
        ValueError: As :func:`train_classifier`, or if a numeric feature holds booleans.
        FloatingPointError: As :func:`train_classifier`.
    """
    contract = RowContract.infer(
        train,
        schema.numeric_features,
        schema.categorical_features,
        [schema.target, *schema.dropped_columns],
        na_values,
    )
    parsed_train = contract.parse_frame(train)
    parsed_val = contract.parse_frame(validation)
    # The parsed arrays' columns are in the contract's order, the preprocessor's in the
    # schema's; transform_parsed relies on the two agreeing.
    if contract.numeric_features != list(schema.numeric_features) or (
        contract.categorical_features != list(schema.categorical_features)
    ):
        raise ValueError("the row contract's feature order differs from the schema's")
    preprocessor = FittedPreprocessor.fit_arrays(
        parsed_train.numeric,
        parsed_train.categorical,
        list(schema.numeric_features),
        list(schema.categorical_features),
    )
    result = train_classifier(
        cfg,
        preprocessor.transform_parsed(parsed_train),
        encode_target(train[schema.target], schema),
        preprocessor.transform_parsed(parsed_val),
        encode_target(validation[schema.target], schema),
        on_epoch=on_epoch,
    )
    bundle = assemble_bundle(cfg, schema, contract, preprocessor, result, extra)
    calibrate(bundle, parsed_val, encode_target(validation[schema.target], schema))
    return bundle, result


def assemble_bundle(
    cfg: ModelConfig,
    schema: FeatureSchema,
    contract: RowContract,
    preprocessor: FittedPreprocessor,
    result: TrainingResult,
    extra: dict[str, Any] | None,
) -> ModelBundle:
    """The bundle of a trained network, before calibration (decision threshold 0.5, T = 1).

    Completes the contract with the fitted categories and the model's scorable bounds
    (``RowContract.with_model``) and records the best epoch's validation metrics.

    Args:
        cfg: The model config it was trained with.
        schema: The feature schema.
        contract: The row contract inferred from the training split (without the model's
            categories and bounds yet).
        preprocessor: The preprocessing fitted on the training split.
        result: The training loop's result.
        extra: Free JSON-safe metadata; ``best_epoch``, ``epochs_run``, ``stopped_early`` and
            ``pos_weight`` are added.
    """
    best = result.history[result.best_epoch - 1]
    return ModelBundle(
        model=result.model,
        preprocessor=preprocessor,
        schema=schema,
        model_config=cfg,
        decision_threshold=0.5,
        metrics={
            "val_loss": best.val_loss,
            "val_accuracy": best.val_accuracy,
            "val_roc_auc": result.best_val_roc_auc,
        },
        extra={
            **(extra or {}),
            "best_epoch": result.best_epoch,
            "epochs_run": len(result.history),
            "stopped_early": result.stopped_early,
            "pos_weight": result.pos_weight,
        },
        contract=contract.with_model(
            preprocessor.categories,
            preprocessor.means,
            preprocessor.scales,
            result.model.linear_layers(),
        ),
    )


def calibrate(bundle: ModelBundle, validation: ParsedRows, y_val: np.ndarray) -> None:
    """Set the bundle's temperature and decision threshold from the validation split.

    :func:`calibrate_logits` of the network's logits for ``validation``.

    Args:
        bundle: A trained bundle; its ``temperature``, ``decision_threshold`` and
            ``threshold_rule`` are set in place.
        validation: The validation split, parsed by the bundle's contract.
        y_val: int64 (n_val,) validation labels.

    Raises:
        ValueError: As :func:`calibrate_logits`.
    """
    calibrate_logits(bundle, Predictor(bundle).logits(validation), y_val)


def calibrate_logits(bundle: ModelBundle, logits: np.ndarray, y_val: np.ndarray) -> None:
    """Set the bundle's temperature and decision threshold from validation logits.

    With ``temperature_scaling`` the temperature minimising the validation log loss is fitted
    (``calibration.fit_temperature``); then a ``ThresholdRule`` chooses the threshold on the
    calibrated validation probabilities (``calibration.choose_threshold``), or the config's
    number is used as it is.

    Args:
        bundle: A trained bundle; its ``temperature``, ``decision_threshold`` and
            ``threshold_rule`` are set in place.
        logits: float64 (n_val,), the network's logits for the validation rows, before any
            temperature (``Predictor.logits``).
        y_val: int64 (n_val,) validation labels.

    Raises:
        ValueError: As ``calibration.fit_temperature`` and ``calibration.choose_threshold``
            (a class missing from the validation split, an unreachable precision target).
    """
    cfg = bundle.model_config
    if cfg.temperature_scaling:
        bundle.temperature = fit_temperature(logits, y_val)
        logger.info(
            "temperature scaling: T=%.4f on %d validation rows", bundle.temperature, len(y_val)
        )
    rule = cfg.decision_threshold
    if isinstance(rule, ThresholdRule):
        probabilities = 0.5 * (1.0 + np.tanh(0.5 * logits / bundle.temperature))
        bundle.decision_threshold = choose_threshold(rule, probabilities, y_val)
        bundle.threshold_rule = rule.model_dump(exclude_none=True)
        logger.info(
            "decision threshold %.4f chosen by rule %s on %d validation rows",
            bundle.decision_threshold,
            bundle.threshold_rule,
            len(y_val),
        )
    else:
        bundle.decision_threshold = float(rule)
        bundle.threshold_rule = None
