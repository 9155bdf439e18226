"""The ``jsonl_webhook`` alerter: alerts appended to a JSON-lines file, optionally POSTed too.

- ``flavors/``: the flavor and its config class (what ZenML registers).
- ``alerters/``: the stack component and its ``post`` parameters (what steps call).
- ``alert_log``: the JSON-lines file itself, with no ZenML in it.
- ``webhook``: the HTTP POST, with no ZenML in it.
"""

from alerters.jsonl_webhook.alert_log import read_alerts

JSONL_WEBHOOK_ALERTER_FLAVOR = "jsonl_webhook"

__all__ = ["JSONL_WEBHOOK_ALERTER_FLAVOR", "read_alerts"]
