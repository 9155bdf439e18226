"""The wrapper class's standard ``predict(X, names)`` entry point, in the serving environment.

REST requests go through ``predict_raw``; gRPC requests and direct callers reach ``predict``
with a numpy array. This runs it in the serving venv (it needs seldon-core) on the test bundle.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tabular_classifier.predictor import Predictor
from tests.seldon.live_server import REPO_ROOT, SERVING_DIR

SCRIPT = """
import json, os, sys
import numpy as np
from seldon_core.flask_utils import SeldonMicroserviceException
from TabularClassifier import TabularClassifier

names = ["tenure", "charges", "contract"]
model = TabularClassifier(model_uri=sys.argv[1])
model.load()
out = {}

def attempt(key, X, feature_names=names):
    try:
        response = model.predict(X, feature_names)
        out[key] = {"data": response.data.tolist(), "metrics": response.metrics}
    except SeldonMicroserviceException as error:
        out[key] = {"status": error.status_code, "info": error.message}

attempt("object", np.array([[12.0, 70.5, "monthly"], [50, None, None]], dtype=object))
# One string anywhere makes numpy turn every number into a string: refused, never a 500.
attempt("all_strings", np.array([[12.0, 70.5, "monthly"]]))
attempt("nan", np.array([[12.0, float("nan"), "monthly"]], dtype=object))
attempt("no_names", np.array([[12.0, 70.5, "monthly"]], dtype=object), None)
attempt("one_dimensional", np.array([12.0, 70.5, "monthly"], dtype=object))
attempt("empty", np.array([]))
attempt("string_payload", "12.0,70.5,monthly")
out["class_names"] = model.class_names()
os.environ["MAX_BATCH_ROWS"] = "zero"
try:
    TabularClassifier()
except ValueError as error:
    out["bad_max_rows"] = str(error)
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def results(seldon_python: Path, seldon_bundle_dir: Path) -> dict[str, Any]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("VIRTUAL_ENV", "MODEL_BUNDLE_DIR", "MAX_BATCH_ROWS")
    }
    env.update({"PYTHONPATH": f"{SERVING_DIR}{os.pathsep}{REPO_ROOT}", "MODEL_VERSION": "direct"})
    completed = subprocess.run(
        [str(seldon_python), "-c", SCRIPT, str(seldon_bundle_dir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def test_object_array_matches_in_process_predictor(
    results: dict[str, Any], seldon_reference: Predictor
) -> None:
    frame = pd.DataFrame(
        [[12.0, 70.5, "monthly"], [50.0, None, None]], columns=["tenure", "charges", "contract"]
    )
    served = np.asarray(results["object"]["data"])
    expected = seldon_reference.predict_proba(frame)
    np.testing.assert_allclose(served[:, 1], expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(served[:, 0], 1.0 - expected, rtol=0, atol=1e-9)
    rows = [m for m in results["object"]["metrics"] if m["key"] == "tabular_classifier_rows_total"]
    assert rows == [
        {
            "type": "COUNTER",
            "key": "tabular_classifier_rows_total",
            "value": 2,
            "tags": {"served_model_version": "direct"},
        }
    ]
    assert results["class_names"] == ["no", "yes"]


@pytest.mark.parametrize(
    ("key", "status", "fragment"),
    [
        ("all_strings", 400, "column 'tenure'"),
        ("nan", 400, "column 'charges'"),
        ("no_names", 400, "'data.names'"),
        ("one_dimensional", 400, "2-D"),
        ("empty", 400, "empty batch"),
        ("string_payload", 400, "expected rows"),
    ],
)
def test_bad_arrays_get_client_errors(
    results: dict[str, Any], key: str, status: int, fragment: str
) -> None:
    assert results[key]["status"] == status
    assert fragment in results[key]["info"]


def test_invalid_max_batch_rows_fails_at_start(results: dict[str, Any]) -> None:
    assert "MAX_BATCH_ROWS" in results["bad_max_rows"]
