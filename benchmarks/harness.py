"""What every benchmark needs around its measurement: the machine, the versions, the commit,
subprocesses with timing and logs, a free port, the result line of a child and the results file.

Benchmarks run as modules from the repository root (``.venv/bin/python -m benchmarks.<name>``),
and so do the children they spawn (``-m benchmarks.<name>`` with the working directory at the
checkout or its copy), so nothing here edits ``sys.path``.

A child process reports its numbers on one stdout line, ``RESULT_TAG`` followed by JSON
(``emit_result``); the parent picks the last such line out of everything else the child printed
(``read_result``), so logging and warnings on stdout do no harm.

The helpers return plain values and the benchmark puts them into its results JSON under the
keys it has always used, so committed results stay comparable across this refactoring.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from scripts.isolated_checkout import OFFLINE_ENV

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "benchmarks" / "results"
BIN = Path(sys.executable).parent
RESULT_TAG = "BENCH_RESULT "
# How much of a failed command's stdout and of its stderr goes into the error: enough for a
# traceback, not the whole log (the log file keeps everything).
TAIL_CHARS = 3000
MACHINE_FIELDS = ("cpus", "cpu_model", "memory_gib", "python", "platform")
# Variables of a developer's shell that would point a benchmark's copy at the checkout's own
# gateway state, prediction log or ZenML repository.
_CHECKOUT_VARIABLES = ("TABULAR_SERVING_STATE", "TABULAR_PREDICTION_LOG", "ZENML_REPOSITORY_PATH")


class CommandFailed(RuntimeError):
    """A benchmark's subprocess exited non-zero; the message ends with the tail of its output.

    Attributes:
        cmd: The command, as run.
        returncode: Its exit status.
    """

    def __init__(self, cmd: Sequence[str], returncode: int, stdout: str, stderr: str) -> None:
        self.cmd = list(cmd)
        self.returncode = returncode
        super().__init__(
            f"{' '.join(self.cmd)} exited {returncode}:\n"
            f"{stdout[-TAIL_CHARS:]}\n{stderr[-TAIL_CHARS:]}"
        )


class ResultMissing(ValueError):
    """A child's output has no ``RESULT_TAG`` line."""


@dataclass(frozen=True)
class Completed:
    """A finished command.

    Attributes:
        stdout: Its standard output, decoded as text.
        stderr: Its standard error, decoded as text.
        seconds: Wall-clock seconds from start to exit, measured by the parent (``perf_counter``),
            so the child's interpreter start-up and imports are included.
    """

    stdout: str
    stderr: str
    seconds: float


@dataclass(frozen=True)
class GitState:
    """The commit a benchmark measured, and whether the working tree differed from it.

    Attributes:
        commit: Full SHA of ``HEAD``; ``""`` outside a git checkout (or without git).
        short_commit: ``git rev-parse --short HEAD``; ``""`` likewise.
        uncommitted: Paths that ``git status --porcelain`` lists (modified, staged, untracked).
    """

    commit: str
    short_commit: str
    uncommitted: tuple[str, ...]

    @property
    def dirty(self) -> bool:
        """Whether any path differed from ``commit`` when the benchmark started."""
        return bool(self.uncommitted)


def rerun_with_env(module: str, env: Mapping[str, str]) -> None:
    """Run this benchmark again (``python -m module``, same arguments) with ``env`` set.

    Returns only when ``env`` is already set. BLAS and OpenMP read their thread counts when they
    load, so a limit such as ``OPENBLAS_NUM_THREADS=1`` must be in the environment before numpy
    starts; threadpoolctl could change it later, but it is no declared dependency of ours (it
    comes with scikit-learn) and the lock cannot be updated offline.
    """
    if all(os.environ.get(key) == value for key, value in env.items()):
        return
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, "-m", module, *sys.argv[1:]], {**os.environ, **env})


