"""The serving supervisor: restarts a crashed gateway or model server without a person.

``python -m release`` (any deployment, rollback or ``gateway-start``) starts this process in
the background instead of the gateway itself (:func:`serving.gateway_process.start_gateway`).
It:

* runs the gateway (``python -m serving.gateway``) as its child and starts it again whenever it
  exits, after :data:`RESTART_DELAY_S`;
* every :data:`CHECK_INTERVAL_S` seconds checks, for each served model, that the process
  recorded at deployment still runs (:func:`serving.identity.still_running`). When it does not,
  it runs ``python -m release restart-server --model NAME`` (through the stack's model
  deployer: stop, start, health check, identity check, then the route records the new
  process), at most once per :data:`RESTART_BACKOFF_S` seconds per model.

Meanwhile the gateway keeps answering a model it scores in process (:mod:`serving.scorer`) and
answers a model it forwards with 503 and ``Retry-After``: it never forwards to a process it
cannot identify. The supervisor, the gateway and any restart share one process group, which
:func:`serving.gateway_process.stop_gateway` stops together. The supervisor imports neither
ZenML nor torch; only the restart command does, while it runs.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from serving.identity import still_running
from serving.routing import GATEWAY_CHILD_PID_FILE, LOG_FILE, read_serving

# Seconds between checks of the gateway and the model servers.
CHECK_INTERVAL_S = 0.5
# Seconds to wait before starting a gateway that exited (a gateway that cannot start is not
# restarted in a tight loop).
RESTART_DELAY_S = 0.5
# Seconds between two restarts of the same model's server (a restart takes ZenML's import,
# a few seconds, plus the server's start).
RESTART_BACKOFF_S = 30.0
# The gateway's BLAS (NumPy's OpenBLAS) runs one thread: the in-process scorer multiplies small
# matrices, and OpenBLAS's thread pool on a busy 2-core machine made a 1,000-row forward pass
# 60 times slower (18.6 ms against 0.31 ms with one thread, measured). A value already set wins.
GATEWAY_THREAD_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
REPO = Path(__file__).resolve().parents[1]


class Supervisor:
    """Keeps the gateway and the model servers of ``route.json`` running (module docstring).

    Args:
        port: The gateway's port.
        state: The serving state directory.
        host: The gateway's bind address.
    """

    def __init__(self, port: int, state: Path, host: str) -> None:
        self._port = port
        self._state = state
        self._host = host
        self._gateway: subprocess.Popen[bytes] | None = None
        self._restarts: dict[str, tuple[float, subprocess.Popen[bytes]]] = {}
        self._stopping = False

    def _log(self, message: str) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with open(self._state / LOG_FILE, "a") as log:
            log.write(f"{stamp} supervisor: {message}\n")

    def _start_gateway(self) -> None:
        with open(self._state / LOG_FILE, "ab") as log:
            self._gateway = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "serving.gateway",
                    "--host",
                    self._host,
                    "--port",
                    str(self._port),
                    "--state-dir",
                    str(self._state),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=str(REPO),
                env={**GATEWAY_THREAD_ENV, **os.environ},
            )
        (self._state / GATEWAY_CHILD_PID_FILE).write_text(str(self._gateway.pid))

    def _check_gateway(self) -> None:
        if self._gateway is not None and self._gateway.poll() is None:
            return
        if self._gateway is not None:
            self._log(f"gateway exited with code {self._gateway.returncode}; starting it again")
            time.sleep(RESTART_DELAY_S)
        self._start_gateway()

    def _check_servers(self) -> None:
        for name, table in read_serving(self._state).models.items():
            route = table.active
            if route is None or route.server_pid <= 0 or still_running(route.server):
                continue
            started, process = self._restarts.get(name, (0.0, None))
            if process is not None and process.poll() is None:
                continue  # a restart is running
            if time.monotonic() - started < RESTART_BACKOFF_S:
                continue
            self._log(
                f"model server of {name} version {route.model_version} (PID "
                f"{route.server_pid}) is gone; restarting it"
            )
            with open(self._state / LOG_FILE, "ab") as log:
                process = subprocess.Popen(
                    [sys.executable, "-m", "release", "restart-server", "--model", name],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=str(REPO),
                    # Plain text in gateway.log: ZenML colours its log lines with ANSI codes.
                    env={**os.environ, "ZENML_LOGGING_COLORS_DISABLED": "true", "NO_COLOR": "1"},
                )
            self._restarts[name] = (time.monotonic(), process)

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self._stopping = True

    def run(self) -> None:
        """Supervise until SIGTERM or SIGINT; then stop the gateway and exit."""
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        self._log(f"supervising the gateway on port {self._port}")
        while not self._stopping:
            self._check_gateway()
            try:
                self._check_servers()
            except (OSError, ValueError) as exc:  # a half-written or unreadable route.json
                self._log(f"could not check the model servers: {exc}")
            time.sleep(CHECK_INTERVAL_S)
        if self._gateway is not None and self._gateway.poll() is None:
            self._gateway.terminate()
            self._gateway.wait(timeout=10)


def main(argv: list[str] | None = None) -> None:
    """Run the supervisor (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m serving.supervisor")
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    Supervisor(args.port, args.state_dir, args.host).run()


if __name__ == "__main__":
    main()
