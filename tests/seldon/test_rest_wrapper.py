"""The Seldon Python wrapper over REST: real ``seldon-core-microservice``, real HTTP, loopback.

The server runs ``serving/seldon/TabularClassifier.py`` in the serving environment (numpy 1,
seldon-core 1.18) on a bundle trained here; its answers are compared with the in-process
predictor of the project's environment.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tabular_classifier.predictor import Predictor
from tests.seldon.live_server import MAX_BATCH_ROWS, MODEL_VERSION, SeldonServer
from tests.training_helpers import churn_table

NAMES = ["tenure", "charges", "contract"]


def _rows(frame: pd.DataFrame, names: list[str] = NAMES) -> list[list[Any]]:
    return [
        [None if _is_missing(value) else value for value in row]
        for row in frame[names].values.tolist()
    ]


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """Rows the model never saw, with a missing numeric and a missing categorical value."""
    rows = churn_table(12, seed=1).drop(columns=["churn"]).astype(object)
    rows.loc[2, "charges"] = None
    rows.loc[5, "contract"] = None
    return rows


def _assert_matches_reference(body: Any, frame: pd.DataFrame, reference: Predictor) -> None:
    expected = reference.predict_proba(frame)
    assert body["data"]["names"] == ["no", "yes"]
    served = np.asarray(body["data"]["ndarray"], dtype=np.float64)
    assert served.shape == (len(frame), 2)
    np.testing.assert_allclose(served[:, 1], expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(served[:, 0], 1.0 - expected, rtol=0, atol=1e-9)


def test_health_endpoints(seldon_server: SeldonServer) -> None:
    assert seldon_server.request("GET", "/health/ping") == (200, "pong")
    status, body = seldon_server.request("GET", "/health/status")
    assert status == 200
    assert body["jsonData"] == {"status": "ready", "model_version": MODEL_VERSION, "n_features": 3}


def test_valid_request_matches_in_process_predictor(
    seldon_server: SeldonServer, seldon_reference: Predictor, frame: pd.DataFrame
) -> None:
    status, body = seldon_server.predict({"data": {"names": NAMES, "ndarray": _rows(frame)}})
    assert status == 200, body
    _assert_matches_reference(body, frame, seldon_reference)
    tags = body["meta"]["tags"]
    assert tags["model_version"] == MODEL_VERSION
    assert tags["positive_label"] == "yes"
    assert tags["decision_threshold"] == seldon_reference.bundle.decision_threshold


def test_column_order_does_not_matter(
    seldon_server: SeldonServer, seldon_reference: Predictor, frame: pd.DataFrame
) -> None:
    names = ["contract", "tenure", "charges"]
    status, body = seldon_server.predict({"data": {"names": names, "ndarray": _rows(frame, names)}})
    assert status == 200, body
    _assert_matches_reference(body, frame, seldon_reference)


def test_tensor_payload(
    seldon_server: SeldonServer, seldon_reference: Predictor, frame: pd.DataFrame
) -> None:
    values = [value for row in _rows(frame) for value in row]
    tensor = {"shape": [len(frame), len(NAMES)], "values": values}
    status, body = seldon_server.predict({"data": {"names": NAMES, "tensor": tensor}})
    assert status == 200, body
    # Seldon answers in the request's format.
    assert body["data"]["names"] == ["no", "yes"]
    assert body["data"]["tensor"]["shape"] == [len(frame), 2]
    served = np.asarray(body["data"]["tensor"]["values"], dtype=np.float64).reshape(-1, 2)
    np.testing.assert_allclose(
        served[:, 1], seldon_reference.predict_proba(frame), rtol=0, atol=1e-9
    )


def test_request_metadata_tags_are_echoed(seldon_server: SeldonServer, frame: pd.DataFrame) -> None:
    payload = {
        "meta": {"tags": {"caller": "test"}},
        "data": {"names": NAMES, "ndarray": _rows(frame)},
    }
    status, body = seldon_server.predict(payload)
    assert status == 200, body
    assert body["meta"]["tags"]["caller"] == "test"
    assert body["meta"]["tags"]["model_version"] == MODEL_VERSION


GOOD_ROW = [12.0, 70.5, "monthly"]

BAD_REQUESTS: list[tuple[str, bytes, int, list[str]]] = [
    ("malformed JSON", b'{"data": {"names": ["tenure", ', 400, ["JSON"]),
    ("body is not a Seldon message", json.dumps([GOOD_ROW]).encode(), 400, ["Invalid request"]),
    (
        "no data object",
        json.dumps({"ndarray": [GOOD_ROW]}).encode(),
        400,
        ["'data'"],
    ),
    (
        "names missing",
        json.dumps({"data": {"ndarray": [GOOD_ROW]}}).encode(),
        400,
        ["'data.names'", "tenure", "charges", "contract"],
    ),
    (
        "missing column",
        json.dumps(
            {"data": {"names": ["tenure", "contract"], "ndarray": [[12.0, "monthly"]]}}
        ).encode(),
        400,
        ["missing", "charges"],
    ),
    (
        "extra column",
        json.dumps(
            {"data": {"names": [*NAMES, "customer_id"], "ndarray": [[*GOOD_ROW, 7]]}}
        ).encode(),
        400,
        ["unknown columns", "customer_id", "UNKNOWN_COLUMN"],
    ),
    (
        "duplicated column",
        json.dumps({"data": {"names": [*NAMES, "tenure"], "ndarray": [[*GOOD_ROW, 1.0]]}}).encode(),
        400,
        ["more than once", "tenure", "DUPLICATE_COLUMN"],
    ),
    (
        "string in numeric column",
        json.dumps(
            {"data": {"names": NAMES, "ndarray": [GOOD_ROW, [12.0, "seventy", "monthly"]]}}
        ).encode(),
        400,
        ["charges", "row 1", "seventy", "WRONG_TYPE"],
    ),
    (
        "numeric string in numeric column",
        json.dumps({"data": {"names": NAMES, "ndarray": [["12", 70.5, "monthly"]]}}).encode(),
        400,
        ["tenure", "row 0", "WRONG_TYPE"],
    ),
    (
        "boolean in numeric column",
        json.dumps({"data": {"names": NAMES, "ndarray": [[True, 70.5, "monthly"]]}}).encode(),
        400,
        ["tenure", "row 0"],
    ),
    (
        "NaN",
        b'{"data": {"names": ["tenure", "charges", "contract"], '
        b'"ndarray": [[12.0, 70.5, "monthly"], [1.0, 2.0, "yearly"], [3.0, NaN, "monthly"]]}}',
        400,
        ["charges", "row 2", "null", "NOT_FINITE"],
    ),
    (
        "Infinity",
        b'{"data": {"names": ["tenure", "charges", "contract"], '
        b'"ndarray": [[Infinity, 70.5, "monthly"]]}}',
        400,
        ["tenure", "row 0"],
    ),
    (
        "nested value in categorical column",
        json.dumps({"data": {"names": NAMES, "ndarray": [[12.0, 70.5, ["monthly"]]]}}).encode(),
        400,
        ["contract", "row 0"],
    ),
    (
        "empty batch",
        json.dumps({"data": {"names": NAMES, "ndarray": []}}).encode(),
        400,
        ["empty", "EMPTY"],
    ),
    (
        "oversized batch",
        json.dumps(
            {"data": {"names": NAMES, "ndarray": [GOOD_ROW] * (MAX_BATCH_ROWS + 1)}}
        ).encode(),
        413,
        [str(MAX_BATCH_ROWS + 1), f"MAX_BATCH_ROWS={MAX_BATCH_ROWS}"],
    ),
    (
        "ragged rows",
        json.dumps({"data": {"names": NAMES, "ndarray": [GOOD_ROW, [12.0, 70.5]]}}).encode(),
        400,
        ["row 1", "3 values"],
    ),
    (
        "flat ndarray",
        json.dumps({"data": {"names": NAMES, "ndarray": GOOD_ROW}}).encode(),
        400,
        ["row 0"],
    ),
    (
        "tensor of the wrong size",
        json.dumps(
            {"data": {"names": NAMES, "tensor": {"shape": [2, 3], "values": GOOD_ROW}}}
        ).encode(),
        400,
        ["'data.tensor.values'"],
    ),
    (
        "unsupported payload kind",
        json.dumps({"data": {"names": NAMES, "tftensor": {}}}).encode(),
        400,
        ["'ndarray'"],
    ),
]


@pytest.mark.parametrize(
    ("body", "status", "fragments"),
    [
        pytest.param(body, status, fragments, id=name)
        for name, body, status, fragments in BAD_REQUESTS
    ],
)
def test_bad_request_gets_a_client_error_naming_the_problem(
    seldon_server: SeldonServer,
    seldon_reference: Predictor,
    frame: pd.DataFrame,
    body: bytes,
    status: int,
    fragments: list[str],
) -> None:
    answer_status, answer = seldon_server.request("POST", "/api/v1.0/predictions", body)
    assert answer_status == status, answer
    info = answer["status"]["info"] + " " + answer["status"]["reason"]
    for fragment in fragments:
        assert fragment in info, f"{fragment!r} not in {info!r}"
    # The server keeps answering correctly after a bad request.
    ok_status, ok_body = seldon_server.predict({"data": {"names": NAMES, "ndarray": _rows(frame)}})
    assert ok_status == 200, ok_body
    _assert_matches_reference(ok_body, frame, seldon_reference)


def test_prometheus_metrics_count_scored_rows(
    seldon_server: SeldonServer, frame: pd.DataFrame
) -> None:
    def rows_total() -> float:
        status, text = seldon_server.request("GET", "/metrics", url=seldon_server.metrics_url)
        assert status == 200
        values = [
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("tabular_classifier_rows_total{")
            and f'served_model_version="{MODEL_VERSION}"' in line
        ]
        return sum(values)

    before = rows_total()
    status, _ = seldon_server.predict({"data": {"names": NAMES, "ndarray": _rows(frame)}})
    assert status == 200
    assert rows_total() == before + len(frame)
