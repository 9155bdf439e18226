"""The HTTP side of the serving contract: every bad request is a 4xx naming the field or column.

The rules on values are the row contract's (``tests/unit/test_row_contract.py``); these tests
check how a request body reaches them and how their errors come back.
"""

from __future__ import annotations

import json

import pytest

from serving.contract import RequestError, parse_request, parse_rows
from tabular_classifier.contract import FeatureSpec, RowContract

CONTRACT = RowContract(
    [
        FeatureSpec("age", "integer"),
        FeatureSpec("income", "float"),
        FeatureSpec("city", "categorical"),
    ],
    ignored_columns=["target"],
)
ROW_VALUES: dict[str, object] = {"age": 30, "income": 1.5, "city": "Paris"}


def _split(columns: list[str], data: list[list[object]]) -> bytes:
    return json.dumps({"dataframe_split": {"columns": columns, "data": data}}).encode()


def test_valid_split_and_records_give_the_same_rows() -> None:
    split = parse_rows(_split(["city", "age", "income"], [["Paris", 30, 1]]), CONTRACT)
    records = parse_rows(
        json.dumps({"dataframe_records": [{"age": 30, "income": 1, "city": "Paris"}]}).encode(),
        CONTRACT,
    )
    assert split.json_rows() == records.json_rows() == [[30, 1.0, "Paris"]]


def test_null_means_missing_and_ignored_columns_pass() -> None:
    rows = parse_rows(
        _split(["age", "income", "city", "target"], [[None, 2.0, None, "yes"]]), CONTRACT
    )
    assert rows.json_rows() == [[None, 2.0, None]]


@pytest.mark.parametrize(
    ("records", "field", "kind"),
    [
        (
            [
                {"age": 30, "income": 1, "city": "Paris"},
                {"age": 3, "income": 1, "city": "x", "zzz": 1},
            ],
            "zzz",
            "unknown_column",
        ),
        (
            [{"age": 30, "income": 1, "city": "Paris"}, {"age": 3, "city": "x"}],
            "income",
            "missing_column",
        ),
    ],
    ids=["extra-in-row-1", "missing-from-row-1"],
)
def test_records_with_different_columns_name_the_column_and_row(
    records: list[dict[str, object]], field: str, kind: str
) -> None:
    with pytest.raises(RequestError) as err:
        parse_rows(json.dumps({"dataframe_records": records}).encode(), CONTRACT)
    body = err.value.to_json()
    assert (err.value.status, body["field"], body["kind"], body["row"]) == (422, field, kind, 1)
    assert len(err.value.message) < 200


