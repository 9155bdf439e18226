"""The gateway's column-wise log lines are the per-record lines, byte for byte."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from serving.prediction_log import encode_records, prediction_ids, serving_lines, serving_records

BASE = "0123456789abcdef0123456789abcdef"


def _meta(**overrides: Any) -> dict[str, Any]:
    meta = {
        "request_id": "req-1",
        "timestamp": "2026-12-02T05:00:00.123456+00:00",
        "source": "serving",
        "model_name": "churn%model",
        "latency_ms": 3.25,
        "prediction_id_base": BASE,
    }
    return {**meta, **overrides}


def _per_row(n: int) -> dict[str, list[Any]]:
    return {
        "model_version": ["1"] * n,
        "probability": [i / 7 for i in range(n)],
        "label": ["yes" if i % 2 else 'no, "really"' for i in range(n)],
        "unknown_categories": [i % 3 for i in range(n)],
    }


CASES = {
    "floats, integers, booleans and nulls": (
        ["tenure", "charges", "senior", "count"],
        [[1.5, None, True, 3], [2.0, 1e-05, False, None], [None, 123456789.125, None, -4]],
    ),
    "text with commas, quotes, percent signs and non-ASCII": (
        ["plan", "tenure", 'odd "name", 100%'],
        [["basic, yearly", 1.0, "x"], ['say "hi"', None, "%s %d"], [None, 3.5, "Zürich ✓"]],
    ),
    "a feature named like a meta column": (["label", "x"], [["a", 1.0], ["b", 2.0]]),
    "one row": (["x", "y"], [[1.0, "a"]]),
    "a value orjson does not know": (["x"], [[np.float32(1.5)], [2.0]]),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_lines_equal_the_per_record_lines(case: str) -> None:
    columns, rows = CASES[case]
    meta, per_row = _meta(), _per_row(len(rows))
    lines = serving_lines(columns, rows, meta, per_row)
    assert lines == encode_records(serving_records(columns, rows, meta, per_row))
    parsed = [json.loads(line) for line in lines.splitlines()]
    assert len(parsed) == len(rows)
    assert [record["prediction_id"] for record in parsed] == prediction_ids(BASE, len(rows))
    assert parsed[-1]["probability"] == pytest.approx((len(rows) - 1) / 7)
    assert parsed[0]["model_name"] == "churn%model"


def test_values_and_key_order_of_a_line() -> None:
    columns, rows = CASES["text with commas, quotes, percent signs and non-ASCII"]
    lines = serving_lines(columns, rows, _meta(), _per_row(3)).splitlines()
    second = json.loads(lines[1])
    assert list(second) == [
        *columns,
        "prediction_id",
        "request_id",
        "timestamp",
        "source",
        "model_name",
        "model_version",
        "probability",
        "label",
        "latency_ms",
        "unknown_categories",
    ]
    assert second["plan"] == 'say "hi"'
    assert second['odd "name", 100%'] == "%s %d"
    assert second["prediction_id"] == BASE[:26] + "000001"
    assert second["label"] == "yes"
    assert second["unknown_categories"] == 1
    assert json.loads(lines[2])['odd "name", 100%'] == "Zürich ✓"


def test_rows_of_the_wrong_width_are_refused_as_before() -> None:
    with pytest.raises(ValueError):
        serving_lines(["x", "y"], [[1.0, 2.0], [3.0]], _meta(), _per_row(2))


@pytest.mark.parametrize("n", [3, 70, 5, 300])
def test_prediction_ids_of_requests_of_any_size(n: int) -> None:
    rows = [[float(i)] for i in range(n)]
    lines = serving_lines(["x"], rows, _meta(), _per_row(n)).splitlines()
    ids = [json.loads(line)["prediction_id"] for line in lines]
    assert ids == prediction_ids(BASE, n)
    assert ids[-1] == BASE[:26] + f"{n - 1:06x}"
    assert json.loads(lines[-1])["x"] == n - 1
