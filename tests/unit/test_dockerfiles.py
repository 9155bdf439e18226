"""docker/*.Dockerfile and the pipelines' Docker settings, checked without a Docker engine.

Each image is multi-stage: a builder installs exactly ``uv.lock`` (no dev group) with uv, and a
slim runtime stage copies the virtual environment and runs as a non-root user, with analytics
and telemetry off. hadolint lints every file. The pipelines run in the pipeline image, with
nothing installed on top of it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKER_DIR = ROOT / "docker"
DOCKERFILES = sorted(DOCKER_DIR.glob("*.Dockerfile"))
ENTRYPOINT_SCRIPT = DOCKER_DIR / "serve-model.sh"
TELEMETRY_OFF = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
ZENML_ANALYTICS_OFF = {"ZENML_ANALYTICS_OPT_IN": "false"}


@dataclass
class Stage:
    """One build stage: its FROM line and its instructions as (keyword, arguments)."""

    image: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def args(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]

    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for args in self.args("ENV"):
            for name, value in re.findall(r"([A-Z_][A-Z0-9_]*)=(\S+)", args):
                values[name] = value.strip('"')
        return values


def parse_dockerfile(path: Path) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the stages of a Dockerfile (continuation lines joined)."""
    logical: list[str] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            match = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", args.strip(), flags=re.IGNORECASE)
            assert match, f"{path.name}: cannot parse FROM {args}"
            image = re.sub(
                r"\$\{(\w+)\}", lambda m: global_args.get(m.group(1), m.group(0)), match.group(1)
            )
            stages.append(Stage(image=image, name=match.group(2)))
        elif not stages:
            assert keyword == "ARG", f"{path.name}: {keyword} before the first FROM"
            name, _, default = args.partition("=")
            global_args[name.strip()] = default.strip()
        else:
            stages[-1].instructions.append((keyword, args))
    return global_args, stages


@pytest.fixture(scope="module")
def locked_packages() -> set[str]:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    return {package["name"] for package in lock["package"]}


