"""``python -m release``: every command is described, and ``gateway-start`` restarts a gateway."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from release.__main__ import COMMANDS
from scripts.ports import free_port
from serving.routing import gateway_alive, stop_gateway

REPO = Path(__file__).resolve().parents[2]


def _env(tmp_path: Path, port: int) -> dict[str, str]:
    env = {
        **os.environ,
        "TABULAR_SERVING_STATE": str(tmp_path / "serving"),
        "TABULAR_GATEWAY_PORT": str(port),
        "ZENML_CONFIG_PATH": str(tmp_path / "zenml"),
        "ZENML_ANALYTICS_OPT_IN": "false",
        "no_proxy": "127.0.0.1,localhost",
    }
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(name, None)
    return env


def test_help_describes_every_command(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "release", "--help"],
        cwd=REPO,
        env=_env(tmp_path, free_port()),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert set(COMMANDS) == {"status", "rollback", "gateway-start", "restart-server", "stop"}
    for name, (summary, _) in COMMANDS.items():
        assert name in text
        assert " ".join(summary.split()) in text, name


def test_readme_says_how_to_restart_the_gateway() -> None:
    readme = (REPO / "README.md").read_text()
    assert "python -m release gateway-start" in readme
    assert "Supervision: crashes recover without a person" in readme
    assert "restart-server" in readme


def test_gateway_start_starts_a_gateway_that_answers(tmp_path: Path) -> None:
    port = free_port()
    env = _env(tmp_path, port)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "release", "gateway-start"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"gateway at http://127.0.0.1:{port}\n" in result.stdout
        assert "nothing is deployed: the gateway answers 503" in result.stdout
        status = json.loads(result.stdout[result.stdout.index("{") :])
        assert status["gateway_running"] is True
        assert status["active"] is None and status["models"] == {}
        assert gateway_alive(port)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/version", timeout=5) as response:
            assert json.loads(response.read()) == {"default_model": None, "models": {}}
    finally:
        stopped = stop_gateway(tmp_path / "serving")
    assert stopped
    assert not gateway_alive(port)


@pytest.mark.parametrize("port", ["abc", "99999", "0"])
def test_a_bad_gateway_port_is_named_without_a_traceback(tmp_path: Path, port: str) -> None:
    env = {**_env(tmp_path, 1), "TABULAR_GATEWAY_PORT": port}
    for command in ("status", "gateway-start"):
        result = subprocess.run(
            [sys.executable, "-m", "release", command],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 1, result.stdout + result.stderr
        assert f"error: TABULAR_GATEWAY_PORT='{port}' is not a port number (1-65535)" in (
            result.stderr
        )
        assert "Traceback" not in result.stderr


def test_gateway_start_on_a_port_held_by_another_program_says_so(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "release", "gateway-start"],
            cwd=REPO,
            env=_env(tmp_path, port),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 1
    assert f"error: port {port} is taken by another program" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["status", "rollback", "stop"])
def test_a_model_that_is_not_served_is_named(tmp_path: Path, command: str) -> None:
    """Each of status, rollback and stop takes --model; an unknown one is an error naming the
    models there are (none here), without a traceback and without stopping anything."""
    result = subprocess.run(
        [sys.executable, "-m", "release", command, "--model", "iris"],
        cwd=REPO,
        env=_env(tmp_path, free_port()),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "model 'iris'" in result.stderr and "none" in result.stderr
    assert "Traceback" not in result.stderr


def test_status_into_a_pipe_closed_early_ends_quietly(tmp_path: Path) -> None:
    """``release status | head -1``: the reader leaves after one line; no BrokenPipeError."""
    status = subprocess.Popen(
        [sys.executable, "-m", "release", "status"],
        cwd=REPO,
        env=_env(tmp_path, free_port()),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert status.stdout is not None and status.stderr is not None
    status.stdout.close()  # the reader is gone before status writes
    stderr = status.stderr.read().decode()
    assert status.wait(timeout=60) == 0, stderr
    assert stderr == ""
