"""Plain-Python core of the tabular binary classifier.

Configuration, data contract, preprocessing, model, training, evaluation and prediction.

Data flows one way through the modules: ``config`` -> ``data`` -> ``features`` -> ``model`` ->
``training`` -> ``metrics`` -> ``predictor``. Nothing here knows about the orchestration or
tracking layers, which call into this package.
"""

import importlib
import pkgutil
from types import ModuleType

from tabular_classifier.config import (
    DataConfig,
    ModelConfig,
    SplitConfig,
    config_to_dict,
    load_data_config,
    load_model_config,
)
from tabular_classifier.data import (
    FeatureSchema,
    encode_target,
    load_table,
    split_data,
    validate_and_infer_schema,
)
from tabular_classifier.datasets import export_breast_cancer_csv
from tabular_classifier.errors import ConfigError, DataValidationError, InputValidationError
from tabular_classifier.features import FittedPreprocessor, build_preprocessor
from tabular_classifier.metrics import (
    classification_report,
    compute_metrics,
    confusion,
    plot_confusion_matrix,
    plot_precision_recall_curve,
    plot_roc_curve,
)
from tabular_classifier.model import MLPClassifier
from tabular_classifier.predictor import ModelBundle, Predictor
from tabular_classifier.training import (
    EpochRecord,
    TrainingResult,
    set_seeds,
    train_classifier,
)

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


def __getattr__(name: str) -> ModuleType:
    """Import a submodule on first attribute access (``tabular_classifier.baseline``).

    ZenML stores a module cache dependency (``steps.caching.ML_CODE``) as the path
    ``tabular_classifier.baseline`` and loads it back as attribute ``baseline`` of the package.
    In a fresh step container nothing has imported that submodule yet when the cache key is
    computed, so plain attribute access would fail.

    Raises:
        AttributeError: If ``name`` is not a submodule of the package.
    """
    if name in {info.name for info in pkgutil.iter_modules(__path__)}:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
