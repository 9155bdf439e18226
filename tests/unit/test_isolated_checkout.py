"""The Python offline environment and scripts/env.sh say the same thing."""

from __future__ import annotations

import re
from pathlib import Path

from scripts.isolated_checkout import OFFLINE_ENV, REPO_ROOT


def test_offline_env_matches_env_sh() -> None:
    exported = dict(
        re.findall(
            r"^export ([A-Z_]+)=(\S+)$", (REPO_ROOT / "scripts" / "env.sh").read_text(), re.M
        )
    )
    for key, value in OFFLINE_ENV.items():
        assert exported.get(key) == value, key


def test_repo_root_is_the_checkout() -> None:
    assert (REPO_ROOT / "pyproject.toml").is_file()
    assert Path(__file__).resolve().is_relative_to(REPO_ROOT)
