"""A Docker engine and the project's three images, for the tests that run them (tests/docker).

``scripts/docker.sh`` sets the engine up (installing Debian's docker.io and starting a dockerd of
its own where none answers) and, where no registry is reachable, builds the local base and uv
images the Dockerfiles then build from. A machine where that fails fails these tests, with the
script's own message: nothing is skipped.

The images are built once per session with BuildKit, reusing the engine's layer cache between
sessions; each build's wall time is recorded (``build_seconds``) and printed.

Run with: ``.venv/bin/python -m pytest tests/docker -p no:cacheprovider`` (as root, or with
passwordless sudo, the first time: the script installs packages and starts dockerd).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKER_SCRIPT = REPO_ROOT / "scripts" / "docker.sh"
LOCAL_BASE_IMAGE = "local/debian-py311:bookworm"
LOCAL_UV_IMAGE = "local/uv:0.13.9"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# docker/*.Dockerfile -> the tag these tests build it as.
IMAGES = {
    "mlflow": "tabular-mlops/mlflow-server:test",
    "serving": "tabular-mlops/serving:test",
    "pipeline": "tabular-mlops/pipeline:test",
}
BUILD_TIMEOUT_S = 1800
APP_UID = 10001


@dataclass
class Docker:
    """The engine at ``host``, driven through the Docker CLI at ``binary``."""

    host: str
    binary: str

    def env(self) -> dict[str, str]:
        """The environment for the CLI: this engine, BuildKit on."""
        return {**os.environ, "DOCKER_HOST": self.host, "DOCKER_BUILDKIT": "1"}

    def __call__(
        self, *args: str, timeout: float = 600, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run ``docker ARGS``; raise with its output if it fails and ``check`` is set."""
        result = subprocess.run(
            [self.binary, *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"docker {' '.join(args)} exited {result.returncode}\n"
                f"{(result.stdout + result.stderr)[-6000:]}"
            )
        return result

    def has_image(self, image: str) -> bool:
        """Whether the engine holds ``image``."""
        return self("image", "inspect", image, check=False).returncode == 0

    def build_args(self) -> list[str]:
        """Base images and the CA secret: the local stand-ins where scripts/docker.sh made them."""
        args: list[str] = []
        if self.has_image(LOCAL_BASE_IMAGE):
            args += ["--build-arg", f"PYTHON_IMAGE={LOCAL_BASE_IMAGE}"]
        if self.has_image(LOCAL_UV_IMAGE):
            args += ["--build-arg", f"UV_IMAGE={LOCAL_UV_IMAGE}"]
        if CA_BUNDLE.is_file():
            args += ["--secret", f"id=ca_bundle,src={CA_BUNDLE}"]
        return args

    def build(self, name: str) -> float:
        """Build ``docker/NAME.Dockerfile`` as ``IMAGES[name]``; return the wall time in seconds."""
        started = time.monotonic()
        self(
            "build",
            "--progress=plain",
            "-f",
            str(REPO_ROOT / "docker" / f"{name}.Dockerfile"),
            "-t",
            IMAGES[name],
            *self.build_args(),
            str(REPO_ROOT),
            timeout=BUILD_TIMEOUT_S,
        )
        return time.monotonic() - started


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``docker`` marker here: pyproject.toml is in every image's build context, so
    a change to it would invalidate the cached ``uv sync`` layers."""
    config.addinivalue_line(
        "markers",
        "docker: builds the Docker images and runs them on a Docker engine (scripts/docker.sh)",
    )


@pytest.fixture(scope="session")
def docker() -> Docker:
    """The engine scripts/docker.sh answers with; fails (never skips) if it cannot set one up."""
    try:
        result = subprocess.run(
            ["bash", str(DOCKER_SCRIPT)], capture_output=True, text=True, timeout=1200
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"scripts/docker.sh did not finish in {exc.timeout} s", pytrace=False)
    if result.returncode != 0:
        pytest.fail(
            "tests/docker need a Docker engine, and scripts/docker.sh could not set one up "
            f"(exit {result.returncode}):\n{result.stderr[-4000:]}",
            pytrace=False,
        )
    host = result.stdout.strip().splitlines()[-1]
    # Debian's client first: a newer client without the buildx plugin refuses BuildKit builds.
    binary = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else shutil.which("docker")
    if binary is None:
        pytest.fail("scripts/docker.sh succeeded but no docker CLI is on PATH", pytrace=False)
    return Docker(host=host, binary=binary)


@pytest.fixture(scope="session")
def build_seconds(docker: Docker) -> dict[str, float]:
    """Build the three images, one at a time; wall seconds per image (cached layers reused)."""
    seconds = {name: docker.build(name) for name in IMAGES}
    print("image build wall times (s): " + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items()))
    return seconds


@pytest.fixture
def container_names(docker: Docker) -> Iterator[list[str]]:
    """Names of the containers a test starts: each is removed (with its logs lost) afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        docker("rm", "-f", "-v", name, check=False, timeout=60)
