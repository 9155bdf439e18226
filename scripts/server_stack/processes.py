"""Server processes and HTTP probes: spawn, health-check, stop; JSON requests to a server."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scripts.isolated_checkout import OFFLINE_ENV
from scripts.server_stack.state import START_TIMEOUT_S, ServerStackError


def http_status(url: str, timeout: float = 2.0) -> int | None:
    """The HTTP status of ``GET url``, or ``None`` if nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError):
        return None


def http_json(
    method: str,
    url: str,
    payload: dict[str, Any] | None = None,
    token: str | None = None,
    form: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> Any:
    """Send a JSON (or form-encoded) request and decode the JSON answer.

    Args:
        method: ``GET``, ``POST``, ``PUT``...
        url: The full URL.
        payload: A JSON body.
        token: A bearer token for ``Authorization``.
        form: A form body (``application/x-www-form-urlencoded``) instead of JSON.
        timeout: Seconds to wait for the answer.

    Returns:
        The decoded JSON body (``None`` for an empty body).

    Raises:
        ServerStackError: On an HTTP error status, with the server's answer.
    """
    headers = {"Accept": "application/json"}
    data: bytes | None = None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif payload is not None:
        data = json.dumps(payload).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:2000]
        raise ServerStackError(f"{method} {url}: HTTP {exc.code}: {detail}") from exc
    return json.loads(body) if body else None


def _log_tail(path: Path, lines: int = 40) -> str:
    if not path.is_file():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def wait_until_healthy(
    name: str,
    check: Callable[[], bool],
    process: subprocess.Popen[bytes],
    log_path: Path,
    timeout: float = START_TIMEOUT_S,
) -> float:
    """Poll ``check`` until it is true; fail early if the process exits.

    Returns:
        Seconds it took.

    Raises:
        ServerStackError: If the process exits or ``timeout`` passes, with its log's tail.
    """
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if check():
            return time.monotonic() - start
        code = process.poll()
        if code is not None:
            raise ServerStackError(
                f"{name} exited with status {code} before it was healthy; "
                f"its log ({log_path}) ends with:\n{_log_tail(log_path)}"
            )
        time.sleep(0.5)
    raise ServerStackError(
        f"{name} was not healthy after {timeout:.0f} s; its log ({log_path}) ends with:\n"
        f"{_log_tail(log_path)}"
    )


def spawn(argv: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start a server in its own process group (so ``down`` can stop it and its workers)."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=log_path.parent,
        )


def executable(name: str) -> str:
    """An executable of this Python environment (``moto_server``, ``mlflow``)."""
    path = Path(sys.executable).parent / name
    if not path.is_file():
        raise ServerStackError(f"{path}: not installed; run `uv sync --frozen`")
    return str(path)


def base_env() -> dict[str, str]:
    """The environment for the servers: offline, and none of the caller's ZenML store settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZENML_", "MLFLOW_"))}
    env.update(OFFLINE_ENV)
    return env


def alive(pid: int) -> bool:
    """Whether a process with this id exists (it may belong to another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop(pid: int, timeout: float = 15.0) -> None:
    """SIGTERM the process group, then SIGKILL it if it is still there after ``timeout``."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)
