"""Kill test: the gateway, killed under steady traffic, comes back without a command typed.

A real gateway under its real supervisor, in front of a real HTTP model server; one client
sends requests back to back, the gateway process gets SIGKILL, and the failed requests are
counted until answers resume.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from scripts.ports import free_port
from serving.routing import (
    GATEWAY_CHILD_PID_FILE,
    LOG_FILE,
    PID_FILE,
    running_supervisor,
    start_gateway,
    stop_gateway,
)
from tests.serving_fakes import (
    direct_connections,
    fake_deployment,
    gateway_for,
    post_row,
    route_to,
    start_model_server,
)


def test_a_killed_gateway_is_restarted_by_its_supervisor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    direct_connections(monkeypatch)
    server = start_model_server()
    route = route_to(server, "kill_model", "k" * 32)
    port, gateway = gateway_for(route, tmp_path)
    supervisor = int((tmp_path / PID_FILE).read_text())
    results: list[tuple[float, int]] = []  # (seconds since the kill, status; 0: no connection)
    stop = threading.Event()
    killed_at = [float("inf")]  # before the kill, times are negative

    def traffic() -> None:
        while not stop.is_set():
            try:
                status = post_row(port)
            except OSError:
                status = 0
            results.append((time.monotonic() - killed_at[0], status))
            time.sleep(0.01)

    thread = threading.Thread(target=traffic)
    try:
        thread.start()
        time.sleep(1.0)
        killed_at[0] = time.monotonic()
        os.kill(gateway, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while not (results and results[-1][0] > 0 and results[-1][1] == 200):
            assert time.monotonic() < deadline, "the gateway did not come back within 60 s"
            time.sleep(0.05)
        recovered = results[-1][0]
        time.sleep(1.0)
        stop.set()
        thread.join(timeout=30)
        restarted = int((tmp_path / GATEWAY_CHILD_PID_FILE).read_text())
        assert restarted != gateway
        os.kill(supervisor, 0)  # the supervisor itself never went away
        before = [s for t, s in results if t < 0]
        after = [s for t, s in results if t >= 0]
        failed = [s for s in after if s != 200]
        assert before and set(before) == {200}
        # Failures are refused connections only (no half answers), and end with the restart.
        assert set(failed) <= {0}
        assert [s for t, s in results if t > recovered] == [200] * sum(
            1 for t, _ in results if t > recovered
        )
        assert "gateway exited with code -9; starting it again" in (tmp_path / LOG_FILE).read_text()
        print(
            f"gateway kill: {len(failed)} failed of {len(after)} requests after the kill, "
            f"answers again after {recovered:.2f} s"
        )
    finally:
        stop.set()
        stop_gateway(tmp_path)
        server.shutdown()
        server.server_close()


def test_gateway_start_after_the_supervisor_was_killed_restores_supervision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The orphaned gateway is replaced by a supervised one (walkthrough finding 1)."""
    with fake_deployment(monkeypatch, tmp_path, "orphan_model", "o" * 32) as (port, orphan):
        os.kill(int((tmp_path / PID_FILE).read_text()), signal.SIGKILL)
        time.sleep(0.5)
        assert running_supervisor(tmp_path) is None
        assert post_row(port) == 200  # the orphan still answers, unsupervised
        gateway = start_gateway(port=port, directory=tmp_path, timeout=60)
        assert gateway not in (0, orphan)
        supervisor = running_supervisor(tmp_path)
        assert supervisor is not None and supervisor[1] == port
        assert post_row(port) == 200


def test_a_second_gateway_on_another_port_for_the_same_state_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One state directory, one gateway: stop could not reach a second (walkthrough finding 2)."""
    with fake_deployment(monkeypatch, tmp_path, "single_model", "s" * 32) as (port, _):
        with pytest.raises(RuntimeError) as refused:
            start_gateway(port=free_port(), directory=tmp_path, timeout=60)
        assert str(refused.value).startswith(
            f"the gateway of {tmp_path} already runs on port {port} (supervisor PID "
        )
        assert f"TABULAR_GATEWAY_PORT={port}" in str(refused.value)
        assert start_gateway(port=port, directory=tmp_path, timeout=60) == 0  # already running
    assert running_supervisor(tmp_path) is None


def test_a_shell_with_another_gateway_port_is_refused_before_anything_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Walkthrough: with the gateway on one port and ``TABULAR_GATEWAY_PORT`` naming another,
    a deployment started a model server and rewrote route.json before start_gateway refused
    the port. ``check_gateway_port`` (the first call of deploy and rollback) now refuses it;
    ``release status`` reports the port the gateway really answers on."""
    from release.__main__ import _status
    from serving.gateway_process import check_gateway_port, serving_port

    with fake_deployment(monkeypatch, tmp_path, "port_model", "p" * 32) as (port, _):
        other = free_port()
        monkeypatch.setenv("TABULAR_SERVING_STATE", str(tmp_path))
        monkeypatch.setenv("TABULAR_GATEWAY_PORT", str(other))
        before = (tmp_path / "route.json").read_bytes()
        with pytest.raises(RuntimeError) as refused:
            check_gateway_port()
        assert str(refused.value).startswith(
            f"the gateway of {tmp_path} already runs on port {port} (supervisor PID "
        )
        assert (tmp_path / "route.json").read_bytes() == before
        assert serving_port(tmp_path) == port
        status = _status(None, production=False)
        assert status["endpoint"] == f"http://127.0.0.1:{port}/invocations"
        assert status["gateway_running"] is True and status["scoring"] == "model_server"
        monkeypatch.setenv("TABULAR_GATEWAY_PORT", str(port))
        check_gateway_port()  # the right port passes
        monkeypatch.setenv("TABULAR_GATEWAY_PORT", str(other))
    assert serving_port(tmp_path) == other  # no gateway: this shell's setting
