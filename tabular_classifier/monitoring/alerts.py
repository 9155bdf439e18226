"""The alerts a monitoring run calls for, as plain records an alerter can send."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from tabular_classifier.monitoring.drift import DriftSummary
from tabular_classifier.monitoring.health import ServiceHealth

MAX_LISTED_COLUMNS = 10


@dataclass
class Alert:
    """One alert.

    Attributes:
        kind: ``drift``, ``latency`` or ``degradation``.
        severity: ``warning`` or ``critical``.
        title: One line.
        message: The facts, in words: what, how much, which window, which model version, and
            where the report is.
        details: The same facts, structured.
    """

    kind: str
    severity: Literal["warning", "critical"]
    title: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary."""
        return asdict(self)


def _window_text(window: dict[str, Any]) -> str:
    span = f"{window.get('start')} .. {window.get('end')}" if window.get("start") else "no times"
    sampled = f", {window.get('rows_used')} sampled" if window.get("sampled") else ""
    return f"{window.get('rows_in_window', 0)} predictions, {span}{sampled}"


def drift_alert(summary: DriftSummary, report: dict[str, str]) -> Alert | None:
    """The drift alert, if the summary shows dataset or prediction drift.

    Args:
        summary: The drift summary.
        report: Where the report is: ``{"artifact_id", "summary_artifact_id", "dashboard",
            "run_id"}`` (values may be empty strings when unknown).

    Returns:
        None when ``summary.status`` is not ``drift`` (``ok`` or ``insufficient_data``).
    """
    if summary.status != "drift":
        return None
    drifted = [
        {
            "column": c,
            "score": summary.columns[c]["score"],
            "stattest": summary.columns[c]["stattest"],
            "threshold": summary.columns[c]["threshold"],
        }
        for c in summary.drifted_columns
    ]
    listed = ", ".join(f"{d['column']} ({d['score']:.3g})" for d in drifted[:MAX_LISTED_COLUMNS])
    if len(drifted) > MAX_LISTED_COLUMNS:
        listed += f", and {len(drifted) - MAX_LISTED_COLUMNS} more"
    probability = summary.prediction["probability"]
    share = summary.prediction["positive_share"]
    what = []
    if summary.dataset_drift:
        what.append("dataset drift")
    if summary.prediction_drift:
        what.append("prediction drift")
    message = "\n".join(
        [
            f"{' and '.join(what).capitalize()} for model {summary.model_name} "
            f"version {summary.model_version}.",
            f"Drifted features: {len(drifted)} of {len(summary.columns)} "
            f"(share {summary.share_of_drifted_columns:.2f}, threshold {summary.drift_share}): "
            f"{listed or 'none'}.",
            f"Prediction drift score: {probability['score']:.4g} ({probability['stattest']}, "
            f"threshold {probability['threshold']}); positive share {share['reference']:.2f} "
            f"-> {share['current']:.2f} "
            f"(label drift score {summary.prediction['label']['score']:.4g}).",
            f"Window: {_window_text(summary.window)}.",
            f"Report: artifact {report.get('artifact_id') or '?'}, dashboard "
            f"{report.get('dashboard') or '?'}.",
        ]
    )
    return Alert(
        kind="drift",
        severity="critical" if summary.dataset_drift and summary.prediction_drift else "warning",
        title=f"Drift: {summary.model_name} v{summary.model_version}: {' + '.join(what)}",
        message=message,
        details={
            "model_name": summary.model_name,
            "model_version": summary.model_version,
            "dataset_drift": summary.dataset_drift,
            "prediction_drift": summary.prediction_drift,
            "drifted_columns": drifted,
            "share_of_drifted_columns": summary.share_of_drifted_columns,
            "prediction_drift_score": probability["score"],
            "prediction": summary.prediction,
            "window": summary.window,
            "report": report,
        },
    )


def latency_alert(
    health: ServiceHealth, window: dict[str, Any], report: dict[str, str]
) -> Alert | None:
    """The latency alert, if the SLO was breached.

    Args:
        health: The service-health result.
        window: The window's description.
        report: Where the report is (see :func:`drift_alert`).

    Returns:
        None unless ``health.latency["status"] == "breached"``.
    """
    check = health.latency
    if check["status"] != "breached":
        return None
    broken = ", ".join(
        f"{k[:-3]} {v['observed']:.1f} ms > {v['limit']:.1f} ms"
        for k, v in check["breaches"].items()
    )
    pct = check["percentiles"]
    return Alert(
        kind="latency",
        severity="warning",
        title=f"Latency SLO breached: {health.model_name} v{health.model_version}: {broken}",
        message=(
            f"Latency SLO breached for model {health.model_name} version {health.model_version}: "
            f"{broken}.\nWindow: {_window_text(window)}; {pct['n']} served requests: p50 "
            f"{pct['p50_ms']:.1f} ms, p95 {pct['p95_ms']:.1f} ms, p99 {pct['p99_ms']:.1f} ms.\n"
            f"Report: dashboard {report.get('dashboard') or '?'}."
        ),
        details={
            "latency": check,
            "window": window,
            "model_version": health.model_version,
            "report": report,
        },
    )


def degradation_alert(
    health: ServiceHealth, window: dict[str, Any], report: dict[str, str]
) -> Alert | None:
    """The degradation alert, if a live metric fell below its test value minus the tolerance.

    Args:
        health: The service-health result.
        window: The window's description.
        report: Where the report is (see :func:`drift_alert`).

    Returns:
        None unless ``health.degradation["status"] == "degraded"``.
    """
    check = health.degradation
    if check["status"] != "degraded":
        return None
    fell = ", ".join(
        f"{m} {v['live']:.3f} (test {v['baseline']:.3f}, -{v['drop']:.3f})"
        for m, v in check["degraded"].items()
    )
    return Alert(
        kind="degradation",
        severity="critical",
        title=f"Model degradation: {health.model_name} v{health.model_version}: {fell}",
        message=(
            f"Live quality of model {health.model_name} version {health.model_version} fell "
            f"more than {check['tolerance']} below its test metrics on {check['labelled_rows']} "
            f"labelled predictions: {fell}.\nWindow: {_window_text(window)}; labels: "
            f"{check['labels_path']}.\nReport: dashboard {report.get('dashboard') or '?'}."
        ),
        details={
            "degradation": check,
            "window": window,
            "model_version": health.model_version,
            "report": report,
        },
    )
