"""stacks/docker.yaml, the pipeline image's build options, and what a step container imports.

The stack validates offline against ZenML's flavors and keeps the server stack's stores; its
containers use the host network as the image's user, with ZenML's localhost rewriting off. The
build options come from the environment (``pipelines.docker_settings``). A fresh process (a
step container) can load the ML package's modules the way ZenML loads cache dependencies.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipelines.docker_settings import CA_BUNDLE_ENV, build_options_from_env

ROOT = Path(__file__).resolve().parents[2]
DOCKER_STACK = ROOT / "stacks" / "docker.yaml"
SERVER_STACK = ROOT / "stacks" / "server.yaml"


def test_docker_stack_runs_steps_in_containers_on_the_server_stack_stores() -> None:
    docker = yaml.safe_load(DOCKER_STACK.read_text())["components"]
    server = yaml.safe_load(SERVER_STACK.read_text())["components"]
    orchestrator = docker["orchestrator"]
    assert orchestrator["flavor"] == "local_docker"
    run_args = orchestrator["configuration"]["run_args"]
    assert run_args["network_mode"] == "host"
    assert run_args["user"] == "10001"
    assert run_args["environment"] == {"ZENML_CONTAINER": "false"}
    assert docker["image_builder"] == {
        "name": "docker_image_builder",
        "flavor": "local",
        "configuration": {"use_subprocess_call": True},
    }
    for ctype in ("artifact_store", "experiment_tracker", "model_registry", "alerter"):
        assert docker[ctype]["flavor"] == server[ctype]["flavor"], ctype
        assert docker[ctype].get("configuration") == server[ctype].get("configuration"), ctype


def test_docker_stack_validates_against_zenml(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ZENML_CONFIG_PATH": str(tmp_path / "zenml-config"),
        "ZENML_ANALYTICS_OPT_IN": "false",
        "TABULAR_S3_BUCKET": "bucket",
        "TABULAR_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
        "MLFLOW_TRACKING_URI": "http://127.0.0.1:5000",
    }
    env.pop("ZENML_STORE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "stacks", "validate", str(DOCKER_STACK)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "stack 'docker' is valid" in result.stdout + result.stderr


def test_build_options_from_env(tmp_path: Path) -> None:
    assert build_options_from_env({}) == {}
    bundle = tmp_path / "ca.crt"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    options = build_options_from_env(
        {
            "TABULAR_PYTHON_IMAGE": "local/debian-py311:bookworm",
            "TABULAR_UV_IMAGE": "",
            CA_BUNDLE_ENV: str(bundle),
        }
    )
    assert options == {
        "build_args": {"PYTHON_IMAGE": "local/debian-py311:bookworm"},
        "secret": f"id=ca_bundle,src={bundle}",
    }
    with pytest.raises(FileNotFoundError, match=CA_BUNDLE_ENV):
        build_options_from_env({CA_BUNDLE_ENV: str(tmp_path / "missing.crt")})


def test_a_fresh_process_loads_ml_modules_as_zenml_cache_dependencies() -> None:
    """ZenML loads ``tabular_classifier.baseline`` as attribute ``baseline`` of the package."""
    probe = (
        "import sys, tabular_classifier as t\n"
        "assert 'tabular_classifier.baseline' not in sys.modules\n"
        "print(t.baseline.__name__)\n"
        "try:\n"
        "    t.no_such_module\n"
        "except AttributeError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert result.stdout.splitlines() == [
        "tabular_classifier.baseline",
        "module 'tabular_classifier' has no attribute 'no_such_module'",
    ]
