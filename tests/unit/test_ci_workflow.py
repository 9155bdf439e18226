"""The GitHub workflow is valid and runs the same checks as .ci/run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


def test_workflow_matches_the_github_workflow_schema() -> None:
    checker = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflow_runs_ruff_mypy_and_the_readme_test_command() -> None:
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["checks"]["steps"]
    commands = " ".join(step.get("run", "") for step in steps)
    ci_run = (ROOT / ".ci" / "run").read_text()
    for command in (
        "uv sync --frozen",
        "ruff check .",
        "scripts/ensure_chromium.sh",
        "scripts/test.sh",
    ):
        assert command in commands and command in ci_run, command
    mypy = [line for line in ci_run.splitlines() if "mypy" in line and "echo" not in line][0]
    assert mypy.split("mypy", 1)[1].strip() in commands
    assert "scripts/test.sh" in (ROOT / "README.md").read_text()
