"""The gateway's 200 answer and the request's prediction-log line(s), built together.

:func:`scored_answer` serves rows the gateway scored in process: the probabilities, labels and
unseen-category counts are encoded once (:func:`serving.log_lines.encoded_values`) for the
answer (:func:`serving.log_lines.answer_body`), whose bytes are those of the per-row way (a
dict per prediction through ``orjson.dumps``, which :func:`forwarded_answer` still uses for
predictions a model server returned; ``tests/unit/test_gateway_answer.py`` compares the two).

The log: a request of two or more rows is one columnar record
(:func:`serving.log_lines.columnar_line`, format ``tabular_classifier.log_records``; when
every feature is a float column the features are written from the float64 array the scorer
already built), a one-row request one per-row line (:func:`serving.log_lines.serving_lines`).
Either way, read back through ``tabular_classifier.log_records.expand``, the rows are exactly
the per-row records (:func:`serving.log_lines.serving_records`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from serving.log_lines import answer_body, columnar_line, encoded_values, serving_lines
from serving.prediction_log import utc_now, uuid4_hex
from serving.routing import Route
from tabular_classifier.contract import ParsedRows
from tabular_classifier.scoring import NumpyScorer

__all__ = ["Answer", "forwarded_answer", "request_meta", "scored_answer"]


@dataclass(frozen=True)
class Answer:
    """A 200 answer: its JSON ``body`` and its prediction-log ``lines``.

    ``lines``: one columnar record for two or more rows, else one per-row line; complete
    lines, each ending in a newline, for one ``os.write``.
    """

    body: bytes
    lines: bytes


def request_meta(request_id: str, model_name: str, latency_s: float) -> dict[str, Any]:
    """The log values every row of a request shares (``serving.log_lines.serving_records``).

    Args:
        request_id: The request's id.
        model_name: The served model's name.
        latency_s: The request's latency so far, in seconds (logged in milliseconds).
    """
    return {
        "request_id": request_id,
        "timestamp": utc_now(),
        "source": "serving",
        "model_name": model_name,
        "latency_ms": latency_s * 1000.0,
        "prediction_id_base": uuid4_hex(),
    }


def _unknown(parsed: ParsedRows) -> tuple[list[int], dict[str, int]]:
    """(per row, per column) counts of unseen categories; no work without categorical columns."""
    if not parsed.contract.categorical_features:
        return [0] * parsed.n_rows, {}
    return parsed.unknown_per_row().tolist(), parsed.unknown_categories()


def scored_answer(
    route: Route,
    parsed: ParsedRows,
    probabilities: np.ndarray,
    scorer: NumpyScorer,
    meta: dict[str, Any],
    verbatim: bytes | None = None,
) -> Answer:
    """The answer and log line(s) for rows scored in process.

    Args:
        route: The route that served them (its model name and version).
        parsed: The request's rows (n_rows >= 1).
        probabilities: float64 (n_rows,), finite: the positive class's probabilities.
        scorer: The scorer that scored them: its labels (:meth:`NumpyScorer.labels`: the
            positive one at or above ``decision_threshold``).
        meta: :func:`request_meta`.
        verbatim: The request's body when the log may embed it
            (``serving.contract.RequestRows.verbatim``; two or more rows).
    """
    n = parsed.n_rows
    if n == 1:  # the column-wise encodings save nothing on one row: the per-row way
        probability = float(probabilities[0])
        label = scorer.label_texts[int(probability >= scorer.decision_threshold)]
        prediction = {
            "probability": probability,
            "label": label,
            "model_version": route.model_version,
        }
        return forwarded_answer(route, parsed, [prediction], meta)
    positive = (probabilities >= scorer.decision_threshold).astype(np.intp)
    labels: list[str] = np.array(scorer.label_texts, dtype=object)[positive].tolist()
    label_bytes = np.array([orjson.dumps(t) for t in scorer.label_texts], dtype=object)
    unknown, unknown_columns = _unknown(parsed)
    per_row: dict[str, list[Any]] = {
        "model_version": [route.model_version] * n,
        "probability": probabilities.tolist(),
        "label": labels,
        "unknown_categories": unknown,
    }
    encoded = {
        "probability": encoded_values(per_row["probability"]),
        "label": label_bytes[positive].tolist(),
        "unknown_categories": encoded_values(unknown) if unknown_columns else [b"0"] * n,
    }
    contract = parsed.contract
    floats = (
        parsed.numeric
        if contract.n_numeric == len(contract.features)
        and all(spec.type == "float" for spec in contract.features)
        else None
    )
    body = answer_body(
        route.model_version,
        encoded["probability"],
        encoded["label"],
        encoded["unknown_categories"],
        unknown_columns,
    )
    if verbatim is not None:
        return Answer(body, columnar_line(contract.names, meta, per_row, request_body=verbatim))
    rows = None if floats is not None else parsed.json_rows()
    return Answer(body, columnar_line(contract.names, meta, per_row, rows, floats))


def forwarded_answer(
    route: Route, parsed: ParsedRows, predictions: list[dict[str, Any]], meta: dict[str, Any]
) -> Answer:
    """The answer and log line(s) for predictions a model server returned (one dict per row).

    Each prediction gains ``unknown_categories`` (its row's count); a prediction without
    ``model_version`` is logged with the route's.
    """
    unknown, unknown_columns = _unknown(parsed)
    for prediction, count in zip(predictions, unknown, strict=True):
        prediction["unknown_categories"] = count
    per_row = {
        "model_version": [str(p.get("model_version", route.model_version)) for p in predictions],
        "probability": [p["probability"] for p in predictions],
        "label": [p["label"] for p in predictions],
        "unknown_categories": unknown,
    }
    names, rows = parsed.contract.names, parsed.json_rows()
    if len(rows) == 1:
        lines = serving_lines(names, rows, meta, per_row)
    else:
        lines = columnar_line(names, meta, per_row, rows)
    body = orjson.dumps(
        {
            "model_version": route.model_version,
            "predictions": predictions,
            "unknown_categories": unknown_columns,
        }
    )
    return Answer(body, lines)
