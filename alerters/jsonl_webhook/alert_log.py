"""A JSON-lines alert log: append one record per line, read them all back."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any


def encode_alert(record: dict[str, Any]) -> bytes:
    """One alert as a single JSON line.

    Args:
        record: The alert; values JSON cannot encode (numpy scalars, paths, dates) are written
            as their ``str()`` so that an odd detail never costs the whole alert.

    Returns:
        The UTF-8 line, newline included.

    Raises:
        TypeError: If a mapping has keys JSON cannot encode.
        ValueError: If the record contains a reference cycle.
    """
    return (json.dumps(record, default=str) + "\n").encode()


def append_alert(path: str | Path, line: bytes) -> None:
    """Append one encoded line to the log, creating the file and its folders if needed.

    ``O_APPEND`` puts every write at the current end of the file, and the exclusive lock keeps a
    line from interleaving with another process's line when a write is split (long lines).

    Args:
        path: The JSON-lines file.
        line: One line from :func:`encode_alert`.

    Raises:
        OSError: If the file cannot be created or written.
    """
    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        view = memoryview(line)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def read_alerts(path: str | Path) -> list[dict[str, Any]]:
    """Read every alert of a JSON-lines log, oldest first.

    Args:
        path: The JSON-lines file.

    Returns:
        The alerts; an empty list if the file does not exist yet.

    Raises:
        ValueError: If a line is not a JSON object; the message names the file and line.
    """
    target = Path(path).expanduser()
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    alerts: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{target}:{number}: not valid JSON: {exc}") from exc
        if not isinstance(record, dict):
            raise ValueError(f"{target}:{number}: expected a JSON object per line")
        alerts.append(record)
    return alerts
