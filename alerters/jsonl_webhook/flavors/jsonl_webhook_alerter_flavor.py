"""The ``jsonl_webhook`` alerter flavor and its configuration."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field
from zenml.alerter.base_alerter import BaseAlerterConfig, BaseAlerterFlavor
from zenml.utils.secret_utils import SecretField

from alerters.jsonl_webhook import JSONL_WEBHOOK_ALERTER_FLAVOR

if TYPE_CHECKING:
    from alerters.jsonl_webhook.alerters import JsonlWebhookAlerter


class JsonlWebhookAlerterConfig(BaseAlerterConfig):
    """Configuration of the jsonl_webhook alerter.

    Attributes:
        path: The JSON-lines file alerts are appended to. Defaults to `alerts.jsonl` in the
            ZenML global config directory of the process that runs the step.
        webhook_url: An http(s) URL that also receives each alert as a JSON POST. Webhook URLs
            carry tokens, so this is a secret: reference it as `{{secret_name.key}}`.
        timeout_s: Seconds to wait for the webhook, per connect and per read.
    """

    path: str | None = None
    webhook_url: str | None = SecretField(default=None)
    timeout_s: float = Field(default=5.0, gt=0)

    @property
    def is_local(self) -> bool:
        """The alert log is a file on the machine that runs the step.

        Returns:
            True.
        """
        return True


class JsonlWebhookAlerterFlavor(BaseAlerterFlavor):
    """Alerts to a local JSON-lines file, and optionally to a webhook."""

    @property
    def name(self) -> str:
        """The flavor name used in stack files.

        Returns:
            ``jsonl_webhook``.
        """
        return JSONL_WEBHOOK_ALERTER_FLAVOR

    @property
    def config_class(self) -> type[JsonlWebhookAlerterConfig]:
        """The configuration class.

        Returns:
            :class:`JsonlWebhookAlerterConfig`.
        """
        return JsonlWebhookAlerterConfig

    @property
    def implementation_class(self) -> type[JsonlWebhookAlerter]:
        """The stack component class, imported lazily like ZenML's own flavors do.

        Returns:
            :class:`~alerters.jsonl_webhook.alerters.JsonlWebhookAlerter`.
        """
        from alerters.jsonl_webhook.alerters import JsonlWebhookAlerter

        return JsonlWebhookAlerter
