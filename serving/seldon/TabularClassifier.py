"""Seldon Core v1 Python-wrapper model: the tabular classifier behind ``seldon-core-microservice``.

Seldon's wrapper imports the module named on its command line and instantiates the class of the
same name (``seldon-core-microservice TabularClassifier``), hence this file's name. It runs in
the serving image's own environment (``requirements.txt`` beside this file), never in the
project's: seldon-core 1.18 pins numpy<2, Flask<3 and click<8.1.

Request (REST, Seldon protocol)::

    {"data": {"names": ["mean radius", ...], "ndarray": [[17.99, ...], ...]}}

``data.tensor`` (``{"shape": [n, k], "values": [...]}``) may replace ``data.ndarray``.

- The rows are checked by the model version's row contract (``tabular_classifier.contract``),
  the same one as every other entry point: ``data.names`` lists every feature exactly once, in
  any order (the training table's target and dropped columns are accepted and ignored; any
  other column is refused); each value must fit its column's logical type; ``null`` means
  "missing" and is imputed exactly as in training; ``NaN`` and ``Infinity`` (not JSON numbers)
  are refused.
- A batch holds 1 to ``MAX_BATCH_ROWS`` rows.

Response: ``data.ndarray`` has shape (n, 2), ``[p(negative), p(positive)]`` for each row, and
``data.names`` holds the two target labels as strings in that order. ``meta.tags`` carries
``model_version``, ``decision_threshold``, ``positive_label`` and ``unknown_categories`` (per
column, how many values were categories never seen in training, scored as no category): the
predicted label is the positive one where ``p(positive) >= decision_threshold``.

A request that breaks these rules gets HTTP 400 (413 for too many rows) with Seldon's error body:
``status.info`` names the column and the row, ``status.reason`` is the contract's error kind in
capitals (``WRONG_TYPE``, ``MISSING_COLUMN``, ...). Never a 500.

Environment:
    ``MODEL_BUNDLE_DIR``: the model bundle directory; defaults to the ``model_uri`` parameter
    that Seldon's operator passes for a ``modelUri`` (the storage initializer's download
    directory), then to ``/mnt/models``.
    ``MODEL_VERSION``: the registered model version, reported in tags and metrics.
    ``MAX_BATCH_ROWS``: the largest batch accepted (default 10000).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from seldon_core.flask_utils import SeldonMicroserviceException
from seldon_core.user_model import SeldonNotImplementedError, SeldonResponse
from seldon_core.utils import construct_response_json

from tabular_classifier.errors import InputValidationError
from tabular_classifier.predictor import Predictor

DEFAULT_BUNDLE_DIR = "/mnt/models"
"""Where Seldon's storage initializer downloads ``modelUri``."""

DEFAULT_MAX_BATCH_ROWS = 10_000

_BAD_REQUEST = 400
_PAYLOAD_TOO_LARGE = 413
_REQUEST_SHAPE = '{"data": {"names": [...], "ndarray": [[...], ...]}}'


def _bad_request(message: str) -> SeldonMicroserviceException:
    return SeldonMicroserviceException(message, status_code=_BAD_REQUEST)


def _positive_int_from_env(name: str, default: int) -> int:
    text = os.environ.get(name)
    if text is None or text.strip() == "":
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"environment variable {name} must be a positive integer, got {text!r}")
    return value


def _rows_from_json(data: dict[str, Any]) -> list[Any]:
    """The rows of ``data.ndarray`` or ``data.tensor``, as lists of JSON values."""
    if "ndarray" in data and "tensor" in data:
        raise _bad_request("'data' must hold one of 'ndarray' or 'tensor', not both")
    if "ndarray" in data:
        rows = data["ndarray"]
        if not isinstance(rows, list):
            raise _bad_request("'data.ndarray' must be a list of rows")
        return rows
    if "tensor" in data:
        tensor = data["tensor"]
        shape = tensor.get("shape") if isinstance(tensor, dict) else None
        values = tensor.get("values") if isinstance(tensor, dict) else None
        if (
            not isinstance(shape, list)
            or len(shape) != 2
            or not all(isinstance(size, int) and not isinstance(size, bool) for size in shape)
            or min(shape) < 0
        ):
            raise _bad_request("'data.tensor.shape' must be [n_rows, n_columns]")
        if not isinstance(values, list) or len(values) != shape[0] * shape[1]:
            raise _bad_request(
                f"'data.tensor.values' must be a list of {shape[0]} x {shape[1]} values"
            )
        width = shape[1]
        return [values[i * width : (i + 1) * width] for i in range(shape[0])]
    raise _bad_request(f"'data' must hold 'ndarray' (or 'tensor'): send {_REQUEST_SHAPE}")


