"""ZenML's cache on the probe stack: an entry whose artifacts are gone or changed is not reused.

The probe stack and model are the training-state tests' own (``tests/e2e/probe.py``), so deleting
artifacts cannot disturb the other tests' stack.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.probe import Probe, assert_every_version_complete, newest_entry, state

pytestmark = pytest.mark.e2e

CACHED_STEPS = ("ingest_data", "validate_data", "split_data", "train_model", "evaluate_model")


def test_deleted_artifacts_are_not_reused_and_the_same_command_succeeds(
    probe: Probe, zenml_client: Any
) -> None:
    before = state(zenml_client, probe)
    for step in CACHED_STEPS:
        shutil.rmtree(probe.store / step)

    output = probe.train()

    for step in CACHED_STEPS:
        assert re.search(
            rf"Cache entry of step {step} \(from run \S+\) is not reused: artifact "
            r"\S+: \S+ is missing\. The step will run again\.",
            output,
        ), step
        assert f"Using cached version of step {step}" not in output
    for step in CACHED_STEPS:
        assert newest_entry(zenml_client, step).status == "completed"
    after = state(zenml_client, probe)
    assert len(after.versions) == len(before.versions) + 1
    assert len(after.registry_versions) == len(before.registry_versions) + 1
    assert_every_version_complete(zenml_client)


def test_a_changed_artifact_file_is_not_reused(probe: Probe, zenml_client: Any) -> None:
    # The first check of an entry records its files' checksums; make sure it has happened.
    for _ in range(2):
        output = probe.train()
        split = newest_entry(zenml_client, "split_data").outputs["data_split"][0]
        recorded = zenml_client.get_artifact_version(split.id).run_metadata.get("integrity")
        if recorded:
            break
    assert recorded, "no checksums recorded for data_split"
    assert "Using cached version of step split_data" in output
    relative, expected = next(iter(recorded["files"].items()))
    data_file = Path(split.uri) / relative
    assert data_file.stat().st_size == expected["size"]
    data = bytearray(data_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    data_file.write_bytes(bytes(data))

    output = probe.train()

    assert re.search(
        r"Cache entry of step split_data \(from run \S+\) is not reused: artifact data_split: "
        rf"\S+/{re.escape(relative)} has changed: {expected['size']} bytes, SHA-256 ",
        output,
    ), output[-3000:]
    assert "Using cached version of step split_data" not in output
    assert "Using cached version of step ingest_data" in output
    assert_every_version_complete(zenml_client)
