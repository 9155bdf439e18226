"""The serving image's lock: fully pinned, and computing with the same packages as training."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCK = REPO_ROOT / "serving" / "seldon" / "requirements.txt"

# The packages whose code computes a prediction: the same versions give the same numbers.
SAME_AS_TRAINING = ("torch", "scikit-learn", "pandas", "safetensors")


def _serving_pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in LOCK.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^ \\;]+)", line)
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def _project_lock() -> dict[str, str]:
    lock = tomllib.loads((REPO_ROOT / "uv.lock").read_text())
    return {
        package["name"]: package["version"] for package in lock["package"] if "version" in package
    }


def test_every_requirement_is_pinned_with_hashes() -> None:
    requirements = [
        line for line in LOCK.read_text().splitlines() if re.match(r"^[A-Za-z0-9]", line)
    ]
    assert requirements, "empty lock"
    assert all("==" in line for line in requirements)
    assert LOCK.read_text().count("--hash=sha256:") >= len(requirements)


def test_seldon_core_and_its_constraints_are_pinned() -> None:
    pins = _serving_pins()
    # A lock that asks for plain seldon-core silently resolves to 0.5.0.2 (2019).
    assert pins["seldon-core"] == "1.18.2"
    assert int(pins["numpy"].split(".")[0]) < 2
    # gunicorn 20 imports pkg_resources, which setuptools 81 removed.
    assert int(pins["setuptools"].split(".")[0]) < 81


@pytest.mark.parametrize("package", SAME_AS_TRAINING)
def test_prediction_packages_match_the_project_lock(package: str) -> None:
    assert _serving_pins()[package] == _project_lock()[package], (
        f"{package}: serving/seldon/requirements.in must pin the version of uv.lock; recompile "
        "serving/seldon/requirements.txt after changing it"
    )
