"""Bad input over HTTP is answered 4xx, and the server keeps serving."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.e2e.deployment.helpers import (
    MODEL_NAME,
    gateway_url,
    payload,
    post,
)

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("mutate", "status", "needle"),
    [
        (lambda cols, rows: b"{not json", 400, "malformed JSON"),
        (
            lambda cols, rows: {
                "dataframe_split": {"columns": cols[1:], "data": [r[1:] for r in rows]}
            },
            422,
            "missing columns: 'mean radius'",
        ),
        (
            lambda cols, rows: {
                "dataframe_split": {
                    "columns": [*cols, "patient_id"],
                    "data": [[*r, 7] for r in rows],
                }
            },
            422,
            "unknown columns: 'patient_id'",
        ),
        (
            lambda cols, rows: {
                "dataframe_split": {"columns": cols, "data": [["abc", *r[1:]] for r in rows]}
            },
            422,
            "column 'mean radius': expected a number or null, got 'abc' (str) at row 0",
        ),
        (
            lambda cols, rows: json.dumps(
                {
                    "dataframe_split": {
                        "columns": cols,
                        "data": [[float("nan"), *r[1:]] for r in rows],
                    }
                }
            ).encode(),
            422,
            "column 'mean radius': nan is not a finite number; send null for a missing value",
        ),
        (lambda cols, rows: {"dataframe_split": {"columns": cols, "data": []}}, 422, "empty batch"),
        (
            lambda cols, rows: {"dataframe_split": {"columns": cols, "data": rows[:1] * 10001}},
            413,
            "exceeds the limit of 10000 rows",
        ),
    ],
    ids=[
        "malformed-json",
        "missing-column",
        "extra-column",
        "string-in-numeric",
        "nan",
        "empty-batch",
        "oversized-batch",
    ],
)
@pytest.mark.usefixtures("serving_production")
def test_bad_input_over_http_is_4xx_and_server_stays_up(
    model_versions: dict[str, str], zenml_client: Any, mutate: Any, status: int, needle: str
) -> None:
    if not urllib.request.urlopen(f"{gateway_url()}/health").status == 200:
        pytest.fail("gateway not serving before the bad request")
    report = (
        zenml_client.get_model_version(MODEL_NAME, model_versions["production"])
        .get_artifact("evaluation_report")
        .load()
    )
    frame = report.smoke_frame()
    body = mutate(list(frame.columns), frame.values.tolist())
    code, answer = post(body if isinstance(body, bytes) else json.dumps(body).encode())
    assert code == status, answer
    assert needle in answer["message"]
    assert urllib.request.urlopen(f"{gateway_url()}/health").status == 200
    assert post(payload(frame))[0] == 200
