"""Deployment settings are checked before anything is looked up or started."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from release.blue_green import DeploymentError, deploy


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"tolerance": -0.1}, "smoke_test_tolerance must be >= 0, got -0.1"),
        ({"workers": 0}, "workers must be >= 1 (uvicorn worker processes), got 0"),
        ({"timeout_s": 0}, "start_timeout_s must be > 0 seconds, got 0"),
    ],
)
def test_bad_settings_fail_before_any_model_is_looked_up(
    settings: dict[str, float], message: str
) -> None:
    # No ZenML store is set up here: reaching the model lookup would fail differently.
    with pytest.raises(DeploymentError) as caught:
        deploy("no_such_model", **settings)  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_a_gateway_port_held_by_another_program_fails_before_anything_starts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Walkthrough finding 3: the routes used to be written before the gateway port failed."""
    monkeypatch.setenv("TABULAR_SERVING_STATE", str(tmp_path))
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        monkeypatch.setenv("TABULAR_GATEWAY_PORT", str(port))
        with pytest.raises(DeploymentError) as caught:
            deploy("no_such_model")
    assert str(caught.value) == (
        f"port {port} is taken by another program; set TABULAR_GATEWAY_PORT to a free port"
    )
    assert list(tmp_path.iterdir()) == []  # no route, no history written
