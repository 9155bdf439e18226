"""The gateway and ``python -m release status`` never import torch, ZenML, MLflow or sklearn.

Checked in fresh processes (``sys.modules`` after the real work, and the libraries mapped into a
running gateway), since anything imported earlier by pytest would hide an import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.ports import free_port
from serving.routing import start_gateway, stop_gateway, zenml_config_directory

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "zenml", "mlflow", "sklearn", "evidently")

PROBE = """
import contextlib, io, json, sys
from pathlib import Path
from serving.gateway import create_app
create_app(Path(sys.argv[1]), Path(sys.argv[1]) / "predictions")
from release.__main__ import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    code = main(["status"])
print(json.dumps({"code": code, "status": json.loads(out.getvalue()),
                  "modules": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def _env(tmp_path: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "TABULAR_SERVING_STATE": str(tmp_path / "state"),
        "TABULAR_GATEWAY_PORT": str(free_port()),
        "PYTHONPATH": str(REPO),
    }
    env.pop("ZENML_CONFIG_PATH", None)
    return env


def test_gateway_app_and_status_import_no_heavy_library(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / "state")],
        env=_env(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["code"] == 0
    assert out["status"]["active"] is None and out["status"]["gateway_running"] is False
    assert "production_version" not in out["status"]
    assert [name for name in HEAVY if name in out["modules"]] == []
    assert "fastapi" in out["modules"] and "serving" in out["modules"]


def test_a_running_gateway_maps_no_torch_library(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    port = free_port()
    pid = start_gateway(port=port, directory=state, timeout=60)
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
        libraries = {Path(line.split()[-1]).name for line in maps.splitlines() if ".so" in line}
        assert not [lib for lib in libraries if "torch" in lib or lib.startswith("libcuda")]
        # The gateway's own sign of life: pandas/numpy are there, torch is not.
        assert any("numpy" in line for line in maps.splitlines())
    finally:
        stop_gateway(state)


@pytest.mark.parametrize("configured", [True, False])
def test_zenml_config_directory_is_zenmls(
    configured: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zenml.utils.io_utils import get_global_config_directory

    if configured:
        monkeypatch.setenv("ZENML_CONFIG_PATH", str(tmp_path / "zen" / ".." / "zen"))
    else:
        monkeypatch.delenv("ZENML_CONFIG_PATH", raising=False)
    assert zenml_config_directory() == Path(get_global_config_directory())
