"""Data versioning: which bytes a run trained on, as DVC and git know them.

A DVC-tracked file ``data/x.csv`` has a pointer file ``data/x.csv.dvc`` committed to git that
holds the md5 of the file's bytes. :func:`resolve_data_version` hashes the file, compares the
hash with the pointer and returns everything a run needs to record to be reproducible.
"""

from __future__ import annotations

import configparser
import hashlib
import subprocess
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from tabular_classifier.errors import DataValidationError

_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class DataVersion:
    """The identity of a training data file.

    Attributes:
        path: The file path as configured.
        md5: md5 hex digest of the file's bytes (the hash DVC uses for single files).
        size_bytes: File size in bytes.
        dvc_tracked: Whether a ``<path>.dvc`` pointer file exists beside the file.
        dvc_file: The pointer file's path, or ``None``.
        dvc_remote: The URL of the repository's default DVC remote, or ``None``.
        git_commit: ``git rev-parse HEAD`` of the checkout, or ``"unknown"`` outside git.
        git_dirty: Whether the checkout had uncommitted changes to tracked files.
    """

    path: str
    md5: str
    size_bytes: int
    dvc_tracked: bool
    dvc_file: str | None
    dvc_remote: str | None
    git_commit: str
    git_dirty: bool

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict of all fields."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DataVersion:
        """Inverse of :meth:`to_dict`.

        Raises:
            ValueError: If a field is missing or unknown (naming them).
        """
        expected = set(cls.__dataclass_fields__)
        if set(data) != expected:
            raise ValueError(f"data version: expected keys {sorted(expected)}, got {sorted(data)}")
        return cls(**data)


def file_md5(path: str | Path) -> str:
    """Hash a file in 1 MiB chunks (bounded memory for any file size).

    Args:
        path: The file.

    Returns:
        The md5 hex digest (32 characters).
    """
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def compile_fingerprint(path: str | Path) -> str | None:
    """The data file's identity when a pipeline is compiled: ``"<md5>:dvc=<tracked>"``.

    Part of ``ingest_data``'s cache key, so new bytes, or starting to track the file with DVC,
    re-ingest. :func:`fingerprint_md5` reads the md5 back.

    Args:
        path: The data file.

    Returns:
        The fingerprint; when only the file's ``.dvc`` pointer exists (the data lives in a DVC
        remote), the pointer's md5, which the file will have once pulled; None when neither
        exists or the pointer is invalid (ingestion then reports it).
    """
    file = Path(path)
    pointer = file.with_name(file.name + ".dvc")
    if not file.is_file():
        if not pointer.is_file():
            return None
        try:
            return f"{read_dvc_md5(pointer)}:dvc=True"
        except DataValidationError:
            return None
    return f"{file_md5(file)}:dvc={pointer.is_file()}"


def fingerprint_md5(fingerprint: str) -> str:
    """The md5 part of a :func:`compile_fingerprint` value (all of it for a bare md5)."""
    return fingerprint.partition(":")[0]


def read_dvc_md5(dvc_file: str | Path) -> str:
    """Read the md5 that a DVC pointer file records for its single output.

    Args:
        dvc_file: A ``*.dvc`` file as written by ``dvc add``.

    Returns:
        The recorded md5 hex digest.

    Raises:
        DataValidationError: If the pointer file is not a valid single-output DVC file.
    """
    try:
        content = yaml.safe_load(Path(dvc_file).read_text())
        return str(content["outs"][0]["md5"])
    except (OSError, yaml.YAMLError, KeyError, IndexError, TypeError) as exc:
        raise DataValidationError(
            str(dvc_file), None, f"not a valid DVC pointer file ({exc})"
        ) from exc


def _find_dvc_root(start: Path) -> Path | None:
    for candidate in [start, *start.parents]:
        if (candidate / ".dvc" / "config").is_file():
            return candidate
    return None


def default_dvc_remote(start: str | Path) -> str | None:
    """Return the URL of the default remote in the DVC repository containing ``start``.

    Reads ``.dvc/config`` (and ``.dvc/config.local``, which overrides it, as DVC does) without
    importing DVC, which costs about a second.

    Args:
        start: A path inside the repository.

    Returns:
        The remote URL as written in the config (relative URLs are resolved against ``.dvc/``,
        as DVC resolves them), or ``None`` if there is no repository or no default remote.
    """
    root = _find_dvc_root(Path(start).resolve())
    if root is None:
        return None
    parser = configparser.ConfigParser()
    parser.read([root / ".dvc" / "config", root / ".dvc" / "config.local"])
    remote = parser.get("core", "remote", fallback=None)
    if not remote:
        return None
    url = parser.get(f"'remote \"{remote}\"'", "url", fallback=None)
    if url is None:
        return None
    if "://" not in url and not Path(url).is_absolute():
        url = str((root / ".dvc" / url).resolve())
    return url


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def resolve_git_commit(start: str | Path = ".") -> str:
    """``git rev-parse HEAD`` of the checkout containing ``start``, or ``"unknown"``."""
    return _git(["rev-parse", "HEAD"], Path(start).resolve()) or "unknown"


def resolve_data_version(
    path: str | Path, *, recorded_path: str | None = None, dvc_remote: str | None = None
) -> DataVersion:
    """Hash a data file and check it against its DVC pointer file, if it has one.

    Args:
        path: The data file (CSV or Parquet).
        recorded_path: The path to record (the configured, repository-relative one); ``path``
            by default.
        dvc_remote: The DVC remote the file was pulled from; by default the repository's
            default remote (``.dvc/config``).

    Returns:
        The file's :class:`DataVersion`.

    Raises:
        DataValidationError: If the file is missing, or its md5 differs from the one its
            ``.dvc`` file records (the file was edited without ``dvc add``, or not pulled).
    """
    file_path = Path(path)
    if not file_path.is_file():
        raise DataValidationError(
            str(path),
            None,
            "file not found (for the quickstart data run `uv run python -m "
            "scripts.materialize_data`; for other DVC-tracked data, `dvc pull`)",
        )
    md5 = file_md5(file_path)
    dvc_file = file_path.with_name(file_path.name + ".dvc")
    tracked = dvc_file.is_file()
    if tracked:
        expected = read_dvc_md5(dvc_file)
        if expected != md5:
            raise DataValidationError(
                str(path),
                None,
                f"md5 {md5} does not match {dvc_file} ({expected}): the file was changed "
                f"after `dvc add`. To restore the tracked version and discard the changes, "
                f"run `dvc pull --force {path}` (plain `dvc pull` refuses to overwrite a "
                "changed file); to keep the changes as a new data version, `dvc add` it",
            )
    parent = file_path.resolve().parent
    commit = _git(["rev-parse", "HEAD"], parent) or "unknown"
    status = _git(["status", "--porcelain", "--untracked-files=no"], parent)
    return DataVersion(
        path=recorded_path or str(path),
        md5=md5,
        size_bytes=file_path.stat().st_size,
        dvc_tracked=tracked,
        dvc_file=str(dvc_file) if tracked else None,
        dvc_remote=dvc_remote or default_dvc_remote(parent),
        git_commit=commit,
        git_dirty=bool(status),
    )
