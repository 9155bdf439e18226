"""The ``jsonl_webhook`` alerter flavor."""

from alerters.jsonl_webhook.flavors.jsonl_webhook_alerter_flavor import (
    JsonlWebhookAlerterConfig,
    JsonlWebhookAlerterFlavor,
)

__all__ = ["JsonlWebhookAlerterConfig", "JsonlWebhookAlerterFlavor"]
