"""The quickstart refuses a ZenML client that is logged in to a server (walkthrough finding).

Still logged in to a composed stack's server, ``scripts/quickstart.sh`` registered the ``local``
stack on that server and trained there, with no word that this was not the embedded store; once
the server was taken down, it failed with a 60-line traceback. It now stops first, naming the
server and the command that fixes it, before it changes anything.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scripts.isolated_checkout import OFFLINE_ENV, command_messages, copy_checkout, run_in_checkout


def test_quickstart_stops_when_the_client_is_logged_in_to_a_server(tmp_path: Path) -> None:
    root = copy_checkout(tmp_path / "repo")
    config = tmp_path / "zenml-config"
    config.mkdir()
    # What `zenml login URL` leaves in the global config; nothing listens on port 9.
    (config / "config.yaml").write_text("store:\n  type: rest\n  url: http://127.0.0.1:9\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZENML_", "MLFLOW_"))}
    env.update(OFFLINE_ENV)
    env["ZENML_CONFIG_PATH"] = str(config)
    result = run_in_checkout(["bash", "scripts/quickstart.sh"], root, env, check=False, timeout=600)
    messages = command_messages(result)
    assert result.returncode == 1, messages
    assert "logged in to the server http://127.0.0.1:9" in result.stderr, messages
    assert "Run `zenml logout`" in result.stderr
    assert "Traceback" not in messages
    # Stopped before `zenml init`, the stack and the data.
    assert not (root / ".zen").exists()
    assert not (root / "data" / "breast_cancer.csv").exists()


def test_quickstart_guard_lets_an_embedded_store_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The guard reads the same config file: a SQLite store is not a server.
    from scripts.server_stack.login import client_store_url

    config = tmp_path / "zenml-config"
    config.mkdir()
    (config / "config.yaml").write_text(f"store:\n  type: sql\n  url: sqlite:///{tmp_path}/z.db\n")
    monkeypatch.setenv("ZENML_CONFIG_PATH", str(config))
    monkeypatch.delenv("ZENML_STORE_URL", raising=False)
    assert client_store_url() == f"sqlite:///{tmp_path}/z.db"
