"""MLflow pyfunc model wrapping our singleton predictor, logged as *model from code*.

MLflow stores this file's source with the model instead of a cloudpickled object, so loading
the model never unpickles anything. The weights and preprocessing travel as the ``bundle``
artifact (safetensors + JSON). MLflow's scoring server, ZenML's MLflow model deployer and
Seldon's ``MLFLOW_SERVER`` all run this same code, which is also what batch inference uses.

Output columns, one row per input row:
    ``probability`` (float64): probability of the positive class;
    ``label`` (str): the predicted label, at the model's decision threshold;
    ``model_version`` (str): the registered model version that answered.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from mlflow.models import set_model
from mlflow.pyfunc import PythonModel

from tabular_classifier.predictor import Predictor

BUNDLE_ARTIFACT = "bundle"
OUTPUT_COLUMNS = ("probability", "label", "model_version")


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
            model_input: Shape (n_rows, n_features): the model's feature columns.
            params: Unused.

        Returns:
            Shape (n_rows, 3): ``probability``, ``label``, ``model_version``.

        Raises:
            InputValidationError: If a feature column is missing or a numeric column holds a
                non-numeric value.
        """
        bundle = self._predictor.bundle
        proba = self._predictor.predict_proba(model_input)
        schema = bundle.schema
        labels = np.where(
            proba >= bundle.decision_threshold,
            str(schema.positive_label),
            str(schema.negative_label),
        )
        return pd.DataFrame({"probability": proba, "label": labels, "model_version": self._version})


set_model(ClassifierPyfunc())
