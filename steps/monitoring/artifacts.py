"""What monitoring reads from a model version: its data contract, reference data and test metrics.

Nothing is retrained or recomputed: the reference data (training features + predicted
probabilities) and the evaluation report were linked to the model version by the training
pipeline's ``register_model`` step.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pandas as pd
from zenml.client import Client

from tabular_classifier.errors import ConfigError
from tabular_classifier.evaluation import EvaluationReport
from tabular_classifier.predictor import ModelBundle


class MonitoringError(RuntimeError):
    """Monitoring cannot run: unknown model version, or one without the artifacts it needs."""


def require_model(model_name: str) -> None:
    """Check that ``model_name`` is a ZenML model.

    A misspelt name then fails the run instead of monitoring an always-empty window, which
    would never alert.

    Raises:
        ConfigError: If no model has that name; the message lists the models that exist.
    """
    client = Client()
    if client.list_models(name=model_name).items:
        return
    known = sorted(model.name for model in client.list_models(size=50).items)
    raise ConfigError(
        "pipeline parameter 'monitoring'",
        "model_name",
        f"no ZenML model is named '{model_name}'; models: {', '.join(known) or 'none'}",
    )


@lru_cache(maxsize=8)
def model_version(model_name: str, version: str) -> Any:
    """The ZenML model version ``model_name`` / ``version``.

    Raises:
        MonitoringError: If it does not exist.
    """
    try:
        return Client().get_model_version(model_name, version)
    except KeyError as exc:
        raise MonitoringError(
            f"model '{model_name}' has no version '{version}' (window.model_version or the "
            "prediction log's model_version column names it)"
        ) from exc


def _artifact(model_name: str, version: str, name: str) -> Any:
    artifact = model_version(model_name, version).get_artifact(name)
    if artifact is None:
        raise MonitoringError(
            f"model '{model_name}' version {version} has no '{name}' artifact; it was not "
            "registered by this project's training pipeline"
        )
    return artifact


@lru_cache(maxsize=8)
def classifier(model_name: str, version: str) -> ModelBundle:
    """The model version's classifier bundle (its schema and decision threshold).

    Cached: several checks of one step (and the steps of one in-process run) need it.
    """
    bundle: ModelBundle = _artifact(model_name, version, "classifier").load()
    return bundle


def reference_data(model_name: str, version: str) -> pd.DataFrame:
    """The model version's reference data: training features, target and predictions.

    Returns:
        Shape (n_train, n_features + 3).
    """
    frame: pd.DataFrame = _artifact(model_name, version, "reference_data").load()
    return frame


def test_metrics(model_name: str, version: str) -> dict[str, float]:
    """The model version's test metrics (``test_accuracy``, ``test_roc_auc``, ...)."""
    report: EvaluationReport = _artifact(model_name, version, "evaluation_report").load()
    return dict(report.metrics)


def require_version(version: str | None, source: str) -> str:
    """The model version to monitor, or a clear error when the window does not name one.

    Raises:
        ConfigError: Naming ``window.model_version``.
    """
    if version is None:
        raise ConfigError(
            source,
            "window.model_version",
            "the current data has no model_version column: name the model version that "
            "made these predictions",
        )
    return version
