"""stacks/cloud.yaml validates offline, and `python -m stacks` refuses broken copies of it.

The integrations' libraries (kubernetes, seldon, slack) are not installed; ZenML's flavor
registry still knows their flavors and config classes, which is what validation uses. ZenML
runs in one subprocess with a throwaway global config, so no test touches the user's store.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacks import StackSpecError, defaulted_variables, load_stack_spec

ROOT = Path(__file__).resolve().parents[2]
CLOUD = ROOT / "stacks" / "cloud.yaml"
CLOUD_VARIABLES = (
    "KUBERNETES_CONTEXT",
    "TABULAR_ECR_REGISTRY",
    "TABULAR_S3_BUCKET",
    "MLFLOW_TRACKING_URI",
    "SELDON_INGRESS_URL",
    "SLACK_CHANNEL_ID",
)
REQUIRED_FLAVORS = {
    "orchestrator": {"kubernetes"},
    "artifact_store": {"s3"},
    "experiment_tracker": {"mlflow"},
    "model_registry": {"mlflow"},
    "model_deployer": {"seldon"},
    "container_registry": {"aws", "default"},
    "image_builder": {"kaniko", "local"},
    "alerter": {"slack"},
}
Mutation = Callable[[dict[str, Any]], None]


def _config(spec: dict[str, Any], ctype: str) -> dict[str, Any]:
    return spec["components"][ctype].setdefault("configuration", {})


# name -> (mutation of cloud.yaml, text the error must contain: the key, and why)
BROKEN: dict[str, tuple[Mutation, list[str]]] = {
    "plain_slack_token": (
        lambda s: _config(s, "alerter").update(slack_token="xoxb-0000-plain"),
        ["components.alerter.configuration.slack_token", "plain text"],
    ),
    "plain_s3_secret": (
        lambda s: _config(s, "artifact_store").update(secret="wJalrXUtnFEMI/K7MDENG"),
        ["components.artifact_store.configuration.secret", "plain text"],
    ),
    "plain_mlflow_password": (
        lambda s: _config(s, "experiment_tracker").update(tracking_password="hunter2"),
        ["components.experiment_tracker.configuration.tracking_password", "plain text"],
    ),
    "unknown_flavor": (
        lambda s: s["components"]["orchestrator"].update(flavor="kubernetes_v2"),
        ["components.orchestrator.flavor", "unknown orchestrator flavor 'kubernetes_v2'"],
    ),
    "missing_s3_path": (
        lambda s: _config(s, "artifact_store").pop("path"),
        ["components.artifact_store.configuration.path", "required"],
    ),
    "missing_seldon_base_url": (
        lambda s: _config(s, "model_deployer").pop("base_url"),
        ["components.model_deployer.configuration.base_url", "required"],
    ),
    "missing_kaniko_context": (
        lambda s: _config(s, "image_builder").pop("kubernetes_context"),
        ["components.image_builder.configuration.kubernetes_context", "required"],
    ),
    "unknown_setting": (
        lambda s: _config(s, "orchestrator").update(namespace="zenml"),
        ["components.orchestrator.configuration.namespace", "not a setting"],
    ),
    "bad_registry_uri": (
        lambda s: _config(s, "container_registry").update(uri="example.com/team/repo"),
        ["components.container_registry.configuration.uri"],
    ),
}

PROBE = r"""
import contextlib, io, json, sys
from zenml.client import Client
from stacks import StackSpecError, check_secrets_exist, load_stack_spec, validate_against_zenml
from stacks.cli import main


def probe():
    files = json.loads(sys.argv[1])
    out = {"validate": {}, "secrets": []}
    for name, path in files.items():
        try:
            validate_against_zenml(load_stack_spec(path), path)
            out["validate"][name] = None
        except StackSpecError as exc:
            out["validate"][name] = str(exc)

    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        out["cli_rc"] = main(["validate", files["cloud"]])
    out["cli_stderr"] = stderr.getvalue()

    spec = load_stack_spec(files["cloud"])
    client = Client()
    steps = [
        None,
        ("s3_credentials", {"aws_access_key_id": "k", "aws_secret_access_key": "s"}),
        ("mlflow_credentials", {"username": "u"}),
    ]
    for step in steps:
        if step is not None:
            client.create_secret(name=step[0], values=step[1])
        try:
            check_secrets_exist(spec, "cloud.yaml")
            out["secrets"].append(None)
        except StackSpecError as exc:
            out["secrets"].append(str(exc))
    out["stacks"] = [s.name for s in client.list_stacks().items]
    out["components"] = [c.name for c in client.list_stack_components().items]
    json.dump(out, sys.stdout)


