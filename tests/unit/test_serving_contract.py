"""The serving contract: every bad request is a 4xx naming the field or column."""

from __future__ import annotations

import json

import numpy as np
import pytest

from serving.contract import FeatureContract, RequestError, parse_request

CONTRACT = FeatureContract(numeric=("age", "income"), categorical=("city",))


def _split(columns: list[str], data: list[list[object]]) -> bytes:
    return json.dumps({"dataframe_split": {"columns": columns, "data": data}}).encode()


def test_valid_split_and_records_give_the_same_frame() -> None:
    split = parse_request(_split(["city", "age", "income"], [["Paris", 30, 1.5]]), CONTRACT)
    records = parse_request(
        json.dumps({"dataframe_records": [{"age": 30, "income": 1.5, "city": "Paris"}]}).encode(),
        CONTRACT,
    )
    assert list(split.columns) == ["age", "income", "city"]
    assert split.equals(records)
    assert split["age"].dtype == np.float64
    assert split.loc[0, "city"] == "Paris"


def test_null_means_missing() -> None:
    frame = parse_request(_split(["age", "income", "city"], [[None, 2.0, None]]), CONTRACT)
    assert np.isnan(frame.loc[0, "age"])
    assert frame.loc[0, "city"] is None


@pytest.mark.parametrize(
    ("body", "status", "needle", "field"),
    [
        (b"{not json", 400, "malformed JSON", None),
        (b"[1, 2]", 400, "dataframe_split", None),
        (json.dumps({"rows": []}).encode(), 400, "unknown field 'rows'", "rows"),
        (_split(["age", "income", "city"], []), 422, "empty batch", None),
        (_split(["age", "city"], [[1, "x"]]), 422, "missing columns: ['income']", "income"),
        (
            _split(["age", "income", "city", "zip"], [[1, 2, "x", "y"]]),
            422,
            "unexpected columns: ['zip']",
            "zip",
        ),
        (
            _split(["age", "income", "city"], [[1, "abc", "x"]]),
            422,
            "column 'income': non-numeric value 'abc' at row 0",
            "income",
        ),
        (
            _split(["age", "income", "city"], [[1, True, "x"]]),
            422,
            "column 'income': non-numeric value True",
            "income",
        ),
        (
            b'{"dataframe_split": {"columns": ["age", "income", "city"], "data": [[NaN, 1, "x"]]}}',
            422,
            "column 'age': nan at row 0 is not a finite number",
            "age",
        ),
        (
            b'{"dataframe_split": {"columns": ["age", "income", "city"], '
            b'"data": [[1, Infinity, "x"]]}}',
            422,
            "column 'income': inf at row 0",
            "income",
        ),
        (
            _split(["age", "income", "city"], [[1, 2]]),
            400,
            "row 0 must be a list of 3",
            "dataframe_split.data",
        ),
        (_split(["age", "age", "city"], [[1, 2, "x"]]), 422, "column 'age' appears more", "age"),
        (
            _split(["age", "income", "city"], [[1, 2, {"a": 1}]]),
            422,
            "column 'city': nested value",
            "city",
        ),
    ],
    ids=[
        "malformed-json",
        "not-an-object",
        "unknown-field",
        "empty-batch",
        "missing-column",
        "extra-column",
        "string-in-numeric",
        "bool-in-numeric",
        "nan",
        "infinity",
        "ragged-row",
        "duplicate-column",
        "nested-categorical",
    ],
)
def test_bad_requests_are_4xx_naming_the_problem(
    body: bytes, status: int, needle: str, field: str | None
) -> None:
    with pytest.raises(RequestError) as err:
        parse_request(body, CONTRACT)
    assert err.value.status == status
    assert needle in err.value.message
    assert err.value.field == field
    assert err.value.to_json()["message"] == err.value.message


def test_oversized_batch_is_413() -> None:
    body = _split(["age", "income", "city"], [[1, 2, "x"]] * 11)
    with pytest.raises(RequestError) as err:
        parse_request(body, CONTRACT, max_rows=10)
    assert err.value.status == 413
    assert "11 rows exceeds the limit of 10 rows" in err.value.message
    assert len(parse_request(body, CONTRACT, max_rows=11)) == 11


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        (_split(["age", "income", "city"], [[10**400, 1, "x"]]), 422, "column 'age': integer"),
        (
            b'{"dataframe_split": {"columns": ["age"], "data": [[' + b"9" * 5000 + b"]]}}",
            400,
            "malformed JSON",
        ),
        (b"[" * 100_000 + b"]" * 100_000, 400, "malformed JSON"),
    ],
    ids=["huge-int", "int-digit-limit", "deep-nesting"],
)
def test_pathological_json_is_4xx_not_a_crash(body: bytes, status: int, needle: str) -> None:
    with pytest.raises(RequestError) as err:
        parse_request(body, CONTRACT)
    assert err.value.status == status
    assert needle in err.value.message
