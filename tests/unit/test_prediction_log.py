"""The serving prediction log's writer: whole lines, a fresh line after a torn one, mode 0600."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path

from serving.prediction_log import JsonlPredictionWriter
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
