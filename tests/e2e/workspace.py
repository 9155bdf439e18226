"""End-to-end workspace: the README's first command, run for real on an isolated copy.

The session copies the checkout to a temporary folder (without `.zen`, data or DVC remote, like
a fresh clone), points ZenML at a temporary global config (so a temporary SQLite store, artifact
store and MLflow database), and runs ``scripts/quickstart.sh`` there. The user's own ZenML
store, `.zen` and MLflow data are never touched.

The environment variables are set at import time, before anything imports zenml.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.isolated_checkout import OFFLINE_ENV, run_in_checkout
from scripts.ports import free_port

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="e2e-"))
WORKTREE = _SESSION_DIR / "repo"
ZENML_HOME = _SESSION_DIR / "zenml-config"

os.environ.update(OFFLINE_ENV)
os.environ["ZENML_CONFIG_PATH"] = str(ZENML_HOME)
os.environ["ZENML_REPOSITORY_PATH"] = str(WORKTREE)


# The gateway of these tests must not collide with a user's gateway on the default port.
os.environ["TABULAR_GATEWAY_PORT"] = str(free_port())


@dataclass
class Workspace:
    """The isolated checkout and the environment to run commands in it."""

    root: Path
    env: dict[str, str]

    def run(
        self, *args: str, check: bool = True, timeout: int = 900
    ) -> subprocess.CompletedProcess[str]:
        """Run a command in the checkout with the project's venv on PATH."""
        return run_in_checkout(
            args, self.root, self.env, check=check, timeout=timeout, error=AssertionError
        )

    def zenml_pipeline_run(
        self,
        config: Path | str,
        check: bool = True,
        pipeline: str = "pipelines.training.training_pipeline",
    ) -> subprocess.CompletedProcess[str]:
        """``zenml pipeline run PIPELINE -c CONFIG``."""
        return self.run("zenml", "pipeline", "run", pipeline, "-c", str(config), check=check)

    def write_config(
        self, name: str, overrides: dict[str, Any], base_config: str = "training.yaml"
    ) -> Path:
        """Write a copy of configs/BASE_CONFIG with top-level / parameter overrides."""
        import yaml

        base = yaml.safe_load((self.root / "configs" / base_config).read_text())
        for key, value in overrides.items():
            if key == "parameters":
                base["parameters"].update(value)
            else:
                base[key] = value
        path = self.root / "configs" / f"{name}.yaml"
        path.write_text(yaml.safe_dump(base))
        return path
