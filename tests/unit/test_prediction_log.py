"""The serving prediction log's writer: whole lines, a fresh line after a torn one, mode 0600."""

from __future__ import annotations

import json
import stat
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from serving.prediction_log import JsonlPredictionWriter, uuid4_hex
from tabular_classifier.monitoring.config import WindowConfig
from tabular_classifier.monitoring.window import read_window
from tests.unit.test_monitoring_window import _features, _rows


def _today(directory: Path) -> Path:
    return directory / f"serving-{datetime.now(UTC):%Y-%m-%d}.jsonl"


def test_records_are_whole_lines_in_a_file_only_the_owner_can_read(tmp_path: Path) -> None:
    writer = JsonlPredictionWriter(tmp_path)
    writer.write(_rows(3, "1"))
    writer.write(_rows(2, "1", start=3))
    writer.close()
    path = _today(tmp_path)
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) == 6
    assert [json.loads(line)["prediction_id"] for line in lines[:-1]] == [
        f"1-{i}" for i in range(5)
    ]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_older_world_readable_file_is_made_private(tmp_path: Path) -> None:
    path = _today(tmp_path)
    path.write_text(json.dumps(_rows(1, "1")[0]) + "\n")
    path.chmod(0o644)
    writer = JsonlPredictionWriter(tmp_path)
    writer.write(_rows(1, "1", start=1))
    writer.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_text().splitlines()) == 2


def test_after_a_torn_last_line_the_next_record_starts_a_fresh_line(tmp_path: Path) -> None:
    path = _today(tmp_path)
    whole = json.dumps(_rows(1, "1")[0])
    path.write_text(whole + "\n" + whole[:40])  # a crash cut the second record
    writer = JsonlPredictionWriter(tmp_path)
    writer.write(_rows(4, "1", start=10))
    writer.close()
    lines = path.read_text().splitlines()
    assert lines[1] == whole[:40] and len(lines) == 6
    assert json.loads(lines[2])["prediction_id"] == "1-10"
    # Monitoring skips only the torn line, and names it.
    window, info = read_window(WindowConfig(), tmp_path, _features)
    assert len(window) == 5
    assert info.skipped["total"] == 1
    assert (info.skipped["examples"][0]["kind"], info.skipped["examples"][0]["line"]) == (
        "torn_line",
        2,
    )


def test_each_utc_day_gets_its_own_file_across_midnight(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The day's name is formatted only when a midnight has passed: lines written 0.1 s before
    and after 2026-12-03 00:00 UTC land in two files, and later lines of a day in the same one."""
    from serving import prediction_log

    midnight = datetime(2026, 12, 3, tzinfo=UTC).timestamp()
    clock = iter([midnight - 0.1, midnight - 0.05, midnight + 0.1, midnight + 3600.0])
    monkeypatch.setattr(prediction_log.time, "time", lambda: next(clock))
    writer = JsonlPredictionWriter(tmp_path)
    for start in range(4):
        writer.write(_rows(1, "1", start=start))
    writer.close()
    monkeypatch.undo()
    ids = {
        path.name: [json.loads(line)["prediction_id"] for line in path.read_text().splitlines()]
        for path in sorted(tmp_path.glob("serving-*.jsonl"))
    }
    assert ids == {
        "serving-2026-12-02.jsonl": ["1-0", "1-1"],
        "serving-2026-12-03.jsonl": ["1-2", "1-3"],
    }


def test_ids_are_random_rfc_4122_version_4_uuids() -> None:
    ids = [uuid4_hex() for _ in range(1000)]
    assert len(set(ids)) == 1000
    for value in ids:
        parsed = uuid.UUID(hex=value)
        assert (len(value), parsed.hex, parsed.version, parsed.variant) == (
            32,
            value,
            4,
            uuid.RFC_4122,
        )
