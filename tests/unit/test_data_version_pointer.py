"""A DVC-tracked file changed by hand: ``resolve_data_version`` says how to restore or keep it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tabular_classifier.data_version import resolve_data_version
from tabular_classifier.errors import DataValidationError


def test_a_changed_tracked_file_names_dvc_pull_force_with_its_path(tmp_path: Path) -> None:
    # Walkthrough: the error said `dvc pull`, which refuses to overwrite a changed file
    # ("Can't remove the following unsaved files without confirmation. Use --force").
    data = tmp_path / "table.csv"
    data.write_text("a,target\n1,0\n")
    recorded = hashlib.md5(b"a,target\n1,0\n2,1\n").hexdigest()
    (tmp_path / "table.csv.dvc").write_text(
        f"outs:\n- md5: {recorded}\n  size: 16\n  path: table.csv\n"
    )
    with pytest.raises(DataValidationError) as caught:
        resolve_data_version(data)
    message = str(caught.value)
    actual = hashlib.md5(data.read_bytes()).hexdigest()
    assert f"md5 {actual} does not match {tmp_path / 'table.csv.dvc'} ({recorded})" in message
    assert f"run `dvc pull --force {data}`" in message
    assert "to keep the changes as a new data version, `dvc add` it" in message


def test_an_unchanged_tracked_file_gets_its_version(tmp_path: Path) -> None:
    data = tmp_path / "table.csv"
    data.write_text("a,target\n1,0\n")
    recorded = hashlib.md5(data.read_bytes()).hexdigest()
    (tmp_path / "table.csv.dvc").write_text(f"outs:\n- md5: {recorded}\n  path: table.csv\n")
    version = resolve_data_version(data)
    assert version.md5 == recorded and version.size_bytes == 13
