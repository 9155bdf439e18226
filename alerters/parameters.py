"""Map a monitoring alert onto the parameters of whichever alerter flavor the stack has.

Steps build an alert (title, severity, details) and call :func:`alert_parameters`; only this
module knows which flavor takes which parameters. Flavors with no richer parameters (for example
ZenML's slack or discord alerters used with plain text) get ZenML's base parameters, and the
whole alert travels in the message text.
"""

from __future__ import annotations

from typing import Any, Literal

from zenml.alerter.base_alerter import BaseAlerter, BaseAlerterStepParameters


def alert_parameters(
    alerter: BaseAlerter,
    title: str,
    severity: Literal["info", "warning", "critical"],
    details: dict[str, Any],
) -> BaseAlerterStepParameters:
    """The step parameters for ``alerter.post`` that carry ``title``, ``severity`` and ``details``.

    Args:
        alerter: The active stack's alerter component.
        title: One-line alert title.
        severity: ``warning`` or ``critical``.
        details: JSON-safe structured details (what the alert is about, numbers, report location).

    Returns:
        ``JsonlWebhookAlerterParameters`` for our ``jsonl_webhook`` flavor (every field is kept
        in the alert record); ZenML's ``BaseAlerterStepParameters`` for any other flavor.
    """
    if alerter.flavor == "jsonl_webhook":
        from alerters.jsonl_webhook.alerters import JsonlWebhookAlerterParameters

        return JsonlWebhookAlerterParameters(title=title, severity=severity, details=details)
    return BaseAlerterStepParameters()
