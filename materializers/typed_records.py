"""Materializers for the typed records steps hand each other (no pickle: JSON files only).

- :class:`RecordModelMaterializer`: the pydantic records of ``tabular_classifier.records``
  (``registration``, ``deployment``, ``retraining_run``), stored by ZenML's own pydantic
  materializer (``data_v2.json``) and shown on the dashboard as that JSON file.
- :class:`DataVersionMaterializer` and :class:`FeatureSchemaMaterializer`: the ``data_version``
  and ``feature_schema`` artifacts (frozen dataclasses of the core), stored as their
  ``to_dict()`` JSON, shown as a Markdown table and as the JSON itself.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

from zenml.enums import ArtifactType, VisualizationType
from zenml.materializers.pydantic_materializer import DEFAULT_FILENAME, PydanticMaterializer

from materializers.json_record import JsonRecordMaterializer
from tabular_classifier.data import FeatureSchema
from tabular_classifier.data_version import DataVersion
from tabular_classifier.records import Deployment, Registration, RetrainRun


class RecordModelMaterializer(PydanticMaterializer):
    """ZenML's pydantic materializer for our records, plus the JSON file as dashboard view."""

    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (Registration, Deployment, RetrainRun)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.DATA

    def save_visualizations(self, data: Any) -> dict[str, VisualizationType]:
        """Show the stored JSON file (the record's fields) on the dashboard.

        Returns:
            The ``data_v2.json`` file (JSON), keyed by URI.
        """
        return {os.path.join(self.uri, DEFAULT_FILENAME): VisualizationType.JSON}


class _JsonAndMarkdownMaterializer(JsonRecordMaterializer):
    """A JSON record whose dashboard views are its Markdown table and the JSON file."""

    SKIP_REGISTRATION: ClassVar[bool] = True
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.DATA

    def save_visualizations(self, data: Any) -> dict[str, VisualizationType]:
        """Write the Markdown view; also show the JSON file.

        Returns:
            The Markdown file (MARKDOWN) and the JSON file (JSON), keyed by URI.
        """
        views = super().save_visualizations(data)
        views[os.path.join(self.uri, self.JSON_NAME)] = VisualizationType.JSON
        return views


def _cell(value: Any) -> str:
    return "–" if value is None or value == [] else str(value).replace("|", "\\|")


class DataVersionMaterializer(_JsonAndMarkdownMaterializer):
    """The ``data_version`` artifact (:class:`DataVersion`): ``data_version.json``."""

    SKIP_REGISTRATION: ClassVar[bool] = False
    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (DataVersion,)
    JSON_NAME: ClassVar[str] = "data_version.json"
    MARKDOWN_NAME: ClassVar[str] = "data_version.md"
    RECORD_KIND: ClassVar[str] = "data version"

    def load(self, data_type: type[Any]) -> DataVersion:
        """Read the data version back.

        Raises:
            FileNotFoundError: If ``data_version.json`` is missing.
            ValueError: If a field is missing or unknown.
        """
        return DataVersion.from_dict(self.read_json())

    def markdown(self, data: DataVersion) -> str:
        """The data version as a two-column Markdown table (field, value)."""
        lines = [f"# Data version of `{data.path}`", "", "| field | value |", "|---|---|"]
        lines += [f"| {key} | {_cell(value)} |" for key, value in data.to_dict().items()]
        return "\n".join(lines) + "\n"


class FeatureSchemaMaterializer(_JsonAndMarkdownMaterializer):
    """The ``feature_schema`` artifact (:class:`FeatureSchema`): ``feature_schema.json``."""

    SKIP_REGISTRATION: ClassVar[bool] = False
    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (FeatureSchema,)
    JSON_NAME: ClassVar[str] = "feature_schema.json"
    MARKDOWN_NAME: ClassVar[str] = "feature_schema.md"
    RECORD_KIND: ClassVar[str] = "feature schema"

    def load(self, data_type: type[Any]) -> FeatureSchema:
        """Read the schema back.

        Raises:
            FileNotFoundError: If ``feature_schema.json`` is missing.
            ValueError: If a key is missing or unknown, or a value has the wrong type.
        """
        return FeatureSchema.from_dict(self.read_json())

    def markdown(self, data: FeatureSchema) -> str:
        """The schema as Markdown: target and labels, then one row per column and its role."""
        lines = [
            f"# Feature schema: target `{data.target}`",
            "",
            f"Positive label (encoded 1): `{data.positive_label!r}`; "
            f"negative label (encoded 0): `{data.negative_label!r}`.",
            "",
            "| column | role |",
            "|---|---|",
        ]
        lines += [f"| {_cell(name)} | numeric |" for name in data.numeric_features]
        lines += [f"| {_cell(name)} | categorical |" for name in data.categorical_features]
        lines += [f"| {_cell(name)} | dropped |" for name in data.dropped_columns]
        return "\n".join(lines) + "\n"
