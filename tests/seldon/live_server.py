"""A client for a running ``seldon-core-microservice``, and the data its tests send."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVING_DIR = REPO_ROOT / "serving" / "seldon"

MAX_BATCH_ROWS = 50
MODEL_VERSION = "test-7"


@dataclass
class SeldonServer:
    """A running ``seldon-core-microservice`` serving :class:`TabularClassifier`."""

    base_url: str
    metrics_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def request(
        self, method: str, path: str, body: bytes | None = None, url: str | None = None
    ) -> tuple[int, Any]:
        """Send one request; return the status and the decoded JSON (or text) body."""
        req = urllib.request.Request(
            (url or self.base_url) + path,
            data=body,
            method=method,
            headers={"Content-Type": "application/json"} if body is not None else {},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        text = raw.decode("utf-8")
        try:
            return status, json.loads(text)
        except json.JSONDecodeError:
            return status, text

    def predict(self, payload: Any) -> tuple[int, Any]:
        """POST a JSON payload to the Seldon prediction endpoint."""
        return self.request("POST", "/api/v1.0/predictions", json.dumps(payload).encode())

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the server's output, for failure messages."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])
