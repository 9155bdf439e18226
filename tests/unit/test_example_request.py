"""``python -m serving.example_request``: the README's request builder, and its bad arguments."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from serving.example_request import main


def test_prints_the_first_rows_without_the_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "t.csv"
    pd.DataFrame({"a": [1.5, None, 3.0], "b": ["x", "y", "z"], "target": [0, 1, 0]}).to_csv(
        csv, index=False
    )
    assert main([str(csv), "2"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body == {"dataframe_split": {"columns": ["a", "b"], "data": [[1.5, "x"], [None, "y"]]}}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{dir}/nope.csv", "2"], "error: {dir}/nope.csv: no such file"),
        (["{csv}", "abc"], "error: N_ROWS must be a whole number >= 1, not 'abc'"),
        (["{csv}", "0"], "error: N_ROWS must be a whole number >= 1, not '0'"),
        ([], "usage: python -m serving.example_request CSV [N_ROWS]"),
    ],
)
def test_bad_arguments_are_one_error_line_and_exit_2_with_nothing_on_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    csv = tmp_path / "t.csv"
    csv.write_text("a,target\n1,0\n")
    values = {"dir": str(tmp_path), "csv": str(csv)}
    assert main([a.format(**values) for a in args]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines()[0] == message.format(**values)


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help_prints_the_usage_and_exits_0(capsys: pytest.CaptureFixture[str], flag: str) -> None:
    # Walkthrough: --help answered "error: --help: no such file".
    assert main([flag]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("usage: python -m serving.example_request CSV [N_ROWS]\n")
    assert "dataframe_split" in out.out and out.err == ""
