"""A model server process for gateway tests: answers like MLflow's scoring server.

``python tests/unit/model_server_process.py --port N --version V [--probabilities '[P, ...]']``
serves ``GET /ping`` (200) and ``POST /invocations`` (one prediction per ``dataframe_split``
row, with ``model_version`` V and the given probabilities), and counts the invocations it
answered at ``GET /count``. Tests start it as a real process, so the gateway's identity checks
see a real PID, and use it as the decoy too (started by the test, not by a deployment).
"""

from __future__ import annotations

import argparse
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def serve(
    port: int,
    version: str,
    probabilities: list[float],
    reuse_port: bool = False,
    marker: str | None = None,
) -> None:
    """Serve until killed (see the module docstring).

    Args:
        port: TCP port on 127.0.0.1.
        version: The ``model_version`` every prediction carries.
        probabilities: The ``probability`` of row i is ``probabilities[i % len]`` (a decoy
            given a smoke sample's recorded probabilities answers its smoke test exactly).
        reuse_port: Listen with ``SO_REUSEPORT``, as a multi-worker server does (and as a
            program does that ZenML's port probe then mistakes for a free port).
        marker: Also count, as ``marked``, the invocations whose body contains this text (on a
            shared machine a decoy on a low port also gets other programs' requests).
    """
    count = {"invocations": 0, "marked": 0}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path == "/count":
                self._send(200, json.dumps(count).encode())
            else:
                self._send(200 if self.path == "/ping" else 404, b"{}")

        def do_POST(self) -> None:  # noqa: N802
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            body = json.loads(raw)
            with lock:
                count["invocations"] += 1
                count["marked"] += int(marker is not None and marker.encode() in raw)
            rows = body["dataframe_split"]["data"]
            predictions = [
                {
                    "probability": probabilities[i % len(probabilities)],
                    "label": "0",
                    "model_version": version,
                }
                for i in range(len(rows))
            ]
            self._send(200, json.dumps({"predictions": predictions}).encode())

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        def server_bind(self) -> None:
            if reuse_port:
                self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            super().server_bind()

    Server(("127.0.0.1", port), Handler).serve_forever()


def main() -> None:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--version", default="1")
    parser.add_argument("--probabilities", type=json.loads, default=[0.25], help="JSON list")
    parser.add_argument("--reuse-port", action="store_true")
    parser.add_argument("--marker", default=None)
    args = parser.parse_args()
    serve(args.port, args.version, args.probabilities, args.reuse_port, args.marker)


if __name__ == "__main__":
    main()
