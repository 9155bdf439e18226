"""Plain-Python core of the tabular binary classifier.

Configuration, data contract, preprocessing, model, training, evaluation and prediction.

Data flows one way through the modules: ``config`` -> ``data`` -> ``features`` -> ``model`` ->
``training`` -> ``metrics`` -> ``predictor``. Nothing here knows about the orchestration or
tracking layers, which call into this package.

Importing the package imports none of its modules: each name below is loaded from its module
on first use (PEP 562), so that the serving gateway, which needs only
``tabular_classifier.contract``, never imports torch or scikit-learn.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tabular_classifier.config import (
        DataConfig,
        SplitConfig,
        config_to_dict,
        load_data_config,
        load_model_config,
    )
    from tabular_classifier.data_validation import validate_and_infer_schema
    from tabular_classifier.datasets import export_breast_cancer_csv
    from tabular_classifier.errors import ConfigError, DataValidationError, InputValidationError
    from tabular_classifier.feature_schema import FeatureSchema
    from tabular_classifier.features import build_preprocessor
    from tabular_classifier.fitted_preprocessor import FittedPreprocessor
    from tabular_classifier.labels import encode_target
    from tabular_classifier.metrics import (
        classification_report,
        compute_metrics,
        confusion,
        plot_confusion_matrix,
        plot_precision_recall_curve,
        plot_roc_curve,
    )
    from tabular_classifier.model import MLPClassifier
    from tabular_classifier.model_config import ModelConfig
    from tabular_classifier.predictor import ModelBundle, Predictor
    from tabular_classifier.split_assignment import split_data
    from tabular_classifier.table_reader import load_table
    from tabular_classifier.training_loop import (
        EpochRecord,
        TrainingResult,
        set_seeds,
        train_classifier,
    )

# Each public name and the module that defines it.
_EXPORTS: dict[str, str] = {
    "ConfigError": "tabular_classifier.errors",
    "DataConfig": "tabular_classifier.config",
    "DataValidationError": "tabular_classifier.errors",
    "EpochRecord": "tabular_classifier.training_loop",
    "FeatureSchema": "tabular_classifier.feature_schema",
    "FittedPreprocessor": "tabular_classifier.fitted_preprocessor",
    "InputValidationError": "tabular_classifier.errors",
    "MLPClassifier": "tabular_classifier.model",
    "ModelBundle": "tabular_classifier.predictor",
    "ModelConfig": "tabular_classifier.model_config",
    "Predictor": "tabular_classifier.predictor",
    "SplitConfig": "tabular_classifier.config",
    "TrainingResult": "tabular_classifier.training_loop",
    "build_preprocessor": "tabular_classifier.features",
    "classification_report": "tabular_classifier.metrics",
    "compute_metrics": "tabular_classifier.metrics",
    "config_to_dict": "tabular_classifier.config",
    "confusion": "tabular_classifier.metrics",
    "encode_target": "tabular_classifier.labels",
    "export_breast_cancer_csv": "tabular_classifier.datasets",
    "load_data_config": "tabular_classifier.config",
    "load_model_config": "tabular_classifier.config",
    "load_table": "tabular_classifier.table_reader",
    "plot_confusion_matrix": "tabular_classifier.metrics",
    "plot_precision_recall_curve": "tabular_classifier.metrics",
    "plot_roc_curve": "tabular_classifier.metrics",
    "set_seeds": "tabular_classifier.training_loop",
    "split_data": "tabular_classifier.split_assignment",
    "train_classifier": "tabular_classifier.training_loop",
    "validate_and_infer_schema": "tabular_classifier.data_validation",
}

__all__ = [
    "ConfigError",
    "DataConfig",
    "DataValidationError",
    "EpochRecord",
    "FeatureSchema",
    "FittedPreprocessor",
    "InputValidationError",
    "MLPClassifier",
    "ModelBundle",
    "ModelConfig",
    "Predictor",
    "SplitConfig",
    "TrainingResult",
    "build_preprocessor",
    "classification_report",
    "compute_metrics",
    "config_to_dict",
    "confusion",
    "encode_target",
    "export_breast_cancer_csv",
    "load_data_config",
    "load_model_config",
    "load_table",
    "plot_confusion_matrix",
    "plot_precision_recall_curve",
    "plot_roc_curve",
    "set_seeds",
    "split_data",
    "train_classifier",
    "validate_and_infer_schema",
]


def __getattr__(name: str) -> Any:
    """Load a public name from its module, or a submodule, on first use (PEP 562).

    Submodules are loaded too: ZenML stores a module cache dependency (``steps.caching.ML_CODE``)
    as the path ``tabular_classifier.baseline`` and loads it back as attribute ``baseline`` of
    the package; in a fresh step container nothing has imported that submodule yet when the
    cache key is computed.

    Raises:
        AttributeError: If ``name`` is neither one of :data:`__all__` nor a submodule.
    """
    module = _EXPORTS.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
    elif name in {info.name for info in pkgutil.iter_modules(__path__)}:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module 'tabular_classifier' has no attribute {name!r}")
    globals()[name] = value
    return value