def machine_info(*fields: str) -> dict[str, Any]:
    """Describe the machine: the fields asked for, in that order (all of them by default).

    Args:
        *fields: Names from ``MACHINE_FIELDS``: ``cpus`` (``os.cpu_count()``, logical CPUs),
            ``cpu_model`` (the first ``model name`` of ``/proc/cpuinfo``), ``memory_gib``
            (``MemTotal`` of ``/proc/meminfo`` in GiB, one decimal), ``python`` (version
            string) and ``platform`` (``platform.platform()``).

    Returns:
        A JSON-ready dict. ``cpu_model`` and ``memory_gib`` are left out where ``/proc`` does not
        have them (not Linux).

    Raises:
        ValueError: A field that is not in ``MACHINE_FIELDS``.
    """
    unknown = [f for f in fields if f not in MACHINE_FIELDS]
    if unknown:
        raise ValueError(f"unknown machine field(s) {unknown}; choose from {MACHINE_FIELDS}")
    probes: dict[str, Callable[[], Any]] = {
        "cpus": os.cpu_count,
        "cpu_model": lambda: _proc_value("/proc/cpuinfo", "model name"),
        "memory_gib": _memory_gib,
        "python": platform.python_version,
        "platform": platform.platform,
    }
    info = {name: probes[name]() for name in fields or MACHINE_FIELDS}
    return {name: value for name, value in info.items() if value is not None}


