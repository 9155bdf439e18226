"""Materializer for the trained classifier (:class:`tabular_classifier.predictor.ModelBundle`).

Layout under the artifact URI: ``model.safetensors`` (torch weights), ``preprocessor.json``
(fitted imputation, scaling and one-hot parameters), ``metadata.json`` (feature schema, label
mapping, architecture, config, validation metrics) and ``model_card.md`` (the dashboard view).
Nothing is pickled, so loading never executes code from the artifact store.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

from zenml.enums import ArtifactType, VisualizationType
from zenml.io import fileio
from zenml.materializers.base_materializer import BaseMaterializer
from zenml.metadata.metadata_types import MetadataType

from tabular_classifier.predictor import ModelBundle

MODEL_CARD_FILENAME = "model_card.md"


def render_model_card(bundle: ModelBundle) -> str:
    """Render a Markdown model card for the ZenML dashboard.

    Args:
        bundle: The trained classifier.

    Returns:
        Markdown text: purpose, data contract, architecture, hyperparameters and metrics.
    """
    cfg = bundle.model_config
    schema = bundle.schema
    arch = bundle.model.architecture()
    metric_rows = "\n".join(f"| {k} | {v:.4f} |" for k, v in sorted(bundle.metrics.items()))
    hyper_rows = "\n".join(
        f"| {k} | {v} |" for k, v in cfg.model_dump(mode="json").items() if k != "description"
    )
    numeric = ", ".join(f"`{c}`" for c in schema.numeric_features) or "none"
    categorical = ", ".join(f"`{c}`" for c in schema.categorical_features) or "none"
    return (
        f"# Model card: {cfg.name}\n\n{cfg.description}\n\n"
        f"## Task\nBinary classification of `{schema.target}`: positive label "
        f"`{schema.positive_label}`, negative label `{schema.negative_label}`. The model outputs "
        f"the probability of the positive label; the decision threshold is "
        f"{bundle.decision_threshold}.\n\n"
        f"## Inputs\n{len(schema.feature_columns)} features, "
        f"{bundle.preprocessor.n_features_out} after preprocessing (median imputation + "
        f"standard scaling for numeric, constant imputation + one-hot for categorical).\n\n"
        f"- Numeric: {numeric}\n- Categorical: {categorical}\n"
        f"- Dropped: {', '.join(f'`{c}`' for c in schema.dropped_columns) or 'none'}\n\n"
        f"## Architecture\nPyTorch MLP, {bundle.model.n_parameters():,} parameters: "
        f"input {arch['input_dim']} → hidden {arch['hidden_sizes']} ({arch['activation']}, "
        f"dropout {arch['dropout']}) → 1 logit. Trained with binary cross-entropy "
        f"(`BCEWithLogitsLoss`) and Adam.\n\n"
        f"## Hyperparameters\n| key | value |\n|---|---|\n{hyper_rows}\n\n"
        f"## Validation metrics (best epoch)\n| metric | value |\n|---|---|\n{metric_rows}\n"
    )


class ClassifierMaterializer(BaseMaterializer):
    """Saves and loads :class:`ModelBundle` as safetensors + JSON."""

    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (ModelBundle,)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.MODEL

    def load(self, data_type: type[Any]) -> ModelBundle:
        """Copy the bundle files to a temporary directory and load them.

        Args:
            data_type: ``ModelBundle``.

        Returns:
            The loaded bundle; predictions are bit-identical to the saved one.

        Raises:
            FileNotFoundError: If a bundle file is missing under the artifact URI.
        """
        with self.get_temporary_directory(delete_at_exit=True) as tmp:
            for name in ModelBundle.FILES:
                src = os.path.join(self.uri, name)
                if not fileio.exists(src):
                    raise FileNotFoundError(f"{src}: classifier artifact file missing")
                fileio.copy(src, os.path.join(tmp, name))
            return ModelBundle.load(tmp)

    def save(self, data: ModelBundle) -> None:
        """Write the bundle locally first, then copy it into the artifact store.

        Writing locally first means a serialization error can never leave a half-written
        artifact in the store.

        Args:
            data: The bundle to save.
        """
        with self.get_temporary_directory(delete_at_exit=True) as tmp:
            local = os.path.join(tmp, "bundle")
            data.save(local)
            for name in ModelBundle.FILES:
                fileio.copy(os.path.join(local, name), os.path.join(self.uri, name), overwrite=True)

    def save_visualizations(self, data: ModelBundle) -> dict[str, VisualizationType]:
        """Write the model card the dashboard shows for this artifact.

        Args:
            data: The bundle.

        Returns:
            ``{<uri>/model_card.md: MARKDOWN}``.
        """
        path = os.path.join(self.uri, MODEL_CARD_FILENAME)
        with fileio.open(path, "w") as handle:
            handle.write(render_model_card(data))
        return {path: VisualizationType.MARKDOWN}

    def extract_metadata(self, data: ModelBundle) -> dict[str, MetadataType]:
        """Parameter count, features and metrics, shown beside the artifact.

        Args:
            data: The bundle.

        Returns:
            Metadata: ``n_parameters``, ``n_features``, ``n_features_out``, ``features``,
            ``target``, ``positive_label``, ``model_config_name`` and every validation metric.
        """
        schema = data.schema
        metadata: dict[str, MetadataType] = {
            "n_parameters": data.model.n_parameters(),
            "n_features": len(schema.feature_columns),
            "n_features_out": data.preprocessor.n_features_out,
            "features": list(schema.feature_columns),
            "target": schema.target,
            "positive_label": str(schema.positive_label),
            "model_config_name": data.model_config.name,
            "decision_threshold": data.decision_threshold,
        }
        metadata.update({k: float(v) for k, v in data.metrics.items()})
        return metadata
