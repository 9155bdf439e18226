"""Runs in the Seldon serving venv: answers one JSON request per stdin line through the wrapper.

Each input line is ``{"bundle": DIR, "names": [...], "rows": [[...], ...]}``; each output line is
``{"probabilities": [...], "unknown_categories": {...}}`` or ``{"status": int, "reason": str,
"info": str, "column": str | None}`` (the column of the row-contract error that caused it).
"""

import json
import os
import sys

from seldon_core.flask_utils import SeldonMicroserviceException
from TabularClassifier import TabularClassifier

models: dict[str, TabularClassifier] = {}
for line in sys.stdin:
    request = json.loads(line)
    bundle = request["bundle"]
    if bundle not in models:
        os.environ["MODEL_BUNDLE_DIR"] = bundle
        models[bundle] = TabularClassifier()
        models[bundle].load()
    model = models[bundle]
    try:
        response = model.predict_raw(
            {"data": {"names": request["names"], "ndarray": request["rows"]}}
        )
        answer = {
            "probabilities": [row[1] for row in response["data"]["ndarray"]],
            "unknown_categories": response["meta"]["tags"]["unknown_categories"],
        }
    except SeldonMicroserviceException as error:
        cause = error.__cause__
        answer = {
            "status": error.status_code,
            "reason": error.reason,
            "info": error.message,
            "column": getattr(cause, "column", None),
        }
    print(json.dumps(answer), flush=True)
