"""Fixtures for the Seldon serving tests: the serving venv, a trained bundle, a live wrapper.

Every fixture name starts with ``seldon_`` so that it cannot clash with the other test folders.
The serving environment (``seldon_python``, in ``tests/conftest.py``) is built once per session
from ``serving/seldon/requirements.txt`` with ``uv`` (about 30 s with a warm uv cache), because
seldon-core cannot share the project's environment.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tabular_classifier.config import DataConfig
from tabular_classifier.predictor import Predictor
from tests.seldon.live_server import (
    MAX_BATCH_ROWS,
    MODEL_VERSION,
    REPO_ROOT,
    SERVING_DIR,
    SeldonServer,
)
from tests.training_helpers import churn_table, fit_small_bundle

LAUNCHER = Path(__file__).resolve().parent / "loopback_microservice.py"
STARTUP_TIMEOUT_S = 180


@pytest.fixture(scope="session")
def seldon_bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small churn model, trained in this process and saved as a bundle."""
    data_cfg = DataConfig(path="churn.csv", target="churn", positive_label="yes")
    bundle = fit_small_bundle(churn_table(300), data_cfg, "seldon-test", epochs=10)
    directory = tmp_path_factory.mktemp("seldon_bundle") / "bundle"
    bundle.save(directory)
    return directory


@pytest.fixture(scope="session")
def seldon_reference(seldon_bundle_dir: Path) -> Predictor:
    """The in-process predictor of the served bundle (the project's own environment)."""
    return Predictor.from_directory(seldon_bundle_dir)


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server's whole process group: gunicorn master, worker and metrics server."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    # Whatever is left of the group (a stuck worker, an orphaned metrics server).
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def seldon_server(
    seldon_python: Path, seldon_bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SeldonServer]:
    """``seldon-core-microservice TabularClassifier`` on loopback ports, stopped at the end."""
    http_port, metrics_port = _free_loopback_port(), _free_loopback_port()
    log_path = tmp_path_factory.mktemp("seldon_server") / "server.log"
    env = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    env.update(
        {
            "PYTHONPATH": str(REPO_ROOT),
            "PYTHONNOUSERSITE": "1",
            "MPLCONFIGDIR": str(log_path.parent / "matplotlib"),
            "MODEL_BUNDLE_DIR": str(seldon_bundle_dir),
            "MODEL_VERSION": MODEL_VERSION,
            "MAX_BATCH_ROWS": str(MAX_BATCH_ROWS),
        }
    )
    command = [
        str(seldon_python),
        str(LAUNCHER),
        "TabularClassifier",
        "--http-port",
        str(http_port),
        "--metrics-port",
        str(metrics_port),
        # The gRPC server would bind 0.0.0.0 (no option for the host); REST is what is tested.
        "--grpc-workers",
        "0",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=SERVING_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = SeldonServer(
        base_url=f"http://127.0.0.1:{http_port}",
        metrics_url=f"http://127.0.0.1:{metrics_port}",
        process=process,
        log_path=log_path,
    )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"the Seldon server exited ({process.returncode}):\n{server.log_tail()}"
                )
            try:
                status, _ = server.request("GET", "/health/status")
            except OSError:
                status = 0
            if status == 200:
                break
            if time.monotonic() > deadline:
                pytest.fail(f"the Seldon server was not ready in time:\n{server.log_tail()}")
            time.sleep(0.5)
        yield server
    finally:
        _stop(process)
