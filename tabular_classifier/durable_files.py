"""Durable file writes for bundle directories: strict JSON, fsync'd files and directories.

``ModelBundle.save`` writes into a temporary directory, syncs every file and the directory, then
renames it into place, so a crash never leaves a half-written bundle under the final name.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def json_bytes(document: dict[str, Any], name: str) -> bytes:
    """``document`` as sorted, indented, strict JSON (no NaN or infinity), UTF-8, newline-ended.

    Raises:
        ValueError: If it holds a value JSON cannot represent; the message names ``name``.
    """
    try:
        text = json.dumps(document, indent=2, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: cannot be written as strict JSON: {exc}") from exc
    return (text + "\n").encode("utf-8")


def write_synced(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` and fsync it before returning.

    Raises:
        OSError: As ``open``, ``write`` and ``os.fsync``.
    """
    with path.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def sync_directory(path: Path) -> None:
    """Flush a directory's entries (a rename is durable only once its directory is; POSIX only).

    Raises:
        OSError: If the directory cannot be opened or synced.
    """
    if os.name == "posix":
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
