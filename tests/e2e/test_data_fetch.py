"""``scripts.materialize_data`` on fresh copies of the repository, with real DVC remotes.

Each test copies the checkout like a fresh clone (no data, no DVC cache, an empty local DVC
remote) and runs the script as the benchmarks do: ``.venv/bin/python -m
scripts.materialize_data`` with no venv activated and no ``dvc`` on ``PATH``.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from scripts.isolated_checkout import OFFLINE_ENV, copy_checkout

pytestmark = pytest.mark.e2e

QUICKSTART_MD5 = "5afc23b9622f8f9ffa60824f4e97d0d5"
UNPUSHED_MD5 = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    return copy_checkout(tmp_path / "clone")


def _materialize(clone: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    env.update(OFFLINE_ENV)
    env["PATH"] = "/usr/bin:/bin"
    # The point of running it this way: DVC must come from this interpreter, not from PATH.
    assert shutil.which("dvc", path=env["PATH"]) is None
    return subprocess.run(
        [str(clone / ".venv" / "bin" / "python"), "-m", "scripts.materialize_data", *args],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


def _remote_object(clone: Path, md5: str) -> Path:
    return clone / ".dvc_remote" / "files" / "md5" / md5[:2] / md5[2:]


def test_fresh_clone_exports_the_quickstart_data_then_pulls_it(clone: Path) -> None:
    first = _materialize(clone)
    assert first.returncode == 0, first.stderr
    data = clone / "data" / "breast_cancer.csv"
    assert _md5(data) == QUICKSTART_MD5
    assert (
        "data/breast_cancer.csv: exported (md5 5afc23b9622f8f9ffa60824f4e97d0d5) and pushed to "
        "the DVC remote 'local'" in first.stdout
    )
    assert _md5(_remote_object(clone, QUICKSTART_MD5)) == QUICKSTART_MD5

    data.unlink()
    second = _materialize(clone)
    assert second.returncode == 0, second.stderr
    assert "data/breast_cancer.csv: pulled, md5 5afc23b9622f8f9ffa60824f4e97d0d5" in second.stdout
    assert _md5(data) == QUICKSTART_MD5


def test_data_missing_on_the_remote_is_named_and_no_file_is_left(clone: Path) -> None:
    (clone / "data" / "churn.csv.dvc").write_text(
        f"outs:\n- md5: {UNPUSHED_MD5}\n  size: 10\n  hash: md5\n  path: churn.csv\n"
    )
    result = _materialize(clone, "data/churn.csv.dvc")
    assert result.returncode == 1
    remote = (clone / ".dvc_remote").resolve()
    assert result.stderr.strip() == (
        f"error: data/churn.csv: the DVC remote 'local' ({remote}) has no object for md5 "
        f"{UNPUSHED_MD5} (recorded in data/churn.csv.dvc), and the local DVC cache has none "
        "either. Push it from a clone that has the file (`dvc push data/churn.csv.dvc`), or "
        "point the default remote at storage that has it (`dvc remote list`)"
    )
    assert "Traceback" not in result.stdout + result.stderr
    assert not (clone / "data" / "churn.csv").exists()


def test_quickstart_pointer_the_export_does_not_match_keeps_nothing(clone: Path) -> None:
    pointer = clone / "data" / "breast_cancer.csv.dvc"
    pointer.write_text(pointer.read_text().replace(QUICKSTART_MD5, UNPUSHED_MD5))
    result = _materialize(clone)
    assert result.returncode == 1
    assert f"has no object for md5 {UNPUSHED_MD5}" in result.stdout
    assert (
        f"error: data/breast_cancer.csv: scikit-learn's export has md5 {QUICKSTART_MD5}, not the "
        f"{UNPUSHED_MD5} recorded in data/breast_cancer.csv.dvc, so it was not kept"
    ) in result.stderr
    assert [
        p.name for p in (clone / "data").iterdir() if re.search(r"breast_cancer\.csv", p.name)
    ] == ["breast_cancer.csv.dvc"]


def test_a_file_changed_by_hand_is_reported_and_left_alone(clone: Path) -> None:
    data = clone / "data" / "breast_cancer.csv"
    data.write_text("a,b,target\n1,2,0\n")
    result = _materialize(clone)
    assert result.returncode == 1
    assert re.search(
        r"error: data/breast_cancer\.csv: md5 [0-9a-f]{32} does not match "
        rf"data/breast_cancer\.csv\.dvc \({QUICKSTART_MD5}\); the file was changed by hand",
        result.stderr,
    ), result.stderr
    assert data.read_text() == "a,b,target\n1,2,0\n"


def test_damaged_data_on_the_remote_leaves_no_file(clone: Path) -> None:
    # DVC does not accept the damaged object: the checkout fails and nothing is written.
    assert _materialize(clone).returncode == 0
    data = clone / "data" / "breast_cancer.csv"
    data.unlink()
    shutil.rmtree(clone / ".dvc" / "cache")
    remote_object = _remote_object(clone, QUICKSTART_MD5)
    remote_object.chmod(0o644)
    remote_object.write_text("a,b,target\n1,2,0\n")

    result = _materialize(clone)

    assert result.returncode == 1
    remote = (clone / ".dvc_remote").resolve()
    assert (
        f"error: data/breast_cancer.csv: md5 {QUICKSTART_MD5} could not be pulled from the DVC "
        f"remote 'local' ({remote}): Checkout failed"
    ) in result.stderr, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert [
        p.name for p in (clone / "data").iterdir() if re.search(r"breast_cancer\.csv", p.name)
    ] == ["breast_cancer.csv.dvc"]
