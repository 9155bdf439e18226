"""Issue 12, case 4 and 5: the false md5-change warning and the library noise filters."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import steps.noise as noise
from tabular_classifier.data_version import compile_fingerprint, file_md5, fingerprint_md5


def test_compiled_fingerprint_reads_back_as_the_files_md5(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text("a,b\n1,2\n")
    fingerprint = compile_fingerprint(data)
    assert fingerprint == f"{file_md5(data)}:dvc=False"
    # ingest_data compares this with the file's md5: equal means no "changed" warning.
    assert fingerprint_md5(fingerprint) == file_md5(data)
    (tmp_path / "d.csv.dvc").write_text("outs: []\n")
    assert compile_fingerprint(data) == f"{file_md5(data)}:dvc=True"
    assert compile_fingerprint(tmp_path / "missing.csv") is None


@pytest.mark.parametrize(
    ("logger", "message", "kept"),
    [
        (noise._AUTOLOG_LOGGER, noise._AUTOLOG_MESSAGE, False),
        (
            noise._AUTOLOG_LOGGER,
            "Failed to disable MLflow autologging for the following frameworks: "
            "['fastai', 'sklearn'].",
            True,
        ),
        (noise._WARNINGS_LOGGER, "[ZML002](USAGE) - You are specifying docker settings", False),
        (noise._WARNINGS_LOGGER, "[ZML001](USAGE) - something else", True),
    ],
)
def test_only_the_exact_noise_is_dropped(
    caplog: pytest.LogCaptureFixture, logger: str, message: str, kept: bool
) -> None:
    noise.install()
    noise.install()  # twice: still one filter
    target = logging.getLogger(logger)
    assert sum(getattr(f, "name", None) == "tabular-noise" for f in target.filters) == 1
    with caplog.at_level(logging.WARNING, logger=logger):
        target.warning(message)
    assert (message in caplog.messages) is kept
