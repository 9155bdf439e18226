"""Base materializer for record artifacts stored as one JSON file plus a Markdown view.

Subclasses name the two files and render the Markdown; this class writes and reads the JSON.
Used by the promotion decision and the monitoring results. No pickle: the JSON file is the
record's ``to_dict()``, written with ``allow_nan=False`` so that it is strict JSON.
"""

from __future__ import annotations

import json
import os
from typing import Any, ClassVar

from zenml.enums import ArtifactType, VisualizationType
from zenml.io import fileio
from zenml.materializers.base_materializer import BaseMaterializer


class JsonRecordMaterializer(BaseMaterializer):
    """Writes ``JSON_NAME`` (the record's ``to_dict()``) and ``MARKDOWN_NAME`` (its view).

    Subclasses set ``ASSOCIATED_TYPES``, ``JSON_NAME``, ``MARKDOWN_NAME`` and ``RECORD_KIND``
    (words for error messages), and implement :meth:`load` (with :meth:`read_json`) and
    :meth:`markdown`.
    """

    SKIP_REGISTRATION: ClassVar[bool] = True  # a base class: ZenML registers the subclasses
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.DATA_ANALYSIS
    JSON_NAME: ClassVar[str] = "record.json"
    MARKDOWN_NAME: ClassVar[str] = "record.md"
    RECORD_KIND: ClassVar[str] = "record"

    def read_json(self) -> dict[str, Any]:
        """The stored JSON object.

        Raises:
            FileNotFoundError: If ``JSON_NAME`` is missing under the artifact URI (message names
                the path and the record kind).
        """
        path = os.path.join(self.uri, self.JSON_NAME)
        if not fileio.exists(path):
            raise FileNotFoundError(f"{path}: {self.RECORD_KIND} file missing")
        with fileio.open(path, "r") as handle:
            data: dict[str, Any] = json.load(handle)
        return data

    def save(self, data: Any) -> None:
        """Write ``JSON_NAME`` in one write (its content is fully encoded first).

        Args:
            data: The record; its ``to_dict()`` must hold only finite JSON values.

        Raises:
            ValueError: If the record holds NaN or infinity (nothing is written then).
        """
        payload = json.dumps(data.to_dict(), indent=1, allow_nan=False)
        with fileio.open(os.path.join(self.uri, self.JSON_NAME), "w") as handle:
            handle.write(payload)

    def markdown(self, data: Any) -> str:
        """The dashboard's Markdown view of ``data``."""
        raise NotImplementedError

    def save_visualizations(self, data: Any) -> dict[str, VisualizationType]:
        """Write the Markdown view.

        Args:
            data: The record.

        Returns:
            The Markdown file (MARKDOWN), keyed by URI.
        """
        path = os.path.join(self.uri, self.MARKDOWN_NAME)
        with fileio.open(path, "w") as handle:
            handle.write(self.markdown(data))
        return {path: VisualizationType.MARKDOWN}
