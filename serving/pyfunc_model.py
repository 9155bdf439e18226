"""MLflow pyfunc model wrapping our singleton predictor, logged as *model from code*.

MLflow stores this file's source with the model instead of a cloudpickled object, so loading
the model never unpickles anything. The weights and preprocessing travel as the ``bundle``
artifact (safetensors + JSON). MLflow's scoring server, ZenML's MLflow model deployer and
Seldon's ``MLFLOW_SERVER`` all run this same code, which is also what batch inference uses.

Input: a DataFrame checked against the model version's row contract
(``tabular_classifier.contract``). The model is logged without an input schema, so MLflow passes
every request through unchanged and the contract alone decides: MLflow's own enforcement would
turn a ``null`` boolean into ``False``, refuse a ``null`` in an integer column, and silently drop
unknown columns, each unlike every other entry point. A contract violation raises
``MlflowException`` with ``INVALID_PARAMETER_VALUE``, which MLflow's scoring server answers with
HTTP 400; the original ``InputValidationError`` (with ``kind``, ``column`` and ``row``) is its
``__cause__``.

Output columns, one row per input row:
    ``probability`` (float64): probability of the positive class;
    ``label`` (str): the predicted label, at the model's decision threshold;
    ``model_version`` (str): the registered model version that answered;
    ``unknown_categories`` (int64): how many of the row's values were categories never seen in
    training (scored as no category).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import set_model
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.pyfunc import PythonModel

from tabular_classifier.errors import InputValidationError
from tabular_classifier.predictor import Predictor

BUNDLE_ARTIFACT = "bundle"
OUTPUT_COLUMNS = ("probability", "label", "model_version", "unknown_categories")


class ClassifierPyfunc(PythonModel):
    """Pyfunc adapter: DataFrame of feature columns in, probability/label/version out."""

    def load_context(self, context: Any) -> None:
        """Load the bundle once per process through the singleton predictor.

        Args:
            context: MLflow's context; ``artifacts["bundle"]`` is the bundle directory and
                ``model_config["model_version"]`` the registered version.
        """
        self._predictor = Predictor.get(context.artifacts[BUNDLE_ARTIFACT])
        config = context.model_config or {}
        self._version = str(config.get("model_version", "unknown"))

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """Score a batch.

        Args:
            context: MLflow's context (unused; state is loaded in ``load_context``).
            model_input: Shape (n_rows, n_columns): the features (and optionally the
                contract's ignored columns), any order.
            params: Unused.

        Returns:
            Shape (n_rows, 4): ``probability``, ``label``, ``model_version``,
            ``unknown_categories``.

        Raises:
            MlflowException: ``INVALID_PARAMETER_VALUE`` (HTTP 400) if the input breaks the
                row contract; the message names the column and the row.
        """
        predictor = self._predictor
        try:
            rows = predictor.contract.parse_frame(model_input)
            proba = predictor.score(rows)
        except InputValidationError as exc:
            raise MlflowException(str(exc), error_code=INVALID_PARAMETER_VALUE) from exc
        labels = [str(label) for label in predictor.labels(proba)]
        return pd.DataFrame(
            {
                "probability": proba,
                "label": labels,
                "model_version": self._version,
                "unknown_categories": rows.unknown_per_row(),
            }
        )


set_model(ClassifierPyfunc())
