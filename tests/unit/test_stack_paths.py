"""Relative local paths in stack files: resolved against the file's ZenML repository."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stacks import StackSpecError, load_stack_spec


def _stack_file(folder: Path, configuration: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "stack.yaml"
    spec = {
        "name": "paths",
        "components": {
            "orchestrator": {"name": "o", "flavor": "local"},
            "artifact_store": {"name": "a", "flavor": "local", "configuration": configuration},
        },
    }
    path.write_text(yaml.safe_dump(spec))
    return path


def test_relative_path_is_resolved_against_the_repository_of_the_stack_file(
    tmp_path: Path,
) -> None:
    (tmp_path / ".zen").mkdir()
    path = _stack_file(tmp_path / "stacks" / "team", {"path": "data/artifacts"})
    spec = load_stack_spec(path)
    absolute = str(tmp_path.resolve() / "data" / "artifacts")
    assert spec.components["artifact_store"].configuration["path"] == absolute
    assert spec.resolved_paths == [
        ("components.artifact_store.configuration.path", "data/artifacts", absolute)
    ]


@pytest.mark.parametrize(
    "value", ["/srv/artifacts", "s3://bucket/zenml", "{{secret.path}}"], ids=str
)
def test_absolute_paths_uris_and_secret_references_stay_as_written(
    tmp_path: Path, value: str
) -> None:
    spec = load_stack_spec(_stack_file(tmp_path, {"path": value}))
    assert spec.components["artifact_store"].configuration["path"] == value
    assert spec.resolved_paths == []


def test_home_relative_path_is_expanded(tmp_path: Path) -> None:
    spec = load_stack_spec(_stack_file(tmp_path, {"path": "~/artifacts"}))
    assert spec.components["artifact_store"].configuration["path"] == str(Path.home() / "artifacts")


def test_relative_path_in_no_repository_is_refused_naming_the_key(tmp_path: Path) -> None:
    path = _stack_file(tmp_path / "loose", {"path": "artifacts"})
    with pytest.raises(StackSpecError) as err:
        load_stack_spec(path)
    assert str(err.value).startswith(
        f"{path}: key 'components.artifact_store.configuration.path': relative path 'artifacts'"
    )