def _proc_value(path: str, key: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _memory_gib() -> float | None:
    total = _proc_value("/proc/meminfo", "MemTotal")  # "24641536 kB"
    return round(int(total.split()[0]) / 2**20, 1) if total else None


def package_versions(names: Sequence[str], missing: str = "not installed") -> dict[str, str]:
    """Installed distribution versions, from package metadata (no import).

    Args:
        names: Distribution names as on PyPI (``scikit-learn``, not ``sklearn``).
        missing: The value recorded for a distribution that is not installed.

    Returns:
        ``{name: version}`` in the order of ``names``. Metadata versions carry no local build
        tag: torch's is ``2.15.0`` where ``torch.__version__`` says ``2.15.0+cu132``.
    """
    found = {}
    for name in names:
        try:
            found[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            found[name] = missing
    return found


def git_state(root: Path = REPO) -> GitState:
    """The checkout's ``HEAD`` and the paths that differ from it.

    Args:
        root: A folder inside the git working tree (default: this repository).

    Returns:
        The state; empty strings and no paths where git fails (no git, not a checkout), because
        a benchmark should still record its numbers.
    """

    def git(*args: str) -> str:
        try:
            done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
        except OSError:
            return ""
        return done.stdout.rstrip() if done.returncode == 0 else ""

    return GitState(
        commit=git("rev-parse", "HEAD"),
        short_commit=git("rev-parse", "--short", "HEAD"),
        uncommitted=tuple(line[3:] for line in git("status", "--porcelain").splitlines()),
    )


def load_average(digits: int = 2) -> list[float]:
    """The 1, 5 and 15 minute load averages (``os.getloadavg``), rounded to ``digits``."""
    return [round(value, digits) for value in os.getloadavg()]


def checkout_env(
    work: Path, repo: Path, tmpdir: Path | None = None, **extra: str
) -> dict[str, str]:
    """Environment for commands run in a copy of the checkout on an isolated ZenML store.

    Starts from ``os.environ``, drops the variables that point at the checkout's own serving
    state, prediction log and ZenML repository, and adds ``OFFLINE_ENV`` (no telemetry).

    Args:
        work: The benchmark's temporary folder; the ZenML store goes to ``work/zenml``.
        repo: The checkout copy: ``PYTHONPATH``, so ``-m benchmarks.<name>`` and the project's
            packages import from it.
        tmpdir: ``TMPDIR`` for the children (MLflow downloads models there), if given.
        **extra: Further variables, e.g. ``TABULAR_GATEWAY_PORT="8123"``.

    Returns:
        The environment. ``PATH`` starts with this interpreter's ``bin`` folder, because ZenML
        and MLflow start ``uvicorn``, ``zenml`` and ``mlflow`` by name.
    """
    env = dict(os.environ)
    for key in _CHECKOUT_VARIABLES:
        env.pop(key, None)
    env.update(OFFLINE_ENV)
    env.update(
        {
            "ZENML_CONFIG_PATH": str(work / "zenml"),
            "PYTHONPATH": str(repo),
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            **extra,
        }
    )
    if tmpdir is not None:
        env["TMPDIR"] = str(tmpdir)
    return env


def module_command(name: str, *args: str) -> list[str]:
    """``[python, "-m", "benchmarks.<name>", *args]`` with this interpreter.

    Run it with the working directory (or ``PYTHONPATH``) at the checkout or its copy.
    """
    return [sys.executable, "-m", f"benchmarks.{name}", *args]


def run_timed(
    cmd: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    log: Path | None = None,
    timeout: float | None = None,
    echo: bool = True,
) -> Completed:
    """Run ``cmd`` to completion, timing it, logging its output, failing loudly.

    Args:
        cmd: The command (no shell).
        cwd: Its working directory.
        env: Its environment (default: this process's).
        log: A file to append ``$ cmd``, stdout and stderr to, if given.
        timeout: Seconds before the command is killed (``subprocess.TimeoutExpired``).
        echo: Print the command before and its wall time after.

    Returns:
        Its output and wall-clock seconds.

    Raises:
        CommandFailed: Non-zero exit; the message holds the last ``TAIL_CHARS`` of stdout and of
            stderr.
        subprocess.TimeoutExpired: It ran past ``timeout``.
    """
    line = " ".join(cmd)
    if echo:
        print(f"  $ {line[:160]}", flush=True)
    start = time.perf_counter()
    done = subprocess.run(
        list(cmd), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    seconds = time.perf_counter() - start
    if log is not None:
        with log.open("a") as handle:
            handle.write(f"$ {line}\n{done.stdout}\n{done.stderr}\n")
    if done.returncode != 0:
        raise CommandFailed(cmd, done.returncode, done.stdout, done.stderr)
    if echo:
        print(f"    ({seconds:.0f} s)", flush=True)
    return Completed(done.stdout, done.stderr, seconds)


def emit_result(result: Any) -> None:
    """Print ``result`` as the child's result line: ``RESULT_TAG`` + one line of JSON."""
    print(RESULT_TAG + json.dumps(result), flush=True)


def read_result(output: str) -> Any:
    """The payload of the last ``RESULT_TAG`` line in a child's output.

    Args:
        output: The child's stdout (other lines are ignored).

    Returns:
        The decoded JSON value.

    Raises:
        ResultMissing: No line starts with ``RESULT_TAG`` (the child failed before reporting).
    """
    for line in reversed(output.splitlines()):
        if line.startswith(RESULT_TAG):
            return json.loads(line[len(RESULT_TAG) :])
    raise ResultMissing(f"no {RESULT_TAG.strip()!r} line in the child's output")


def write_results(
    path: Path,
    result: dict[str, Any],
    markdown: Callable[[dict[str, Any]], str] | None = None,
    indent: int = 1,
) -> str:
    """Write a benchmark's results JSON, and its Markdown table into it when given.

    The JSON is written before the table is built, so a bug in the table loses no numbers.

    Args:
        path: The results file (its folder is created).
        result: JSON-ready results; with ``markdown``, its ``"markdown"`` key is set to the table.
        markdown: Builds the table from ``result``.
        indent: JSON indentation (each benchmark keeps the one of its committed file).

    Returns:
        The table, or ``""`` without ``markdown``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=indent) + "\n")
    if markdown is None:
        return ""
    table = markdown(result)
    result["markdown"] = table
    path.write_text(json.dumps(result, indent=indent) + "\n")
    return table
