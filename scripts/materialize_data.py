"""Make DVC-tracked data files present and verified against their ``.dvc`` pointers.

``python -m scripts.materialize_data [FILE ...]`` takes data files or their ``.dvc`` pointers
(default: the quickstart data, ``data/breast_cancer.csv``). For each:

1. If the file is there and its md5 matches the pointer, nothing is done.
2. If the file is there with other bytes, it is left alone and reported: it was changed by hand
   (``dvc add`` it to track the change, or delete it to get the tracked version).
3. If the pointer's object is in the local DVC cache or the default DVC remote, it is pulled
   (``Repo.pull``: fetch, then checkout) and checked.
4. Otherwise the message names the file, the md5 and the remote that lacks it. Only for the
   quickstart data, the copy that ships inside scikit-learn is exported instead, and kept only
   if its md5 equals the pointer's (the export is byte-for-byte reproducible with the pandas
   pinned in uv.lock); it is then committed to the DVC cache and pushed to the remote.

With ``--push [URL]`` each file, once present and matching, is also pushed to the DVC remote at
URL (default: ``$TABULAR_DVC_REMOTE``, else ``s3://BUCKET/dvc`` for the bucket of the active
stack's S3 artifact store), with the endpoint and keys of
the active ZenML stack's S3 artifact store: the remote that step containers and pods pull from
(``tabular_classifier/data_source.py``; ``stacks/docker.yaml``, ``stacks/cloud.yaml``).

A file that does not match its pointer is never left behind: downloads and exports are checked
and removed on a mismatch. DVC is used through its Python API, from this interpreter, so the
script works as ``.venv/bin/python -m scripts.materialize_data`` without an activated venv.

Exit code 0 when every file is present and matches its pointer, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dvc.exceptions import DvcException
from dvc.repo import Repo

from tabular_classifier.data_source import (
    DVC_REMOTE_ENV,
    S3Access,
    push_tracked,
    stack_dvc_remote,
    stack_s3_access,
)
from tabular_classifier.data_version import file_md5, read_dvc_md5
from tabular_classifier.datasets import export_breast_cancer_csv
from tabular_classifier.errors import DataValidationError

REPO_ROOT = Path(__file__).resolve().parents[1]
QUICKSTART_DATA = Path("data/breast_cancer.csv")


class MaterializeError(RuntimeError):
    """A data file that cannot be made to match its pointer; the message says why."""


@dataclass(frozen=True)
class Pointer:
    """A DVC-tracked data file and what its ``.dvc`` file records.

    Attributes:
        data: The data file, relative to the repository root.
        dvc: Its ``.dvc`` pointer file.
        md5: The md5 the pointer records.
    """

    data: Path
    dvc: Path
    md5: str


def _pointer(arg: str) -> Pointer:
    path = Path(arg)
    data = path.with_suffix("") if path.suffix == ".dvc" else path
    dvc = data.with_name(data.name + ".dvc")
    if not (REPO_ROOT / dvc).is_file():
        raise MaterializeError(f"{data}: no DVC pointer {dvc}")
    return Pointer(data=data, dvc=dvc, md5=read_dvc_md5(REPO_ROOT / dvc))


def _remote(repo: Any) -> tuple[str, str, Any]:
    """The default remote's name, URL and object database.

    Raises:
        MaterializeError: If no default remote is configured.
    """
    name = repo.config["core"].get("remote")
    if not name:
        raise MaterializeError(
            "no default DVC remote is configured (.dvc/config); add one with "
            "`dvc remote add -d NAME URL`"
        )
    url = str(repo.config["remote"].get(name, {}).get("url", ""))
    try:
        return name, url, repo.cloud.get_remote_odb(name, hash_name="md5")
    except Exception as exc:
        raise MaterializeError(
            f"the DVC remote '{name}' ({url}) cannot be opened: {type(exc).__name__}: {exc}"
        ) from exc


def materialize(pointer: Pointer, repo: Any) -> str:
    """Make one data file present and matching its pointer (see the module docstring).

    Args:
        pointer: The file and its pointer.
        repo: The project's ``dvc.repo.Repo``.

    Returns:
        What was done, in one line.

    Raises:
        MaterializeError: If the file cannot be made to match its pointer; no mismatched file is
            left behind.
    """
    target = REPO_ROOT / pointer.data
    if target.is_file():
        md5 = file_md5(target)
        if md5 == pointer.md5:
            return f"{pointer.data}: present, md5 {md5} matches {pointer.dvc}"
        raise MaterializeError(
            f"{pointer.data}: md5 {md5} does not match {pointer.dvc} ({pointer.md5}); the file "
            f"was changed by hand and is left as it is: `dvc add {pointer.data}` to track the "
            "change, or delete it and run this again to get the tracked version"
        )
    name, url, remote = _remote(repo)
    try:
        in_remote = remote.exists(pointer.md5)
    except Exception as exc:
        raise MaterializeError(
            f"{pointer.data}: the DVC remote '{name}' ({url}) cannot be read: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    if in_remote or repo.cache.local.exists(pointer.md5):
        how = f"pulled from the DVC remote '{name}' ({url})"
        try:
            repo.pull(targets=[str(REPO_ROOT / pointer.dvc)])
        except DvcException as exc:
            target.unlink(missing_ok=True)
            raise MaterializeError(
                f"{pointer.data}: md5 {pointer.md5} could not be {how}: {exc}"
            ) from exc
        _check_or_remove(pointer, how)
        return f"{pointer.data}: pulled, md5 {pointer.md5}"
    missing = (
        f"{pointer.data}: the DVC remote '{name}' ({url}) has no object for md5 {pointer.md5} "
        f"(recorded in {pointer.dvc}), and the local DVC cache has none either"
    )
    if pointer.data != QUICKSTART_DATA:
        raise MaterializeError(
            f"{missing}. Push it from a clone that has the file (`dvc push {pointer.dvc}`), or "
            "point the default remote at storage that has it (`dvc remote list`)"
        )
    print(f"{missing}; exporting it from scikit-learn")
    exported = _export_quickstart_data(pointer)
    repo.commit(str(REPO_ROOT / pointer.dvc), force=True)
    try:
        repo.push(targets=[str(REPO_ROOT / pointer.dvc)])
    except Exception as exc:  # noqa: BLE001 - the file is good; the remote can be filled later
        return (
            f"{pointer.data}: exported (md5 {exported}); pushing it to the DVC remote '{name}' "
            f"failed ({type(exc).__name__}: {exc}): run `dvc push {pointer.dvc}`"
        )
    return f"{pointer.data}: exported (md5 {exported}) and pushed to the DVC remote '{name}'"


def _export_quickstart_data(pointer: Pointer) -> str:
    """Export scikit-learn's copy next to the target and keep it only if its md5 matches.

    Raises:
        MaterializeError: If the export's md5 differs from the pointer's (the export is removed).
    """
    target = REPO_ROOT / pointer.data
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        md5 = export_breast_cancer_csv(partial)
        if md5 != pointer.md5:
            raise MaterializeError(
                f"{pointer.data}: scikit-learn's export has md5 {md5}, not the {pointer.md5} "
                f"recorded in {pointer.dvc}, so it was not kept. The pointer was made from other "
                "bytes: push them from a clone that has them (`dvc push`)"
            )
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return md5


def _check_or_remove(pointer: Pointer, how: str) -> None:
    target = REPO_ROOT / pointer.data
    if not target.is_file():
        raise MaterializeError(f"{pointer.data}: {how}, yet the file is not there")
    md5 = file_md5(target)
    if md5 != pointer.md5:
        target.unlink()
        raise MaterializeError(
            f"{pointer.data}: {how} with md5 {md5}, not the {pointer.md5} recorded in "
            f"{pointer.dvc}; removed it. The remote holds damaged data"
        )


def main(argv: list[str] | None = None) -> int:
    """Entry point; see the module docstring.

    Returns:
        0 when every file is present and matches its pointer, 1 otherwise.
    """
    parser = argparse.ArgumentParser(prog="python -m scripts.materialize_data")
    parser.add_argument(
        "files",
        nargs="*",
        default=[str(QUICKSTART_DATA)],
        help=f"data files or .dvc pointers, relative to the repository (default {QUICKSTART_DATA})",
    )
    parser.add_argument(
        "--push",
        nargs="?",
        const="",
        default=None,
        metavar="URL",
        help=f"also push each file to the DVC remote URL (default ${DVC_REMOTE_ENV}, else "
        "s3://BUCKET/dvc of the active stack's S3 artifact store), with that store's endpoint "
        "and keys",
    )
    args = parser.parse_args(argv)
    push_url = None
    if args.push is not None:
        push_url = args.push or os.environ.get(DVC_REMOTE_ENV) or stack_dvc_remote()
        if not push_url:
            parser.error(f"--push needs a URL, {DVC_REMOTE_ENV}, or a stack with an S3 store")
    access = S3Access()
    if push_url and push_url.startswith("s3://"):
        access = stack_s3_access()

    failed = 0
    with Repo(str(REPO_ROOT)) as repo:
        for arg in args.files:
            try:
                pointer = _pointer(arg)
                print(materialize(pointer, repo))
                if push_url:
                    # The cache must hold the object (a file that was already present may not).
                    repo.commit(str(REPO_ROOT / pointer.dvc), force=True)
                    count = push_tracked(REPO_ROOT, pointer.data, push_url, access)
                    print(f"{pointer.data}: pushed to {push_url} ({count} new objects)")
            except (MaterializeError, DataValidationError) as exc:
                print(f"error: {exc}", file=sys.stderr)
                failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
