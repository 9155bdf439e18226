"""The outcome of one monitoring run: each check's number against its threshold, and the alerts.

Built from the drift summary and the service-health result, so that a person reading the
``monitoring_outcome`` artifact sees why an alert was (or was not) sent without opening the
other artifacts. The rules are the ones the checks applied: Evidently's per-test rule for drift
(a p-value below the threshold, or a distance at or above it; dataset drift when the share of
drifted features reaches ``drift_share``), the latency SLO (a percentile strictly above its
limit) and the degradation tolerance (a live metric below the test metric minus the tolerance).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from tabular_classifier.monitoring.drift import DriftSummary
from tabular_classifier.monitoring.health import ServiceHealth


@dataclass
class CheckResult:
    """One number a monitoring check compared with its threshold.

    Attributes:
        check: What was checked, e.g. ``dataset drift`` or ``latency p99_ms``.
        status: The check's verdict: ``ok``, ``drift``, ``breached``, ``degraded``,
            ``insufficient_data`` or ``not_configured``.
        observed: The number measured (a share, p-value, distance, milliseconds or a metric),
            or None when there was too little data to measure it.
        threshold: The threshold it was compared with, or None.
        rule: When the check fires, in words (``p_value < threshold``, ``> limit`` ...).
        triggered: Whether this number crossed its threshold.
        note: Why there is no number, or what else decided (rows against a minimum).
    """

    check: str
    status: str
    observed: float | None
    threshold: float | None
    rule: str
    triggered: bool
    note: str = ""


def _stattest_rule(stattest: str) -> str:
    return "p_value < threshold" if "p_value" in stattest else "distance >= threshold"


def drift_checks(summary: DriftSummary) -> list[CheckResult]:
    """Dataset drift and the two prediction-drift tests, with their thresholds.

    Args:
        summary: The ``drift_summary`` artifact.

    Returns:
        Three results; one ``insufficient_data`` result when the window was too small.
    """
    if summary.status == "insufficient_data":
        return [
            CheckResult(
                "drift", summary.status, None, None, "no verdict", False, note=summary.message
            )
        ]
    dataset = CheckResult(
        check="dataset drift",
        status="drift" if summary.dataset_drift else "ok",
        observed=summary.share_of_drifted_columns,
        threshold=summary.drift_share,
        rule="share of drifted features >= threshold",
        triggered=summary.dataset_drift,
        note=f"{len(summary.drifted_columns)} of {len(summary.columns)} features drifted",
    )
    results = [dataset]
    share = summary.prediction.get("positive_share", {})
    shares = (
        f"positive share {share['reference']:.2f} (reference) -> {share['current']:.2f}"
        if share
        else ""
    )
    for key in ("probability", "label"):
        test = summary.prediction[key]
        results.append(
            CheckResult(
                check=f"prediction drift ({key})",
                status="drift" if test["drifted"] else "ok",
                observed=test["score"],
                threshold=test["threshold"],
                rule=f"{test['stattest']}: {_stattest_rule(test['stattest'])}",
                triggered=bool(test["drifted"]),
                note=shares if key == "label" else "",
            )
        )
    return results


def latency_checks(health: ServiceHealth) -> list[CheckResult]:
    """Each latency percentile with an SLO limit, or why none was judged.

    Args:
        health: The ``service_health`` artifact.

    Returns:
        One result per configured limit (``insufficient_data`` with no verdict when the
        window had fewer served requests than the minimum); one ``ok`` result when no limit
        is configured.
    """
    latency = health.latency
    pct = latency["percentiles"]
    n, minimum = int(pct.get("n", 0)), latency.get("min_requests")
    enough = latency["status"] != "insufficient_data"
    note = f"{n} served requests" + (f" (minimum {minimum})" if minimum is not None else "")
    if not latency["slo_ms"]:
        return [CheckResult("latency", latency["status"], None, None, "no limit set", False, note)]
    return [
        CheckResult(
            check=f"latency {key}",
            status=latency["status"] if enough else "insufficient_data",
            observed=pct.get(key) if n else None,
            threshold=limit,
            rule="observed > limit (ms)",
            triggered=key in latency["breaches"],
            note=note,
        )
        for key, limit in latency["slo_ms"].items()
    ]


def degradation_checks(health: ServiceHealth) -> list[CheckResult]:
    """Each live metric against its test value minus the tolerance, or why none was judged.

    Args:
        health: The ``service_health`` artifact.

    Returns:
        One result per metric with a test value; one result without numbers when labels are
        not configured or too few predictions were labelled.
    """
    check = health.degradation
    status = check["status"]
    minimum = check.get("min_rows")
    note = f"{check['labelled_rows']} labelled predictions" + (
        f" (minimum {minimum})" if minimum is not None else ""
    )
    if status == "not_configured":
        return [
            CheckResult(
                "degradation", status, None, None, "no labels", False, "degradation.labels_path"
            )
        ]
    if status == "insufficient_data":
        return [CheckResult("degradation", status, None, None, "no verdict", False, note)]
    tolerance = float(check["tolerance"])
    return [
        CheckResult(
            check=f"live {metric}",
            status="degraded" if metric in check["degraded"] else "ok",
            observed=check["live"].get(metric),
            threshold=base - tolerance,
            rule=f"live < test {base:.4g} - tolerance {tolerance:g}",
            triggered=metric in check["degraded"],
            note=note,
        )
        for metric, base in check["baseline"].items()
    ]


@dataclass
class MonitoringOutcome:
    """The ``monitoring_outcome`` artifact: what one monitoring run decided and did.

    Attributes:
        model_name: The monitored model.
        model_version: The model version whose window was monitored.
        drift_status: The drift summary's status (``ok``, ``drift``, ``insufficient_data``).
        latency_status: The latency check's status.
        degradation_status: The degradation check's status.
        checks: Every number that decided, with its threshold (:class:`CheckResult` dicts).
        alerts: The alerts sent: ``Alert.to_dict()`` plus ``delivered`` (bool).
        report: Where the drift report is: ``{"run_id", "artifact_id", "summary_artifact_id",
            "dashboard"}``.
        retrain: The training run started on drift (``{"run_name", "run_id", "status",
            "returncode", "config_path"}``), or None.
    """

    model_name: str
    model_version: str | None
    drift_status: str
    latency_status: str
    degradation_status: str
    checks: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    report: dict[str, str] = field(default_factory=dict)
    retrain: dict[str, Any] | None = None

    @classmethod
    def build(
        cls,
        summary: DriftSummary,
        health: ServiceHealth,
        alerts: list[dict[str, Any]],
        report: dict[str, str],
        retrain: dict[str, Any] | None,
    ) -> MonitoringOutcome:
        """Assemble the outcome, listing every check of the summary and the health result.

        Args:
            summary: The drift summary.
            health: The service-health result.
            alerts: The alerts sent (dicts with ``delivered``).
            report: Where the drift report is.
            retrain: The retraining record, or None.

        Returns:
            The outcome.
        """
        checks = drift_checks(summary) + latency_checks(health) + degradation_checks(health)
        return cls(
            model_name=summary.model_name,
            model_version=summary.model_version,
            drift_status=summary.status,
            latency_status=str(health.latency["status"]),
            degradation_status=str(health.degradation["status"]),
            checks=[asdict(c) for c in checks],
            alerts=alerts,
            report=report,
            retrain=retrain,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (non-finite floats become None)."""
        from tabular_classifier.monitoring.drift_summary import json_safe

        return dict(json_safe(asdict(self)))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MonitoringOutcome:
        """Inverse of :meth:`to_dict`.

        Raises:
            TypeError: On unknown or missing fields.
        """
        return cls(**data)
