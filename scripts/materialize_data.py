"""Make the DVC-tracked quickstart data present and verified: ``data/breast_cancer.csv``.

1. If the file is there and its md5 matches ``data/breast_cancer.csv.dvc``, do nothing.
2. Else ``dvc pull`` it from the default remote (a local folder, ``.dvc_remote/``, by default).
3. Else (a fresh clone: the remote is empty) re-export it from the copy that ships inside
   scikit-learn. The export is byte-for-byte reproducible with the pandas pinned in uv.lock, so
   its md5 must equal the one committed in the ``.dvc`` file; then ``dvc add`` + ``dvc push``
   fill the cache and the remote.

Exit code 0 when the file is present and matches its pointer, 1 otherwise.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tabular_classifier.data_version import file_md5, read_dvc_md5
from tabular_classifier.datasets import export_breast_cancer_csv

DATA_FILE = Path("data/breast_cancer.csv")
DVC_FILE = DATA_FILE.with_name(DATA_FILE.name + ".dvc")


def _matches(expected: str) -> bool:
    return DATA_FILE.is_file() and file_md5(DATA_FILE) == expected


def _dvc(*args: str) -> bool:
    result = subprocess.run(["dvc", *args], capture_output=True, text=True)
    return result.returncode == 0


def main() -> int:
    """Run the three stages above; see the module docstring."""
    expected = read_dvc_md5(DVC_FILE)
    if _matches(expected):
        print(f"{DATA_FILE}: present, md5 {expected} matches {DVC_FILE}")
        return 0
    print(f"{DATA_FILE}: pulling from the DVC remote")
    if _dvc("pull", "-q", str(DVC_FILE)) and _matches(expected):
        print(f"{DATA_FILE}: pulled, md5 {expected}")
        return 0
    print(
        f"{DATA_FILE}: the DVC remote has no copy yet (normal on a fresh clone); "
        "re-exporting it from scikit-learn"
    )
    md5 = export_breast_cancer_csv(DATA_FILE)
    if md5 != expected:
        print(
            f"error: {DATA_FILE}: exported md5 {md5} differs from {DVC_FILE} ({expected}); "
            "is the environment the one pinned by uv.lock (`uv sync --frozen`)?",
            file=sys.stderr,
        )
        return 1
    if _dvc("add", "-q", str(DATA_FILE)) and _dvc("push", "-q", str(DVC_FILE)):
        print(f"{DATA_FILE}: exported (md5 {md5}) and pushed to the DVC remote")
    else:
        print(f"{DATA_FILE}: exported (md5 {md5}); pushing to the DVC remote failed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
