"""The ``jsonl_webhook`` alerter stack component."""

from alerters.jsonl_webhook.alerters.jsonl_webhook_alerter import (
    JsonlWebhookAlerter,
    JsonlWebhookAlerterParameters,
)

__all__ = ["JsonlWebhookAlerter", "JsonlWebhookAlerterParameters"]