probe()
"""


@pytest.fixture(scope="module")
def cloud_spec() -> dict[str, Any]:
    return yaml.safe_load(CLOUD.read_text())


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory, cloud_spec: dict[str, Any]) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("cloud_stack")
    files = {"cloud": str(CLOUD), "local": str(ROOT / "stacks" / "local.yaml")}
    for name, (mutate, _) in BROKEN.items():
        broken = copy.deepcopy(cloud_spec)
        mutate(broken)
        path = work / f"{name}.yaml"
        path.write_text(yaml.safe_dump(broken))
        files[name] = str(path)
    script = work / "probe_stacks.py"
    script.write_text(PROBE)
    env = {k: v for k, v in os.environ.items() if k not in CLOUD_VARIABLES}
    env.update(
        PYTHONPATH=str(ROOT),
        ZENML_CONFIG_PATH=str(work / "zenml-config"),
        ZENML_ANALYTICS_OPT_IN="false",
        ZENML_LOGGING_VERBOSITY="ERROR",
    )
    env.pop("ZENML_STORE_URL", None)
    # The probe runs in the repository (stack files resolve against it), and ZenML's Client
    # rewrites the repository's .zen/config.yaml with the throwaway store's project and stack:
    # the user's next run would then fall back to the 'default' stack. Put the file back.
    repo_config = ROOT / ".zen" / "config.yaml"
    saved = repo_config.read_bytes() if repo_config.is_file() else None
    try:
        result = subprocess.run(
            [sys.executable, str(script), json.dumps(files)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        if saved is not None:
            repo_config.write_bytes(saved)
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_cloud_stack_validates_offline(probe: dict[str, Any]) -> None:
    assert probe["validate"]["cloud"] is None
    assert probe["validate"]["local"] is None


def test_validate_command_succeeds_and_names_defaults_and_secrets(probe: dict[str, Any]) -> None:
    assert probe["cli_rc"] == 0, probe["cli_stderr"]
    for variable in CLOUD_VARIABLES:
        assert variable in probe["cli_stderr"]
    for secret in ("s3_credentials", "mlflow_credentials", "slack_credentials"):
        assert secret in probe["cli_stderr"]


def test_validation_registers_nothing(probe: dict[str, Any]) -> None:
    assert "cloud" not in probe["stacks"]
    assert not {"k8s_orchestrator", "kaniko_builder", "seldon_deployer"} & set(probe["components"])


def test_cloud_stack_has_every_required_component(cloud_spec: dict[str, Any]) -> None:
    components = cloud_spec["components"]
    for ctype, flavors in REQUIRED_FLAVORS.items():
        assert ctype in components, f"no {ctype}"
        assert components[ctype]["flavor"] in flavors, (ctype, components[ctype]["flavor"])


def test_credentials_are_secret_references_only(cloud_spec: dict[str, Any]) -> None:
    sensitive = {
        ("artifact_store", "key"),
        ("artifact_store", "secret"),
        ("experiment_tracker", "tracking_username"),
        ("experiment_tracker", "tracking_password"),
        ("alerter", "slack_token"),
    }
    for ctype, setting in sensitive:
        value = cloud_spec["components"][ctype]["configuration"][setting]
        assert value.startswith("{{") and value.endswith("}}"), (ctype, setting, value)


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_copies_are_refused_naming_the_key(probe: dict[str, Any], name: str) -> None:
    message = probe["validate"][name]
    assert message is not None, f"{name} was accepted"
    for expected in BROKEN[name][1]:
        assert expected in message, message


def test_apply_checks_each_referenced_secret_and_key_first(probe: dict[str, Any]) -> None:
    no_secrets, without_mlflow, without_password = probe["secrets"]
    assert no_secrets is not None and "'s3_credentials' does not exist" in no_secrets
    assert "components.artifact_store.configuration.key" in no_secrets
    assert without_mlflow is not None and "'mlflow_credentials' does not exist" in without_mlflow
    assert without_password is not None
    assert "components.experiment_tracker.configuration.tracking_password" in without_password
    assert "has no key 'password'" in without_password


def test_environment_overrides_the_example_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in CLOUD_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    assert defaulted_variables(CLOUD) == sorted(CLOUD_VARIABLES)
    monkeypatch.setenv("TABULAR_S3_BUCKET", "acme-ml")
    monkeypatch.setenv("KUBERNETES_CONTEXT", "")  # empty falls back, as in a shell
    spec = load_stack_spec(CLOUD)
    assert spec.components["artifact_store"].configuration["path"] == "s3://acme-ml/zenml"
    context = spec.components["orchestrator"].configuration["kubernetes_context"]
    assert context == "arn:aws:eks:eu-west-1:123456789012:cluster/mlops"
    assert "TABULAR_S3_BUCKET" not in defaulted_variables(CLOUD)
    assert "KUBERNETES_CONTEXT" in defaulted_variables(CLOUD)


def test_a_variable_without_default_must_be_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TABULAR_TEST_UNSET", raising=False)
    path = tmp_path / "stack.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "s",
                "components": {
                    "orchestrator": {"name": "o", "flavor": "local"},
                    "artifact_store": {
                        "name": "a",
                        "flavor": "local",
                        "configuration": {"path": "${TABULAR_TEST_UNSET}"},
                    },
                },
            }
        )
    )
    with pytest.raises(StackSpecError, match="components.artifact_store.configuration.path"):
        load_stack_spec(path)
