"""The ``jsonl_webhook`` alerter: every alert is kept in a local file before anything else."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, cast

from pydantic import Field
from zenml.alerter.base_alerter import BaseAlerter, BaseAlerterStepParameters
from zenml.logger import get_logger
from zenml.utils import io_utils

from alerters.jsonl_webhook.alert_log import append_alert, encode_alert
from alerters.jsonl_webhook.flavors.jsonl_webhook_alerter_flavor import (
    JsonlWebhookAlerterConfig,
)
from alerters.jsonl_webhook.webhook import post_json

logger = get_logger(__name__)

ALERTS_FILE_NAME = "alerts.jsonl"

Severity = Literal["info", "warning", "critical"]


class JsonlWebhookAlerterParameters(BaseAlerterStepParameters):
    """What a step can attach to an alert besides its message.

    Attributes:
        title: A one-line summary.
        severity: ``info``, ``warning`` or ``critical``.
        details: Structured data (metrics, thresholds, artifact URIs) for whoever reads the alert.
    """

    title: str | None = None
    severity: Severity = "info"
    details: dict[str, Any] = Field(default_factory=dict)


class JsonlWebhookAlerter(BaseAlerter):
    """Append alerts to a JSON-lines file, then POST them to a webhook if one is configured."""

    @property
    def config(self) -> JsonlWebhookAlerterConfig:
        """The flavor's configuration.

        Returns:
            The configuration.
        """
        return cast(JsonlWebhookAlerterConfig, self._config)

    @property
    def alerts_path(self) -> Path:
        """The JSON-lines file this alerter appends to.

        Returns:
            The configured ``path``, else ``alerts.jsonl`` in the ZenML global config directory.
        """
        if self.config.path:
            return Path(self.config.path).expanduser()
        # The directory GlobalConfiguration().config_directory names, without loading (and
        # possibly writing) the global configuration.
        return Path(io_utils.get_global_config_directory()) / ALERTS_FILE_NAME

    def post(self, message: str, params: BaseAlerterStepParameters | None = None) -> bool:
        """Record an alert locally, then send it to the webhook.

        A failure is logged as a warning and reported by the return value, never raised: an
        alert must not fail the step that sends it. The local record is written first, so a
        webhook that is down loses nothing.

        Args:
            message: The alert text.
            params: A :class:`JsonlWebhookAlerterParameters` for title, severity and details;
                other alerter parameters are accepted and ignored.

        Returns:
            True if the alert was written and, when a webhook is configured, delivered.
        """
        record = self._record(message, params)
        try:
            line = encode_alert(record)
        except (TypeError, ValueError):
            # Nested non-string keys or cycles defeat JSON even with default=str.
            record["details"] = {"unencodable": repr(record["details"])}
            line = encode_alert(record)
        ok = True
        try:
            append_alert(self.alerts_path, line)
        except OSError as exc:
            logger.warning("Alerter '%s': could not write %s: %s", self.name, self.alerts_path, exc)
            ok = False
        try:
            url = self.config.webhook_url
        except KeyError as exc:
            logger.warning("Alerter '%s': webhook not called: %s", self.name, exc)
            return False
        if url:
            failure = post_json(url, line, self.config.timeout_s)
            if failure is not None:
                logger.warning(
                    "Alerter '%s': webhook delivery failed (%s); the alert is kept in %s",
                    self.name,
                    failure,
                    self.alerts_path,
                )
                ok = False
        return ok

    def ask(self, question: str, params: BaseAlerterStepParameters | None = None) -> bool:
        """Decline: a file and a one-way webhook cannot collect a human's answer.

        Args:
            question: The question that would have been asked.
            params: Ignored.

        Returns:
            False, so that a step gated on approval takes its "not approved" path.
        """
        logger.warning(
            "Alerter '%s' (%s) cannot ask for approval; treating '%s' as not approved. "
            "Use the slack or discord alerter for interactive approval.",
            self.name,
            self.flavor,
            question,
        )
        return False

    @staticmethod
    def _record(message: str, params: BaseAlerterStepParameters | None) -> dict[str, Any]:
        """The alert as a JSON-ready dict, with the pipeline, run and step when inside one."""
        extra = (
            params
            if isinstance(params, JsonlWebhookAlerterParameters)
            else JsonlWebhookAlerterParameters()
        )
        return {
            "timestamp": datetime.now(UTC).isoformat(),
            "severity": extra.severity,
            "title": extra.title,
            "message": message,
            "details": extra.details,
            **_step_origin(),
        }


def _step_origin() -> dict[str, str | None]:
    """The pipeline, run and step that are sending the alert; all None outside a step."""
    from zenml import get_step_context

    try:
        context = get_step_context()
    except RuntimeError:
        return {"pipeline": None, "run": None, "step": None}
    pipeline = context.pipeline_run.pipeline
    return {
        "pipeline": pipeline.name if pipeline is not None else None,
        "run": context.pipeline_run.name,
        "step": context.step_name,
    }
