"""The gateway's column-wise answer is the per-row one, byte for byte, and its log the same rows.

``serving.answer.scored_answer`` (rows scored in process) must answer exactly what the per-row
way writes (a dict per prediction through ``orjson.dumps``), and log the rows of
``serving_records``: one ``encode_records`` line for one row, one columnar record whose
expanded rows are those records for more, on real NumPy scorers: one with only float features (the
float64-array shortcut) and one with integer, boolean and categorical features, nulls and
unseen categories.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest

from serving.answer import forwarded_answer, request_meta, scored_answer
from serving.contract import parse_request, parse_rows
from serving.log_lines import answer_body, encode_records, float_columns, serving_records
from serving.routing import Route
from tabular_classifier.config import DataConfig
from tabular_classifier.contract import ParsedRows
from tabular_classifier.log_records import expand
from tabular_classifier.scoring import NumpyScorer
from tests.training_helpers import fit_small_bundle

N_ROWS = 40


def _tables() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(5)
    n = 300
    floats = pd.DataFrame(
        {"radius": rng.normal(14, 3, size=n), "texture": rng.normal(19, 4, size=n) * 1e-9}
    )
    floats["y"] = np.where(floats["radius"] + rng.normal(0, 2, size=n) > 14, "malignant", "b")
    mixed = pd.DataFrame(
        {
            "charges": rng.normal(70, 20, size=n),
            "tenure": rng.integers(0, 72, size=n),
            "plan": rng.choice(["basic", "pro, yearly", 'say "hi"'], size=n).astype(object),
            "paperless": rng.choice([True, False], size=n),
        }
    )
    mixed["y"] = np.where(mixed["tenure"] + rng.normal(0, 9, size=n) < 30, "yes", "no")
    return {"floats": floats, "mixed": mixed}


@pytest.fixture(scope="module", params=["floats", "mixed"])
def scorer(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> NumpyScorer:
    table = _tables()[request.param]
    positive = "malignant" if request.param == "floats" else "yes"
    data_cfg = DataConfig(path=f"{request.param}.csv", target="y", positive_label=positive)
    bundle = fit_small_bundle(table, data_cfg, request.param, epochs=2)
    directory: Path = tmp_path_factory.mktemp(request.param) / "bundle"
    bundle.save(directory)
    return NumpyScorer.from_directory(directory)


def _route(scorer: NumpyScorer) -> Route:
    return Route(
        model_name="answer%model",
        model_version="7",
        registered_version="7",
        service_id="s",
        url="http://127.0.0.1:1/invocations",
        health_url="http://127.0.0.1:1/ping",
        contract=scorer.contract.to_dict(),
        deployment_id="d" * 32,
    )


def _parsed(scorer: NumpyScorer, n: int) -> ParsedRows:
    """``n`` rows in the contract's order, with nulls, unseen categories and integer floats."""
    return parse_rows(_body(scorer, n), scorer.contract)


def _body(scorer: NumpyScorer, n: int) -> bytes:
    """The request body of :func:`_parsed`'s rows."""
    rng = np.random.default_rng(n)
    rows: list[list[Any]] = []
    for i in range(n):
        row: list[Any] = []
        for spec in scorer.contract.features:
            if i % 5 == 1:
                row.append(None)
            elif spec.type == "float":
                row.append([float(rng.normal(14, 3)), 15, -0.0, 1e-300, 123456789.125][i % 5])
            elif spec.type == "integer":
                row.append(int(rng.integers(0, 72)))
            elif spec.type == "boolean":
                row.append(bool(i % 2))
            else:
                row.append(["basic", "gold", 'say "hi"', "pro, yearly", "Zürich"][i % 5])
        rows.append(row)
    return orjson.dumps({"dataframe_split": {"columns": scorer.contract.names, "data": rows}})