@pytest.mark.parametrize(
    ("body", "status", "needle", "field"),
    [
        (b"{not json", 400, "malformed JSON", None),
        (b"[1, 2]", 400, "dataframe_split", None),
        (json.dumps({"rows": []}).encode(), 400, "unknown field 'rows'", "rows"),
        (_split(["age", "income", "city"], []), 422, "empty batch", None),
        (_split(["age", "income", "zip"], []), 422, "missing columns: 'city'", "city"),
        (_split(["age", "city"], [[1, "x"]]), 422, "missing columns: 'income'", "income"),
        (  # a renamed column: one missing, one unknown, both named (walkthrough)
            _split(["age", "incomeX", "city"], [[1, 2, "x"]]),
            422,
            "missing columns: 'income' (the request has columns the model does not know: "
            "'incomeX')",
            "income",
        ),
        (
            _split(["age", "income", "city", "zip"], [[1, 2, "x", "y"]]),
            422,
            "unknown columns: 'zip'",
            "zip",
        ),
        (
            _split(["age", "income", "city"], [[1, "abc", "x"]]),
            422,
            "column 'income': expected a number or null, got 'abc' (str) at row 0",
            "income",
        ),
        (
            _split(["age", "income", "city"], [[1, True, "x"]]),
            422,
            "column 'income': expected a number, got True (bool)",
            "income",
        ),
        (
            _split(["age", "income", "city"], [[1.5, 1, "x"]]),
            422,
            "column 'age': expected an integer, got 1.5",
            "age",
        ),
        (
            b'{"dataframe_split": {"columns": ["age", "income", "city"], "data": [[1, NaN, "x"]]}}',
            422,
            "column 'income': nan is not a finite number",
            "income",
        ),
        (
            b'{"dataframe_split": {"columns": ["age", "income", "city"], '
            b'"data": [[1, Infinity, "x"]]}}',
            422,
            "column 'income': inf is not a finite number",
            "income",
        ),
        (
            _split(["age", "income", "city"], [[1, 2]]),
            400,
            "row 0 must be a list of 3",
            "dataframe_split.data",
        ),
        (_split(["age", "age", "city"], [[1, 2, "x"]]), 422, "column 'age': appears more", "age"),
        (
            _split(["age", "income", "city"], [[1, 2, {"a": 1}]]),
            422,
            "column 'city': expected a string, number, boolean or null, got {'a': 1}",
            "city",
        ),
    ],
    ids=[
        "malformed-json",
        "not-an-object",
        "unknown-field",
        "empty-batch",
        "no-rows-but-a-column-error-first",
        "missing-column",
        "renamed-column",
        "extra-column",
        "string-in-numeric",
        "bool-in-numeric",
        "float-in-integer",
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
        parse_rows(body, CONTRACT)
    assert err.value.status == status
    assert needle in err.value.message
    assert err.value.field == field
    body_json = err.value.to_json()
    assert body_json["message"] == err.value.message
    if status == 422 and field is not None:
        assert body_json["kind"] and body_json["field"] == field


def test_oversized_batch_is_413() -> None:
    body = _split(["age", "income", "city"], [[1, 2, "x"]] * 11)
    with pytest.raises(RequestError) as err:
        parse_rows(body, CONTRACT, max_rows=10)
    assert err.value.status == 413
    assert "11 rows exceeds the limit of 10 rows" in err.value.message
    assert parse_rows(body, CONTRACT, max_rows=11).n_rows == 11


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        (
            _split(["age", "income", "city"], [[10**400, 1, "x"]]),
            422,
            "column 'age': 1000000000",
        ),
        (
            b'{"dataframe_split": {"columns": ["age"], "data": [[' + b"9" * 5000 + b"]]}}",
            400,
            # Valid JSON; Python's own advice (sys.set_int_max_str_digits) is not for clients.
            "a number has more digits than the 4,300 this server parses",
        ),
        (b"[" * 100_000 + b"]" * 100_000, 400, "malformed JSON"),
    ],
    ids=["huge-int", "int-digit-limit", "deep-nesting"],
)
def test_pathological_json_is_4xx_not_a_crash(body: bytes, status: int, needle: str) -> None:
    with pytest.raises(RequestError) as err:
        parse_rows(body, CONTRACT)
    assert err.value.status == status
    assert needle in err.value.message


def test_the_log_embeds_only_a_body_of_the_contracts_columns_on_one_line() -> None:
    names = CONTRACT.names
    row = [ROW_VALUES[name] for name in names]
    body = json.dumps({"dataframe_split": {"columns": names, "data": [row, row]}}).encode()
    request = parse_request(body, CONTRACT)
    assert request.verbatim == body and request.parsed.n_rows == 2
    not_embedded = {
        "one row": {"dataframe_split": {"columns": names, "data": [row]}},
        "columns in another order": {
            "dataframe_split": {"columns": names[::-1], "data": [row[::-1], row[::-1]]}
        },
        "params": {"dataframe_split": {"columns": names, "data": [row, row]}, "params": {}},
        "an index": {"dataframe_split": {"columns": names, "data": [row, row], "index": [0, 1]}},
        "records": {"dataframe_records": [dict(zip(names, row, strict=True))] * 2},
    }
    for case, payload in not_embedded.items():
        request = parse_request(json.dumps(payload).encode(), CONTRACT)
        assert request.verbatim is None, case
        assert request.parsed.n_rows == len(payload.get("dataframe_split", {}).get("data", [1, 1]))
    pretty = json.dumps({"dataframe_split": {"columns": names, "data": [row, row]}}, indent=1)
    assert parse_request(pretty.encode(), CONTRACT).verbatim is None  # it spans lines