class TabularClassifier:
    """Seldon model component: a batch of feature rows in, class probabilities out.

    Args:
        model_uri: Bundle directory passed by Seldon's operator (as the ``model_uri``
            parameter) when the graph node has a ``modelUri``; ``MODEL_BUNDLE_DIR`` wins over it.

    Raises:
        ValueError: If ``MAX_BATCH_ROWS`` is set but is not a positive integer.
    """

    def __init__(self, model_uri: str | None = None) -> None:
        self._bundle_dir = os.environ.get("MODEL_BUNDLE_DIR") or model_uri or DEFAULT_BUNDLE_DIR
        self._model_version = os.environ.get("MODEL_VERSION") or "unknown"
        self._max_rows = _positive_int_from_env("MAX_BATCH_ROWS", DEFAULT_MAX_BATCH_ROWS)
        self._predictor: Predictor | None = None

    def load(self) -> None:
        """Load the bundle once per process (Seldon calls this in each server process).

        Raises:
            FileNotFoundError: If the bundle directory or one of its files is missing.
            ValueError: If the bundle is corrupt or fails its checksums.
        """
        self._get_predictor()

    def _get_predictor(self) -> Predictor:
        if self._predictor is None:
            self._predictor = Predictor.get(self._bundle_dir)
        return self._predictor

    def class_names(self) -> list[str]:
        """Names of the two output columns: the negative label, then the positive one."""
        schema = self._get_predictor().bundle.schema
        return [str(schema.negative_label), str(schema.positive_label)]

    def tags(self) -> dict[str, Any]:
        """Tags added to every response's ``meta.tags``."""
        bundle = self._get_predictor().bundle
        return {
            "model_version": self._model_version,
            "decision_threshold": bundle.decision_threshold,
            "positive_label": str(bundle.schema.positive_label),
        }

    def metrics(self) -> list[dict[str, Any]]:
        """Custom Prometheus metrics Seldon collects after each call.

        Seldon calls this after health checks too, so it only reports which model version is
        loaded; the per-request counters come back with each prediction instead.
        """
        return [
            {
                "type": "GAUGE",
                "key": "tabular_classifier_model_info",
                "value": 1,
                "tags": {"served_model_version": self._model_version},
            }
        ]

    def health_status(self) -> dict[str, Any]:
        """Readiness check: score one all-missing row (every feature imputed) end to end.

        Returns:
            ``{"status": "ready", "model_version": ..., "n_features": ...}``.
        """
        predictor = self._get_predictor()
        columns = predictor.contract.names
        predictor.score(predictor.contract.parse_rows(columns, [[None] * len(columns)]))
        return {"status": "ready", "model_version": self._model_version, "n_features": len(columns)}

    def predict_raw(self, request: Any) -> Any:
        """Answer a REST request from its JSON, before Seldon turns it into a numpy array.

        Seldon's standard path calls ``np.array(data["ndarray"])`` first: ragged rows fail there
        with a 500, and one string anywhere turns every number into a string. Reading the JSON
        here keeps each value's type, so every error names its field, column and row.

        Args:
            request: The decoded JSON body (REST), or a protobuf message (gRPC).

        Returns:
            The Seldon response message, as a JSON-ready dictionary.

        Raises:
            SeldonNotImplementedError: For anything but a JSON object (gRPC messages, a bare
                JSON list), so that Seldon's standard path answers it through :meth:`predict`.
            SeldonMicroserviceException: 400 or 413 if the request breaks the input contract.
        """
        if not isinstance(request, dict):
            raise SeldonNotImplementedError("not a JSON object: left to Seldon's standard path")
        data = request.get("data")
        if not isinstance(data, dict):
            raise _bad_request(
                f"the body must be a Seldon message with a 'data' object: {_REQUEST_SHAPE}"
            )
        meta = request.get("meta")
        if meta is not None and not isinstance(meta, dict):
            raise _bad_request("'meta' must be an object")
        response = self._score(data.get("names"), _rows_from_json(data))
        # The same metrics and tags as Seldon's standard path would add.
        return construct_response_json(
            self,
            False,
            request,
            response.data,
            meta,
            self.metrics() + response.metrics,
            response.tags,
        )

    def predict(
        self, X: Any, features_names: list[str] | None = None, meta: dict[str, Any] | None = None
    ) -> SeldonResponse:
        """Seldon's standard entry point (gRPC, or a direct call): score a 2-D array.

        Args:
            X: Shape (n_rows, n_features); a numeric array, or an object array to mix numbers,
                strings, booleans and ``None`` (checked by the row contract).
            features_names: The column name of each column of ``X``.
            meta: Seldon's request metadata (unused).

        Returns:
            Response whose data is float64 of shape (n_rows, 2): ``[p(negative), p(positive)]``,
            with per-request counters as runtime metrics.

        Raises:
            SeldonMicroserviceException: 400 or 413 if the input breaks the contract above.
        """
        if not isinstance(X, np.ndarray):
            raise _bad_request(f"expected rows of features: send {_REQUEST_SHAPE}")
        if X.ndim == 1 and X.size == 0:
            rows: list[Any] = []
        elif X.ndim == 2:
            rows = X.tolist()
        else:
            raise _bad_request(f"expected a 2-D batch (rows x columns), got shape {X.shape}")
        return self._score(features_names, rows)

    def _score(self, names: Any, rows: list[Any]) -> SeldonResponse:
        predictor = self._get_predictor()
        contract = predictor.contract
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise _bad_request(
                f"'data.names' must list the feature columns: {contract.names} (in any order)"
            )
        if len(rows) > self._max_rows:
            raise SeldonMicroserviceException(
                f"batch of {len(rows)} rows exceeds MAX_BATCH_ROWS={self._max_rows}; "
                "split it into smaller requests",
                status_code=_PAYLOAD_TOO_LARGE,
                reason="PAYLOAD_TOO_LARGE",
            )
        try:
            parsed = contract.parse_rows(names, rows)
            proba = predictor.score(parsed)
        except InputValidationError as exc:
            raise SeldonMicroserviceException(
                str(exc), status_code=_BAD_REQUEST, reason=exc.kind.upper()
            ) from exc
        positives = int(np.count_nonzero(proba >= predictor.bundle.decision_threshold))
        # Seldon adds its own "model_version" label (the image tag), which would hide ours.
        version = {"served_model_version": self._model_version}
        return SeldonResponse(
            data=np.column_stack([1.0 - proba, proba]),
            tags={"unknown_categories": parsed.unknown_categories()},
            metrics=[
                {
                    "type": "COUNTER",
                    "key": "tabular_classifier_rows_total",
                    "value": len(proba),
                    "tags": dict(version),
                },
                {
                    "type": "COUNTER",
                    "key": "tabular_classifier_positive_predictions_total",
                    "value": positives,
                    "tags": dict(version),
                },
            ],
        )