@pytest.mark.parametrize("n", [1, 2, N_ROWS])
def test_scored_answer_is_the_per_row_answer_and_log(scorer: NumpyScorer, n: int) -> None:
    route = _route(scorer)
    parsed = _parsed(scorer, n)
    probabilities = scorer.score(parsed)
    meta = request_meta("req-1", route.model_name, 0.0031)
    answer = scored_answer(route, parsed, probabilities, scorer, meta)

    # The per-row way, as the gateway built it before (fresh rows: nothing cached).
    fresh = _parsed(scorer, n)
    predictions = [
        {"probability": p, "label": label, "model_version": "7"}
        for p, label in zip(probabilities.tolist(), scorer.labels(probabilities), strict=True)
    ]
    unknown = fresh.unknown_per_row().tolist()
    expected_records = serving_records(
        fresh.contract.names,
        fresh.json_rows(),
        meta,
        {
            "model_version": ["7"] * n,
            "probability": [p["probability"] for p in predictions],
            "label": [p["label"] for p in predictions],
            "unknown_categories": unknown,
        },
    )
    for prediction, count in zip(predictions, unknown, strict=True):
        prediction["unknown_categories"] = count
    expected_body = orjson.dumps(
        {
            "model_version": "7",
            "predictions": predictions,
            "unknown_categories": fresh.unknown_categories(),
        }
    )
    assert answer.body == expected_body
    if n == 1:  # one per-row line, byte for byte
        assert answer.lines == encode_records(expected_records)
        records = [json.loads(answer.lines)]
    else:  # one columnar line, whose rows are the per-row records, key order included
        (line,) = answer.lines.splitlines()
        record = json.loads(line)
        assert record["log_format"] == "columns/1" and record["n_rows"] == n
        records = expand(record)
        assert records == expected_records
        assert [list(r) for r in records] == [list(r) for r in expected_records]
    assert forwarded_answer(route, _parsed(scorer, n), predictions, meta) == answer
    assert len(records) == n
    if n > 1:  # the body embedded as it came: the same rows, values equal
        body = _body(scorer, n)
        request = parse_request(body, scorer.contract)
        assert request.verbatim == body
        embedded = scored_answer(route, request.parsed, probabilities, scorer, meta, body)
        assert embedded.body == answer.body
        (line,) = embedded.lines.splitlines()
        assert line.endswith(b',"request_body":' + body + b"}")
        assert expand(json.loads(line)) == expected_records
    assert [r["probability"] for r in records] == probabilities.tolist()
    if n > 1:  # row 1 is all nulls
        assert all(records[1][name] is None for name in scorer.contract.names)
    if "plan" in scorer.contract.names and n == N_ROWS:
        assert json.loads(answer.body)["unknown_categories"] == {"plan": 8}  # "gold", "Zürich"


def test_float_columns_write_floats_as_orjson_writes_python_floats() -> None:
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2**63, size=200_000, dtype=np.uint64)
    values = bits.view(np.float64)
    values = values[np.isfinite(values)]
    special = [0.0, -0.0, 1e16, 1e15, 1e-7, 5e-324, 1.7976931348623157e308, 0.1, 3.0, np.nan]
    block = np.concatenate([values[: 3 * (len(values) // 3)], special[:9]]).reshape(-1, 3)
    block[5, 1] = np.nan
    columns = float_columns(block)
    for j in range(3):
        python = [None if v != v else v for v in block[:, j].tolist()]
        assert columns[j] == [orjson.dumps(v) for v in python]


def test_answer_body_is_orjson_of_the_answer() -> None:
    probabilities = [0.25, 1e-9, 1.0]
    labels = ["no", 'a "quoted", label', "yes"]
    unknown = [0, 2, 1]
    body = answer_body(
        "3",
        [orjson.dumps(p) for p in probabilities],
        [orjson.dumps(label) for label in labels],
        [orjson.dumps(u) for u in unknown],
        {"city": 3},
    )
    predictions = [
        {"probability": p, "label": label, "model_version": "3", "unknown_categories": u}
        for p, label, u in zip(probabilities, labels, unknown, strict=True)
    ]
    assert body == orjson.dumps(
        {"model_version": "3", "predictions": predictions, "unknown_categories": {"city": 3}}
    )
