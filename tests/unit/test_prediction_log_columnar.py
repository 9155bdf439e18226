"""The prediction log's columnar record: written by the gateway, read by monitoring.

A request of two or more rows is one JSON line of column arrays
(``tabular_classifier.log_records``). Monitoring reads a file that mixes it with per-row lines
(one-row requests, and every line written before the format) as the same rows; a torn or bad
record is left out and reported with its line, never breaking the read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest

from serving.log_lines import columnar_line, encode_records, serving_lines, serving_records
from serving.prediction_log import JsonlPredictionWriter
from tabular_classifier.contract import FeatureSpec, RowContract
from tabular_classifier.errors import DataValidationError
from tabular_classifier.log_records import expand, rows_of
from tabular_classifier.monitoring import log_files
from tabular_classifier.monitoring.config import WindowConfig
from tabular_classifier.monitoring.window import read_labelled_predictions, read_window

CONTRACT = RowContract(
    [FeatureSpec("a", "float"), FeatureSpec("b", "float"), FeatureSpec("c", "categorical")]
)
NAMES = ["a", "b", "c"]


def _contract(_version: str | None) -> RowContract:
    return CONTRACT


def _meta(request: int, latency_ms: float) -> dict[str, Any]:
    return {
        "request_id": f"req-{request}",
        "timestamp": f"2026-12-02T05:00:{request:02d}.000001+00:00",
        "source": "serving",
        "model_name": "churn",
        "latency_ms": latency_ms,
        "prediction_id_base": f"{request:02x}" * 16,  # a UUID4's 32 hex characters
    }


def _base(request: int) -> str:
    """The first 26 characters of a request's id base: its rows' ids less the position."""
    return (f"{request:02x}" * 16)[:26]


def _request(request: int, n: int) -> tuple[list[list[Any]], dict[str, list[Any]]]:
    rows: list[list[Any]] = [
        [float(request * 100 + i), None if i == 1 else 0.5, "x"] for i in range(n)
    ]
    per_row = {
        "model_version": ["3"] * n,
        "probability": [0.125 * (i % 8) for i in range(n)],
        "label": ["yes" if i % 2 else "no" for i in range(n)],
        "unknown_categories": [0] * n,
    }
    return rows, per_row


def test_a_columnar_record_expands_to_the_per_row_records() -> None:
    rows, per_row = _request(1, 5)
    meta = _meta(1, 4.5)
    line = columnar_line(NAMES, meta, per_row, rows)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    record = json.loads(line)
    assert list(record)[:3] == ["log_format", "n_rows", "prediction_id_prefix"]
    assert record["features"]["b"] == [0.5, None, 0.5, 0.5, 0.5]
    expected = serving_records(NAMES, rows, meta, per_row)
    assert expand(record) == expected
    assert [list(r) for r in expand(record)] == [list(r) for r in expected]
    assert expand(record)[4]["prediction_id"] == _base(1) + "000004"
    assert rows_of(json.loads(encode_records(expected[:1]))) == expected[:1]  # a per-row line


def test_float_features_from_the_array_write_nan_as_null() -> None:
    floats = np.array([[1.5, np.nan], [-0.0, 1e-300]])
    rows = [[1.5, None], [-0.0, 1e-300]]
    per_row = {
        "model_version": ["1", "1"],
        "probability": [0.25, 0.75],
        "label": ["no", "yes"],
        "unknown_categories": [0, 0],
    }
    meta = _meta(2, 1.0)
    from_array = columnar_line(["x", "y"], meta, per_row, floats=floats)
    assert from_array == columnar_line(["x", "y"], meta, per_row, rows)
    assert json.loads(from_array)["features"] == {"x": [1.5, -0.0], "y": [None, 1e-300]}


def test_a_record_whose_arrays_disagree_with_n_rows_is_refused() -> None:
    rows, per_row = _request(1, 3)
    record = json.loads(columnar_line(NAMES, _meta(1, 1.0), per_row, rows))
    record["probability"] = record["probability"][:2]
    with pytest.raises(ValueError, match="n_rows = 3"):
        expand(record)
    del record["request_id"]
    with pytest.raises(ValueError, match="missing 'request_id'"):
        expand(record)


def _mixed_log(directory: Path) -> Path:
    """Per-row lines of old (a 3-row request), a columnar 4-row request, a 1-row request."""
    writer = JsonlPredictionWriter(directory)
    rows, per_row = _request(1, 3)
    writer.write_lines(encode_records(serving_records(NAMES, rows, _meta(1, 10.0), per_row)))
    rows, per_row = _request(2, 4)
    writer.write_lines(columnar_line(NAMES, _meta(2, 20.0), per_row, rows))
    rows, per_row = _request(3, 1)
    writer.write_lines(serving_lines(NAMES, rows, _meta(3, 30.0), per_row))
    writer.close()
    (path,) = directory.glob("serving-*.jsonl")
    return path


def test_monitoring_reads_old_and_columnar_lines_alike(tmp_path: Path) -> None:
    path = _mixed_log(tmp_path)
    assert len(path.read_bytes().splitlines()) == 3 + 1 + 1
    window, info = read_window(WindowConfig(), tmp_path, _contract, model_name="churn")
    assert window["a"].tolist() == [100.0, 101.0, 102.0, 200.0, 201.0, 202.0, 203.0, 300.0]
    assert window["b"].isna().tolist() == [False, True, False, False, True, False, False, False]
    assert window["prediction_probability"].tolist() == [
        0.0,
        0.125,
        0.25,
        0.0,
        0.125,
        0.25,
        0.375,
        0.0,
    ]
    assert window["prediction_label"].tolist() == [
        "no",
        "yes",
        "no",
        "no",
        "yes",
        "no",
        "yes",
        "no",
    ]
    assert window["prediction_id"].tolist()[3:5] == [
        _base(2) + "000000",
        _base(2) + "000001",
    ]
    # One latency per request, whatever its format.
    assert info.latency["n"] == 3 and info.latency["p50_ms"] == 20.0
    assert info.skipped["total"] == 0 and info.model_version == "3"
    labelled = read_labelled_predictions(info, {_base(2) + "000003"})
    assert labelled["probability"].tolist() == [0.375]


def test_a_torn_or_bad_columnar_record_is_reported_and_the_rest_read(tmp_path: Path) -> None:
    path = _mixed_log(tmp_path)
    rows, per_row = _request(4, 6)
    record = json.loads(columnar_line(NAMES, _meta(4, 40.0), per_row, rows))
    record["label"] = record["label"][:5]  # disagrees with n_rows
    torn = columnar_line(NAMES, _meta(5, 50.0), per_row, rows)
    with path.open("ab") as handle:
        handle.write(orjson.dumps(record) + b"\n" + torn[: len(torn) // 2])
    window, info = read_window(WindowConfig(), tmp_path, _contract)
    assert len(window) == 8
    assert info.skipped["total"] == 2
    assert [(e["line"], e["kind"]) for e in info.skipped["examples"]] == [
        (6, "torn_line"),
        (7, "torn_line"),
    ]
    assert "complete columnar record" in info.skipped["examples"][0]["message"]
    # The gateway's next write starts on a fresh line and is read.
    writer = JsonlPredictionWriter(tmp_path)
    rows, per_row = _request(6, 2)
    writer.write_lines(columnar_line(NAMES, _meta(6, 60.0), per_row, rows))
    writer.close()
    window, info = read_window(WindowConfig(), tmp_path, _contract)
    assert len(window) == 10 and info.skipped["total"] == 2


def test_bad_rows_inside_a_record_are_left_out_by_line(tmp_path: Path) -> None:
    rows, per_row = _request(1, 5)
    rows[2][0] = "not a number"
    per_row["probability"][3] = 1.5
    JsonlPredictionWriter(tmp_path).write_lines(columnar_line(NAMES, _meta(1, 1.0), per_row, rows))
    window, info = read_window(WindowConfig(), tmp_path, _contract)
    assert window["a"].tolist() == [100.0, 101.0, 104.0]
    kinds = {(e["line"], e["column"], e["kind"]) for e in info.skipped["examples"]}
    assert kinds == {(1, "a", "wrong_type"), (1, "probability", "bad_probability")}
    # A window file is strict: the first bad row fails, naming the line.
    (path,) = tmp_path.glob("serving-*.jsonl")
    with pytest.raises(DataValidationError, match="at row 1"):
        read_window(WindowConfig(path=str(path)), tmp_path, _contract)


def test_chunks_stay_bounded_across_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = JsonlPredictionWriter(tmp_path)
    for request in range(4):
        rows, per_row = _request(request, 5)
        writer.write_lines(columnar_line(NAMES, _meta(request, 1.0), per_row, rows))
    writer.close()
    (path,) = tmp_path.glob("serving-*.jsonl")
    monkeypatch.setattr(log_files, "CHUNK_ROWS", 7)
    chunks: list[pd.DataFrame] = list(log_files.chunks(path, ["a", "request_id"]))
    assert [len(c) for c in chunks] == [7, 7, 6]
    joined = pd.concat(chunks)
    assert joined["a"].tolist() == [float(r * 100 + i) for r in range(4) for i in range(5)]
    assert joined.index.tolist() == [line for line in (1, 2, 3, 4) for _ in range(5)]


def _embedded(request: int, n: int, latency_ms: float) -> bytes:
    """A columnar record embedding its request's body (the gateway's form for such bodies)."""
    rows, per_row = _request(request, n)
    body = orjson.dumps({"dataframe_split": {"columns": NAMES, "data": rows}})
    return columnar_line(NAMES, _meta(request, latency_ms), per_row, request_body=body)


def test_a_record_embedding_the_request_body_reads_as_its_rows(tmp_path: Path) -> None:
    rows, per_row = _request(7, 4)
    line = _embedded(7, 4, 2.5)
    record = json.loads(line)
    assert "features" not in record and list(record)[-1] == "request_body"
    assert expand(record) == serving_records(NAMES, rows, _meta(7, 2.5), per_row)
    bad = {**record, "request_body": {"dataframe_split": {"columns": NAMES, "data": rows[:3]}}}
    with pytest.raises(ValueError, match="n_rows = 4 rows"):
        expand(bad)
    path = _mixed_log(tmp_path)
    with path.open("ab") as handle:
        handle.write(line + _embedded(8, 3, 99.0)[:-40])  # the last one torn by a crash
    window, info = read_window(WindowConfig(), tmp_path, _contract)
    assert window["a"].tolist()[-4:] == [700.0, 701.0, 702.0, 703.0]
    assert len(window) == 12 and info.latency["n"] == 4
    assert info.skipped["total"] == 1 and info.skipped["examples"][0]["line"] == 7
