"""The gateway process: started in the background under its supervisor, found, and stopped.

:func:`start_gateway` runs the gateway (:mod:`serving.gateway`) under its supervisor
(:mod:`serving.supervisor`) in a new process group, whose leader's PID is kept in
``gateway.pid`` in the serving state directory (:func:`serving.routing.state_dir`);
:func:`stop_gateway` stops both. Also importable from :mod:`serving.routing`, where they lived
before.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from serving.routing import (
    DEFAULT_HOST,
    GATEWAY_CHILD_PID_FILE,
    LOG_FILE,
    PID_FILE,
    gateway_port,
    gateway_url,
    state_dir,
)


def _get_json(url: str, timeout: float) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback
            body = response.read()
    except urllib.error.HTTPError as exc:
        body = exc.read()
    except (urllib.error.URLError, OSError):
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def gateway_alive(port: int | None = None, timeout: float = 1.0) -> bool:
    """Whether *our* gateway answers on the port (its /health names the service).

    Any HTTP status counts (503 means "up, nothing deployed"); another server on the port
    does not.
    """
    health = _get_json(f"{gateway_url(port)}/health", timeout)
    return health is not None and health.get("service") == "tabular-gateway"


def gateway_scoring(
    model_name: str, deployment_id: str, port: int | None = None, timeout: float = 2.0
) -> str | None:
    """How the running gateway scores a model's deployment, from its ``/models/<name>/health``.

    Args:
        model_name: The model.
        deployment_id: The deployment the caller read from ``route.json``; another deployment
            answering (a switch in between) gives ``None``.
        port: The gateway's port (default: ``TABULAR_GATEWAY_PORT`` or the default port).
        timeout: Seconds to wait for the answer.

    Returns:
        ``"in_process"`` or ``"model_server"``; ``None`` when our gateway does not answer for
        that deployment.
    """
    url = f"{gateway_url(port)}/models/{urllib.parse.quote(model_name, safe='')}/health"
    health = _get_json(url, timeout)
    if (
        health is None
        or health.get("service") != "tabular-gateway"
        or health.get("deployment_id") != deployment_id
    ):
        return None
    scoring = health.get("scoring")
    return scoring if scoring in ("in_process", "model_server") else None


def _other_port(port: int, directory: Path) -> tuple[int, int] | None:
    """Refuse ``port`` when this state directory's gateway already runs on another one.

    Returns:
        The running supervisor, as :func:`running_supervisor` gives it (on ``port``), or None.

    Raises:
        RuntimeError: Naming the running port and how to use it or stop it.
    """
    supervisor = running_supervisor(directory)
    if supervisor is not None and supervisor[1] != port:
        raise RuntimeError(
            f"the gateway of {directory} already runs on port {supervisor[1]} (supervisor PID "
            f"{supervisor[0]}); use that port (TABULAR_GATEWAY_PORT={supervisor[1]}) or stop it "
            "first (python -m release stop)"
        )
    return supervisor


def serving_port(directory: Path | None = None) -> int:
    """The port clients reach the gateway on: the running gateway's, else :func:`gateway_port`.

    ``release status`` reports this one, so a shell without ``TABULAR_GATEWAY_PORT`` still
    shows where the gateway of this state directory really answers.
    """
    supervisor = running_supervisor(directory)
    return supervisor[1] if supervisor is not None else gateway_port()


def check_gateway_port(port: int | None = None, directory: Path | None = None) -> None:
    """Refuse a gateway port before anything is started or routed.

    Deployments and rollbacks call it first: a port another program holds, or a port other
    than the one this state directory's gateway already runs on, would otherwise fail the
    switch after the new model server started and ``route.json`` was rewritten.

    Raises:
        RuntimeError: Naming the port and ``TABULAR_GATEWAY_PORT``.
    """
    port = port or gateway_port()
    _other_port(port, directory or state_dir())
    if gateway_alive(port):
        return
    with socket.socket() as probe:
        if probe.connect_ex((DEFAULT_HOST, port)) == 0:
            raise RuntimeError(
                f"port {port} is taken by another program; set TABULAR_GATEWAY_PORT to a free port"
            )


def running_supervisor(directory: Path | None = None) -> tuple[int, int] | None:
    """The live gateway supervisor of ``directory``: (PID, port), or None.

    Read from ``gateway.pid`` and the supervisor's command line; a PID that is gone, a zombie
    or another program (PIDs are reused) counts as none.
    """
    import psutil

    pid_path = (directory or state_dir()) / PID_FILE
    try:
        pid = int(pid_path.read_text())
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        command = process.cmdline()
    except (OSError, ValueError, psutil.Error):
        return None
    try:
        port = int(command[command.index("--port") + 1])
        state = Path(command[command.index("--state-dir") + 1])
    except (IndexError, ValueError):  # not a supervisor's command line: the PID was reused
        return None
    if "serving.supervisor" not in command or state.resolve() != pid_path.parent.resolve():
        return None
    return pid, port


def _wait_until_closed(port: int, timeout: float) -> None:
    """Wait until nothing accepts connections on ``port`` (at most ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex((DEFAULT_HOST, port)) != 0:
                return
        time.sleep(0.1)


def start_gateway(
    port: int | None = None, directory: Path | None = None, timeout: float = 30.0
) -> int:
    """Start the gateway under its supervisor, in the background, unless a gateway answers.

    The supervisor (:mod:`serving.supervisor`) runs the gateway as its child and restarts it,
    and the model servers, when they crash; both run in a new process group, whose leader's
    PID (the supervisor's) is kept in ``gateway.pid`` for :func:`stop_gateway`.

    Args:
        port: The port (default :func:`gateway_port`); it binds to 127.0.0.1 only.
        directory: The state directory (default :func:`state_dir`).
        timeout: Seconds to wait for it to answer.

    Returns:
        The gateway's process id (0 if one was already running and not started here).

    Raises:
        RuntimeError: If it does not answer within ``timeout`` seconds.
    """
    port = port or gateway_port()
    directory = directory or state_dir()
    supervisor = _other_port(port, directory)
    if gateway_alive(port):
        if supervisor is not None:
            return 0
        # A gateway answers but nothing supervises it (its supervisor was killed): it would not
        # be restarted, nor would the model servers. Stop it and start both again.
        stop_gateway(directory)
        _wait_until_closed(port, timeout)
    elif supervisor is not None:
        # Supervised, and being restarted right now: wait for it rather than start another.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if gateway_alive(port, timeout=0.5):
                return 0
            time.sleep(0.2)
        raise RuntimeError(f"gateway did not answer on port {port} within {timeout} s")
    check_gateway_port(port)
    (directory / GATEWAY_CHILD_PID_FILE).unlink(missing_ok=True)
    log = open(directory / LOG_FILE, "ab")  # noqa: SIM115 - handed to the child process
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "serving.supervisor",
            "--host",
            DEFAULT_HOST,
            "--port",
            str(port),
            "--state-dir",
            str(directory),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=str(Path(__file__).resolve().parents[1]),
    )
    (directory / PID_FILE).write_text(str(process.pid))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"gateway supervisor exited with code {process.returncode}; see "
                f"{directory / LOG_FILE}"
            )
        if gateway_alive(port, timeout=0.5):
            return int((directory / GATEWAY_CHILD_PID_FILE).read_text())
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    raise RuntimeError(f"gateway did not answer on port {port} within {timeout} s")


def stop_gateway(directory: Path | None = None, timeout: float = 10.0) -> bool:
    """Stop the gateway started by :func:`start_gateway`, with its supervisor.

    Returns:
        Whether a running gateway was stopped.
    """
    pid_path = (directory or state_dir()) / PID_FILE
    if not pid_path.is_file():
        return False
    pid = int(pid_path.read_text())
    pid_path.unlink()
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    os.killpg(pid, signal.SIGKILL)
    return True
