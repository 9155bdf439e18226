"""The custom jsonl_webhook alerter flavor: registered by the stack file, used by a real step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from alerters.jsonl_webhook import read_alerts
from alerters.jsonl_webhook.flavors import JsonlWebhookAlerterFlavor
from scripts.isolated_checkout import REPO_ROOT
from stacks import StackSpecError, apply_stack
from tests.e2e.workspace import ZENML_HOME, Workspace

pytestmark = pytest.mark.e2e

FLAVOR_SOURCE = (
    "alerters.jsonl_webhook.flavors.jsonl_webhook_alerter_flavor.JsonlWebhookAlerterFlavor"
)

SMOKE_PIPELINE = """
from zenml import pipeline, step
from zenml.client import Client

from alerters.jsonl_webhook.alerters import JsonlWebhookAlerterParameters


@step(enable_cache=False)
def send_alert() -> bool:
    params = JsonlWebhookAlerterParameters(
        title="E2E alert", severity="warning", details={"rows": 3, "psi": 0.25}
    )
    return Client().active_stack.alerter.post("sent from a step", params)


@pipeline(enable_cache=False)
def alerter_smoke() -> None:
    send_alert()


if __name__ == "__main__":
    alerter_smoke()
"""


class RefusedAlerterFlavor(JsonlWebhookAlerterFlavor):
    """A custom flavor that only ever appears in files that must be refused."""

    @property
    def name(self) -> str:
        return "refused_jsonl"


def _write(tmp_path: Path, spec: dict[str, Any]) -> Path:
    path = tmp_path / "stack.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_local_stack_has_the_alerter_of_the_custom_flavor(zenml_client: Any) -> None:
    from zenml.enums import StackComponentType

    stack = zenml_client.get_stack("local")
    (alerter,) = stack.components[StackComponentType.ALERTER]
    assert (alerter.name, alerter.flavor_name) == ("local_alerter", "jsonl_webhook")
    (flavor,) = zenml_client.list_flavors(name="jsonl_webhook", hydrate=True).items
    assert flavor.type == StackComponentType.ALERTER
    assert flavor.is_custom
    assert flavor.source == FLAVOR_SOURCE


def test_reapplying_keeps_the_registered_flavor(zenml_client: Any) -> None:
    (before,) = zenml_client.list_flavors(name="jsonl_webhook").items
    apply_stack(REPO_ROOT / "stacks" / "local.yaml", activate=False)
    apply_stack(REPO_ROOT / "stacks" / "local.yaml", activate=False)
    (after,) = zenml_client.list_flavors(name="jsonl_webhook").items
    assert (after.id, after.updated) == (before.id, before.updated)


def test_reapplying_brings_a_stale_flavor_up_to_date(zenml_client: Any) -> None:
    from zenml.models import FlavorUpdate

    (flavor,) = zenml_client.list_flavors(name="jsonl_webhook").items
    zenml_client.zen_store.update_flavor(
        flavor_id=flavor.id,
        flavor_update=FlavorUpdate(source="alerters.old_place.Flavor", config_schema={}),
    )
    apply_stack(REPO_ROOT / "stacks" / "local.yaml", activate=False)
    (after,) = zenml_client.list_flavors(name="jsonl_webhook", hydrate=True).items
    assert after.id == flavor.id
    assert after.source == FLAVOR_SOURCE
    assert after.config_schema == JsonlWebhookAlerterFlavor().config_schema


def test_a_step_posts_through_the_stack_alerter(workspace: Workspace, zenml_client: Any) -> None:
    script = workspace.root / "alerter_smoke.py"
    script.write_text(SMOKE_PIPELINE)
    workspace.run("python", script.name)

    run = zenml_client.get_pipeline("alerter_smoke").last_run
    assert run.steps["send_alert"].output.load() is True
    sent = [a for a in read_alerts(ZENML_HOME / "alerts.jsonl") if a["run"] == run.name]
    assert len(sent) == 1
    assert {k: v for k, v in sent[0].items() if k != "timestamp"} == {
        "severity": "warning",
        "title": "E2E alert",
        "message": "sent from a step",
        "details": {"rows": 3, "psi": 0.25},
        "pipeline": "alerter_smoke",
        "run": run.name,
        "step": "send_alert",
    }


def test_missing_webhook_secret_keeps_the_record_and_returns_false(
    zenml_client: Any, tmp_path: Path
) -> None:
    from datetime import UTC, datetime
    from uuid import uuid4

    from zenml.enums import StackComponentType

    from alerters.jsonl_webhook.alerters import JsonlWebhookAlerter
    from alerters.jsonl_webhook.flavors import JsonlWebhookAlerterConfig

    path = tmp_path / "alerts.jsonl"
    now = datetime.now(UTC)
    alerter = JsonlWebhookAlerter(
        name="secretless",
        id=uuid4(),
        config=JsonlWebhookAlerterConfig(
            path=str(path), webhook_url="{{no_such_secret.url}}", timeout_s=1
        ),
        flavor="jsonl_webhook",
        type=StackComponentType.ALERTER,
        user=None,
        created=now,
        updated=now,
    )
    assert alerter.post("kept anyway") is False
    assert [a["message"] for a in read_alerts(path)] == ["kept anyway"]


_REFUSED = f"{__name__}.RefusedAlerterFlavor"


@pytest.mark.parametrize(
    ("flavors", "alerter_config", "key"),
    [
        (["no_such_package.AlerterFlavor"], {}, "flavors[0]"),
        ([_REFUSED, "alerters.jsonl_webhook.read_alerts"], {}, "flavors[1]"),
        (["zenml.alerter.base_alerter.BaseAlerterFlavor"], {}, "flavors[0]"),
        ([_REFUSED, _REFUSED], {}, "flavors[1]"),
        (["zenml.orchestrators.LocalOrchestratorFlavor"], {}, "flavors[0]"),
        ([_REFUSED], {"timeout_s": 0}, "components.alerter.configuration.timeout_s"),
        (
            [_REFUSED],
            {"webhook_url": "https://hooks.example.com/T0/B0/token"},
            "components.alerter.configuration.webhook_url",
        ),
        ([], {}, "components.alerter.flavor"),
    ],
    ids=[
        "unimportable",
        "not-a-flavor",
        "abstract-flavor",
        "declared-twice",
        "shadows-built-in",
        "bad-setting",
        "plain-text-webhook-secret",
        "flavor-not-declared",
    ],
)
def test_bad_flavor_or_alerter_is_refused_before_registering(
    zenml_client: Any,
    tmp_path: Path,
    flavors: list[str],
    alerter_config: dict[str, Any],
    key: str,
) -> None:
    spec = {
        "name": "refused_alerting",
        "flavors": flavors,
        "components": {
            "orchestrator": {"name": "refused_alerting_orchestrator", "flavor": "local"},
            "artifact_store": {"name": "refused_alerting_store", "flavor": "local"},
            "alerter": {
                "name": "refused_alerting_alerter",
                "flavor": "refused_jsonl",
                "configuration": alerter_config,
            },
        },
    }
    path = _write(tmp_path, spec)
    with pytest.raises(StackSpecError) as err:
        apply_stack(path, activate=False)
    assert str(path) in str(err.value)
    assert f"key '{key}'" in str(err.value)
    assert not zenml_client.list_flavors(name="refused_jsonl").items
    with pytest.raises(KeyError):
        zenml_client.get_stack("refused_alerting")
    for component in ("orchestrator", "store", "alerter"):
        assert not zenml_client.list_stack_components(name=f"refused_alerting_{component}").items