def test_the_three_images_exist() -> None:
    assert {p.name for p in DOCKERFILES} == {
        "pipeline.Dockerfile",
        "serving.Dockerfile",
        "mlflow.Dockerfile",
    }


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_passes(dockerfile: Path) -> None:
    hadolint = Path(sys.executable).with_name("hadolint")
    result = subprocess.run(
        [str(hadolint), str(dockerfile)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_builder_installs_exactly_the_lock(dockerfile: Path, locked_packages: set[str]) -> None:
    _, stages = parse_dockerfile(dockerfile)
    builder = next(stage for stage in stages if stage.name == "builder")
    copied = " ".join(builder.args("COPY"))
    assert "uv.lock" in copied and "pyproject.toml" in copied, "the lock is not copied"
    assert builder.env().get("UV_COMPILE_BYTECODE") == "1"
    runs = " ".join(builder.args("RUN"))
    if "uv sync" in runs:
        assert re.search(r"uv sync --frozen\b", runs), runs
        assert "--no-dev" in runs
    else:
        # Only a subset of the lock: every version constrained by `uv export --frozen`.
        assert re.search(r"uv export --frozen\b", runs) and "--no-dev" in runs, runs
        install = re.search(r"uv pip install (.*?)(?:&&|$)", runs)
        assert install and "--constraint" in install.group(1), runs
        packages = [t for t in install.group(1).split() if not t.startswith("-")]
        packages = [t for t in packages if not t.endswith(".txt")]
        assert packages and set(packages) <= locked_packages, packages
    assert "pip install" not in runs.replace("uv pip install", ""), "pip bypasses the lock"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_runtime_stage_is_slim_non_root_and_offline(dockerfile: Path) -> None:
    global_args, stages = parse_dockerfile(dockerfile)
    assert len(stages) >= 2, "not multi-stage"
    runtime = stages[-1]
    builder = next(stage for stage in stages if stage.name == "builder")
    assert runtime.image == builder.image, "runtime and builder must share the base image"
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", runtime.image), runtime.image
    assert (ROOT / ".python-version").read_text().strip() == "3.11"
    assert any("--from=builder /opt/venv /opt/venv" in a for a in runtime.args("COPY"))
    assert not any("uv " in a or "pip " in a for a in runtime.args("RUN")), "installs on top"

    users = runtime.args("USER")
    assert users, "the runtime stage has no USER"
    stage_args = {
        name.strip(): default.strip()
        for name, _, default in (a.partition("=") for a in runtime.args("ARG"))
    }
    user = re.sub(r"\$\{(\w+)\}", lambda m: stage_args.get(m.group(1), ""), users[-1]).strip()
    assert user and user not in {"0", "root"}, f"runs as {users[-1]!r}"
    if user.isdigit():
        assert int(user) >= 1000

    env = runtime.env()
    expected = dict(TELEMETRY_OFF)
    if dockerfile.name != "mlflow.Dockerfile":
        expected |= ZENML_ANALYTICS_OFF
    for name, value in expected.items():
        assert env.get(name) == value, f"{name} is {env.get(name)!r}"
    assert "/opt/venv/bin" in env.get("PATH", "")


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_base_images_are_pinned(dockerfile: Path) -> None:
    global_args, stages = parse_dockerfile(dockerfile)
    for stage in stages:
        if stage.image in {s.name for s in stages}:
            continue
        assert re.search(r":\d+\.\d+\.\d+", stage.image), f"{stage.image} is not pinned"


def test_every_copied_file_is_in_the_build_context() -> None:
    from zenml.image_builders.build_context import BuildContext

    context = set(BuildContext(root=str(ROOT)).get_files())
    assert not any(p.startswith((".venv", ".git/", "data/", ".env")) for p in context)
    for dockerfile in DOCKERFILES:
        _, stages = parse_dockerfile(dockerfile)
        for stage in stages:
            for args in stage.args("COPY"):
                if "--from=" in args:
                    continue
                sources = [t for t in args.split() if not t.startswith("--")][:-1]
                for source in sources:
                    assert source in context, f"{dockerfile.name}: {source} is dockerignored"


def test_serving_entrypoint_is_a_valid_executable_script() -> None:
    assert os.access(ENTRYPOINT_SCRIPT, os.X_OK)
    subprocess.run(["sh", "-n", str(ENTRYPOINT_SCRIPT)], check=True, timeout=30)
    _, stages = parse_dockerfile(DOCKER_DIR / "serving.Dockerfile")
    assert any("docker/serve-model.sh" in a for a in stages[-1].args("COPY"))


def test_serving_entrypoint_uses_real_mlflow_flags() -> None:
    script = ENTRYPOINT_SCRIPT.read_text()
    command = script[script.index("exec mlflow models serve") :]
    flags = set(re.findall(r"(?<!\S)(--[a-z][a-z-]+)", command))
    assert {"--model-uri", "--env-manager", "--host", "--port"} <= flags
    help_text = subprocess.run(
        [str(Path(sys.executable).with_name("mlflow")), "models", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    for flag in flags:
        assert flag in help_text, f"`mlflow models serve` has no {flag}"


def test_every_pipeline_runs_in_the_pipeline_image_with_nothing_on_top(tmp_path: Path) -> None:
    """Import every module of ``pipelines/`` in a fresh process and read its pipelines' settings."""
    probe = """
import importlib, json, pkgutil, sys
import pipelines
from zenml.pipelines.pipeline_definition import Pipeline
found = {}
for info in pkgutil.iter_modules(pipelines.__path__):
    module = importlib.import_module(f"pipelines.{info.name}")
    for value in vars(module).values():
        if isinstance(value, Pipeline) and value.entrypoint.__module__ == module.__name__:
            docker = value.configuration.settings.get("docker")
            found[value.name] = None if docker is None else docker.model_dump(mode="json")
json.dump(found, sys.stdout)
"""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ZENML_ANALYTICS_OPT_IN": "false",
        "ZENML_LOGGING_VERBOSITY": "ERROR",
    }
    # A file, not `python -c`: ZenML derives its source root from the main module's file.
    script = tmp_path / "probe_pipelines.py"
    script.write_text(probe)
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"training_pipeline", "deployment_pipeline", "batch_inference_pipeline"} <= set(found)
    for name, docker in found.items():
        assert docker is not None, (
            f"{name} has no Docker settings: add settings={{'docker': DOCKER_SETTINGS}} "
            "(from pipelines.docker_settings) to its @pipeline decorator"
        )
        assert Path(docker["dockerfile"]) == DOCKER_DIR / "pipeline.Dockerfile", name
        assert Path(docker["build_context_root"]) == ROOT, name
        assert docker["install_stack_requirements"] is False, name
        assert docker["install_deployment_requirements"] is False, name
        assert docker["disable_automatic_requirements_detection"] is True, name
        assert not docker.get("requirements") and not docker.get("required_integrations"), name
        assert not docker.get("replicate_local_python_environment"), name
