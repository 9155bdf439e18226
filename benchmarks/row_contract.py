"""Benchmark: the gateway's request validation through the row contract vs. the code it replaced.

Issue 9 moved every input rule into ``tabular_classifier.contract``; the gateway now parses a
request with ``serving.contract.parse_rows`` (JSON, then ``RowContract.parse_rows``). This times,
in one process and interleaved so that machine noise hits both equally:

* ``contract``: today's ``serving.contract.parse_rows(body, contract)``;
* ``before``: the ``parse_rows`` of commit ``e44467b`` (the last one before the contract), loaded
  from git history, with its ``FeatureContract`` of the same columns.

Payloads: 1 and 1,000 rows of the breast-cancer table (30 float features, the quickstart's
model), MLflow ``dataframe_split`` JSON. Median of 15 rounds of 2,000 calls (1 row) or 20 calls
(1,000 rows). Writes ``benchmarks/results/row_contract.json`` and prints a Markdown table.

Usage: python -m benchmarks.row_contract   (from the repository root, about 30 s)
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
import types
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.harness import REPO, RESULTS_DIR, machine_info, write_results
from serving.contract import parse_rows
from tabular_classifier.contract import FeatureSpec, RowContract
from tabular_classifier.datasets import export_breast_cancer_csv

RESULTS = RESULTS_DIR / "row_contract.json"
BEFORE_COMMIT = "e44467b"


def _before_module() -> types.ModuleType:
    source = subprocess.run(
        ["git", "show", f"{BEFORE_COMMIT}:serving/contract.py"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    module = types.ModuleType("contract_before")
    module.__dict__["__name__"] = "contract_before"
    sys.modules["contract_before"] = module
    exec(compile(source, f"{BEFORE_COMMIT}:serving/contract.py", "exec"), module.__dict__)
    return module


def _per_call_us(call: Callable[[], Any], calls: int, rounds: int = 15) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            call()
        samples.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(samples)


def main() -> None:
    table_path = RESULTS_DIR / ".breast_cancer.csv"
    export_breast_cancer_csv(table_path)
    table = pd.read_csv(table_path).drop(columns=["target"])
    table_path.unlink()
    columns = list(table.columns)
    # The quickstart model's bounds are about 1e25 standard deviations; any finite bound costs
    # the same two comparisons.
    contract = RowContract(
        [FeatureSpec(c, "float", lower=-1e30, upper=1e30) for c in columns], ["target"]
    )
    before = _before_module()
    old_contract = before.FeatureContract(numeric=tuple(columns), categorical=())
    results: dict[str, Any] = {
        "machine": machine_info("python", "cpus", "platform"),
        "before_commit": BEFORE_COMMIT,
        "cells": [],
    }
    for n_rows, calls in ((1, 2000), (1000, 20)):
        rows = table.head(n_rows).to_numpy().tolist()
        body = json.dumps({"dataframe_split": {"columns": columns, "data": rows}}).encode()
        np.testing.assert_array_equal(
            parse_rows(body, contract).numeric, np.array(before.parse_rows(body, old_contract))
        )
        timings: dict[str, list[float]] = {"before": [], "contract": []}
        calls_before = lambda body=body: before.parse_rows(body, old_contract)  # noqa: E731
        calls_contract = lambda body=body: parse_rows(body, contract)  # noqa: E731
        for _ in range(3):  # interleaved
            timings["before"].append(_per_call_us(calls_before, calls))
            timings["contract"].append(_per_call_us(calls_contract, calls))
        cell = {
            "rows": n_rows,
            "before_us": statistics.median(timings["before"]),
            "contract_us": statistics.median(timings["contract"]),
        }
        cell["ratio_contract_over_before"] = cell["contract_us"] / cell["before_us"]
        results["cells"].append(cell)
    write_results(RESULTS, results)
    print("| rows | before (µs) | contract (µs) | contract / before |")
    print("|---|---|---|---|")
    for cell in results["cells"]:
        print(
            f"| {cell['rows']} | {cell['before_us']:.1f} | {cell['contract_us']:.1f} | "
            f"{cell['ratio_contract_over_before']:.2f} |"
        )


if __name__ == "__main__":
    main()
