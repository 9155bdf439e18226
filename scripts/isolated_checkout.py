"""A throwaway copy of the checkout, for tests and benchmarks that run the real commands.

ZenML keeps a repository's active stack in ``.zen/config.yaml``. Running pipelines with another
``ZENML_CONFIG_PATH`` in the checkout itself rewrites that file under anyone else working there
(and their commands rewrite it under the run). So the end-to-end tests and the benchmarks work
in a copy: no ``.zen``, no data, no DVC remote or caches, like a fresh clone, with the project's
``.venv`` linked in.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

# The Python side of scripts/env.sh (a unit test keeps the two in step).
OFFLINE_ENV = {
    "ZENML_ANALYTICS_OPT_IN": "false",
    "ZENML_ENABLE_REPO_INIT_WARNINGS": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "DVC_NO_ANALYTICS": "1",
    "HF_HUB_OFFLINE": "1",
    "GIT_PYTHON_REFRESH": "quiet",
}

_IGNORED = shutil.ignore_patterns(
    ".venv",
    ".zen",
    ".dvc_remote",
    "cache",
    "tmp",
    "__pycache__",
    ".*_cache",
    "mlruns",
    "mlflow.db",
    "breast_cancer.csv",
    "e2e-*",
    "test-artifacts",
)


def copy_checkout(destination: Path) -> Path:
    """Copy the working tree to ``destination`` (which must not exist) and link ``.venv``.

    Args:
        destination: The new folder.

    Returns:
        ``destination``. ``data/breast_cancer.csv`` is left out on purpose: run
        ``python -m scripts.materialize_data`` there (the quickstart does).
    """
    shutil.copytree(REPO_ROOT, destination, ignore=_IGNORED, symlinks=True)
    (destination / ".venv").symlink_to(REPO_ROOT / ".venv")
    return destination


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Rich's boxed traceback frames (ZenML's CLI prints them): the messages are what matter.
_FRAME_PREFIXES = ("│", "╭", "╰")


def command_messages(result: subprocess.CompletedProcess[str]) -> str:
    """A finished command's stdout and stderr, without colour codes and rich's traceback frames.

    Args:
        result: A command run with ``text=True`` and captured output.

    Returns:
        The output's lines (stdout, then stderr), ANSI colour codes removed, and the lines of
        rich's boxed traceback frames (starting with ``│``, ``╭`` or ``╰``) left out.
    """
    text = _ANSI.sub("", (result.stdout or "") + "\n" + (result.stderr or ""))
    return "\n".join(
        line for line in text.splitlines() if not line.lstrip().startswith(_FRAME_PREFIXES)
    )


def run_in_checkout(
    args: Sequence[str],
    root: Path,
    env: dict[str, str],
    *,
    check: bool = True,
    timeout: float = 900,
    stdin: str | None = None,
    error: type[Exception] = RuntimeError,
) -> subprocess.CompletedProcess[str]:
    """Run a command in a checkout with an environment, capturing its output as text.

    Args:
        args: The command and its arguments.
        root: The working directory (a checkout made by :func:`copy_checkout`).
        env: The whole environment of the command.
        check: Raise ``error`` when the command exits non-zero.
        timeout: Seconds before the command is killed.
        stdin: Text fed to the command's standard input.
        error: The exception class raised on failure (tests pass ``AssertionError``).

    Returns:
        The finished process.

    Raises:
        subprocess.TimeoutExpired: When the command runs past ``timeout``.
        Exception: ``error``, when ``check`` and the command exits non-zero; the message holds
            the command, its exit status and the last 8,000 characters of
            :func:`command_messages`.
    """
    result = subprocess.run(
        list(args),
        cwd=root,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise error(
            f"{' '.join(args)} exited {result.returncode}\n{command_messages(result)[-8000:]}"
        )
    return result
