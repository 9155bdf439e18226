"""`python -m stacks apply`: idempotent registration and refusal of bad stack files."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacks import StackSpecError, apply_stack
from tests.e2e.workspace import Workspace

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, spec: dict[str, Any]) -> Path:
    path = tmp_path / "stack.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _base(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "components": {
            "orchestrator": {"name": f"{name}_orchestrator", "flavor": "local"},
            "artifact_store": {"name": f"{name}_store", "flavor": "local"},
        },
    }


def test_applying_local_stack_twice_changes_nothing(zenml_client: Any) -> None:
    apply_stack(REPO_ROOT / "stacks" / "local.yaml", activate=False)
    first = zenml_client.get_stack("local")
    ids = {t: [c.id for c in cs] for t, cs in first.components.items()}
    apply_stack(REPO_ROOT / "stacks" / "local.yaml", activate=False)
    second = zenml_client.get_stack("local")
    assert second.id == first.id
    assert {t: [c.id for c in cs] for t, cs in second.components.items()} == ids
    assert {str(t) for t in ids} >= {
        "orchestrator",
        "artifact_store",
        "experiment_tracker",
        "model_registry",
        "model_deployer",
        "data_validator",
    }


@pytest.mark.parametrize(
    ("mutate", "key"),
    [
        (
            lambda s: s["components"].update(
                {"experiment_tracker": {"name": "bad_tracker", "flavor": "no_such_flavor"}}
            ),
            "components.experiment_tracker.flavor",
        ),
        (
            lambda s: s["components"].update(
                {"container_registry": {"name": "bad_registry", "flavor": "default"}}
            ),
            "components.container_registry.configuration.uri",
        ),
        (
            lambda s: s["components"].update(
                {
                    "experiment_tracker": {
                        "name": "bad_tracker",
                        "flavor": "mlflow",
                        "configuration": {
                            "tracking_uri": "http://127.0.0.1:5000",
                            "tracking_password": "hunter2",
                        },
                    }
                }
            ),
            "components.experiment_tracker.configuration.tracking_password",
        ),
        (
            lambda s: s["components"]["artifact_store"].update({"configuration": {"pth": "/x"}}),
            "components.artifact_store.configuration.pth",
        ),
        (lambda s: s.update({"stack_name": "oops"}), "stack_name"),
        (
            lambda s: s["components"].update({"orchestrater": s["components"]["orchestrator"]}),
            "components.orchestrater",
        ),
    ],
    ids=[
        "unknown-flavor",
        "missing-required-setting",
        "plain-text-secret",
        "unknown-setting",
        "unknown-top-level-key",
        "unknown-component-type",
    ],
)
def test_bad_stack_file_is_refused_before_registering(
    zenml_client: Any, tmp_path: Path, mutate: Any, key: str
) -> None:
    spec = _base("refused")
    mutate(spec)
    path = _write(tmp_path, spec)
    with pytest.raises(StackSpecError) as err:
        apply_stack(path, activate=False)
    assert str(path) in str(err.value)
    assert f"key '{key}'" in str(err.value)
    with pytest.raises(KeyError):
        zenml_client.get_stack("refused")
    for component in ("refused_orchestrator", "refused_store"):
        assert not zenml_client.list_stack_components(name=component).items


def _s3_store(configuration: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "refused_store",
        "flavor": "s3",
        "configuration": {"path": "s3://bucket/zenml", **configuration},
    }


@pytest.mark.parametrize(
    ("configuration", "key", "words"),
    [
        (
            {"client_kwargs": {"aws_access_key_id": "AKIAPLAIN", "endpoint_url": "http://x"}},
            "components.artifact_store.configuration.client_kwargs.aws_access_key_id",
            "credential written in plain text",
        ),
        (
            {"authentication_secret": "no_such_secret"},
            "components.artifact_store.configuration.authentication_secret",
            "secret 'no_such_secret' does not exist",
        ),
        (
            {"path": "/not/s3"},
            "components.artifact_store.configuration",
            "s3://",
        ),
    ],
    ids=["nested-plain-text-credential", "named-secret-missing", "flavor-check"],
)
def test_s3_store_settings_are_refused_before_registering(
    zenml_client: Any, tmp_path: Path, configuration: dict[str, Any], key: str, words: str
) -> None:
    spec = _base("refused")
    spec["components"]["artifact_store"] = _s3_store(configuration)
    path = _write(tmp_path, spec)
    with pytest.raises(StackSpecError) as err:
        apply_stack(path, activate=False)
    assert f"key '{key}'" in str(err.value) and words in str(err.value)
    assert not zenml_client.list_stack_components(name="refused_store").items


def test_empty_variable_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = _base("refused")
    spec["components"]["artifact_store"]["configuration"] = {"path": "${TABULAR_EMPTY_VAR}"}
    monkeypatch.setenv("TABULAR_EMPTY_VAR", "")
    with pytest.raises(StackSpecError, match="'TABULAR_EMPTY_VAR' is empty"):
        apply_stack(_write(tmp_path, spec), activate=False)


def test_a_setting_removed_from_the_file_is_removed_from_the_component(
    zenml_client: Any, tmp_path: Path
) -> None:
    spec = _base("shrinking")
    spec["components"]["artifact_store"]["configuration"] = {"path": str(tmp_path / "store")}
    apply_stack(_write(tmp_path, spec), activate=False)
    store = zenml_client.get_stack_component("artifact_store", "shrinking_store")
    assert store.configuration["path"] == str(tmp_path / "store")
    del spec["components"]["artifact_store"]["configuration"]
    apply_stack(_write(tmp_path, spec), activate=False)
    store = zenml_client.get_stack_component("artifact_store", "shrinking_store")
    assert store.configuration.get("path") != str(tmp_path / "store")


def _relative_stack(name: str, store: str) -> dict[str, Any]:
    return {
        "name": name,
        "components": {
            "orchestrator": {"name": f"{name}_orchestrator", "flavor": "local"},
            "artifact_store": {
                "name": f"{name}_store",
                "flavor": "local",
                "configuration": {"path": store},
            },
            "experiment_tracker": {"name": f"{name}_tracker", "flavor": "mlflow"},
            "model_registry": {"name": f"{name}_registry", "flavor": "mlflow"},
        },
    }


def test_relative_path_outside_a_repository_is_refused(zenml_client: Any, tmp_path: Path) -> None:
    path = _write(tmp_path, _relative_stack("refused", "data/artifacts"))
    with pytest.raises(StackSpecError) as err:
        apply_stack(path, activate=False)
    assert str(err.value).startswith(
        f"{path}: key 'components.artifact_store.configuration.path': relative path "
        "'data/artifacts', and the stack file is in no ZenML repository"
    )
    assert not zenml_client.list_stack_components(name="refused_store").items


def test_relative_path_applied_from_outside_the_repository_then_a_run_works(
    workspace: Workspace, zenml_client: Any, tmp_path: Path
) -> None:
    stack_file = workspace.root / "stacks" / "relative.yaml"
    stack_file.write_text(yaml.safe_dump(_relative_stack("relative", ".artifacts/relative")))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**workspace.env, "PYTHONPATH": str(workspace.root)}
    command = [str(workspace.root / ".venv" / "bin" / "python"), "-m", "stacks", "apply"]

    outside = subprocess.run(
        [*command, str(stack_file)], cwd=elsewhere, env=env, capture_output=True, text=True
    )

    assert outside.returncode == 0, outside.stderr
    absolute = str(workspace.root / ".artifacts" / "relative")
    assert (
        f"note: {stack_file}: key 'components.artifact_store.configuration.path': "
        f"'.artifacts/relative' registered as {absolute}"
    ) in outside.stderr
    assert "stack 'relative' registered and active in the global ZenML configuration (" in (
        outside.stdout
    )
    assert (
        f"warning: {elsewhere} is in no ZenML repository, so runs in the repository of "
        f"{stack_file} ({workspace.root}) keep their own active stack. To use 'relative' there, "
        "run `zenml stack set relative` (or this command) inside it."
    ) in outside.stderr
    store = zenml_client.get_stack_component("artifact_store", "relative_store")
    assert store.configuration["path"] == absolute
    repository_config = yaml.safe_load((workspace.root / ".zen" / "config.yaml").read_text())
    assert repository_config["active_stack_id"] == str(zenml_client.get_stack("local").id)

    inside = workspace.run("python", "-m", "stacks", "apply", "stacks/relative.yaml")
    try:
        assert (
            f"stack 'relative' registered and active in the ZenML repository {workspace.root} "
            "(commands run inside it use it)"
        ) in inside.stdout
        assert "warning:" not in inside.stderr
        config = workspace.write_config(
            "relative",
            {
                "parameters": {"model_name": "relative_stack_classifier"},
                "settings": {"experiment_tracker.mlflow": {"experiment_name": "relative-stack"}},
            },
        )
        workspace.zenml_pipeline_run(config)
    finally:
        workspace.run("zenml", "stack", "set", "local")
    version = zenml_client.get_model_version("relative_stack_classifier", "1")
    classifier = version.get_artifact("classifier")
    assert classifier.uri.startswith(f"{absolute}/train_model/")
    assert (Path(absolute) / "mlflow.db").is_file()
