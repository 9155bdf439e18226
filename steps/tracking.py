"""Helpers shared by steps that log to the active stack's experiment tracker (MLflow)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import mlflow

ERROR_TAG = "error"
FAILED_STEP_TAG = "failed_step"
_MLFLOW_TAG_LIMIT = 5000


@contextlib.contextmanager
def record_failure(step_name: str) -> Iterator[None]:
    """Tag the active MLflow run with the error if the wrapped block raises.

    ZenML's MLflow tracker ends the run as ``FAILED`` when a step fails; this adds *why*, so
    a failed run can be studied from MLflow alone. The exception is re-raised unchanged.

    Args:
        step_name: The step's name, recorded in the ``failed_step`` tag.

    Yields:
        Nothing.
    """
    try:
        yield
    except Exception as exc:
        if mlflow.active_run() is not None:
            message = f"{type(exc).__name__}: {exc}"
            mlflow.set_tags({ERROR_TAG: message[:_MLFLOW_TAG_LIMIT], FAILED_STEP_TAG: step_name})
        raise
