"""Markdown views of the monitoring artifacts, as the ZenML dashboard shows them.

Each view leads with the verdict, then a table of the numbers that decided it beside their
thresholds, so that a person can tell from the dashboard alone why a run alerted or not.
"""

from __future__ import annotations

from typing import Any

from tabular_classifier.monitoring.drift import DriftSummary
from tabular_classifier.monitoring.health import ServiceHealth
from tabular_classifier.monitoring.outcome import MonitoringOutcome
from tabular_classifier.monitoring.window import WindowInfo


def fmt(value: Any) -> str:
    """A number for a table cell: 4 significant digits; empty for None."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def _yes(flag: bool) -> str:
    return "**yes**" if flag else "no"


def drift_markdown(summary: DriftSummary) -> str:
    """The drift summary as Markdown: verdict, window, prediction drift, drifted columns.

    Args:
        summary: The summary.

    Returns:
        Markdown text.
    """
    window = summary.window
    lines = [
        f"# Drift summary: {summary.model_name} version {summary.model_version}",
        "",
        f"**Status: {summary.status}**. {summary.message}",
        "",
        f"- Window: {window.get('rows_in_window', 0)} rows ({window.get('start')} .. "
        f"{window.get('end')}), {window.get('rows_used', 0)} used"
        + (" (sampled)" if window.get("sampled") else ""),
        f"- Reference: {summary.reference_rows} rows (the model version's training split)",
    ]
    if summary.status == "insufficient_data":
        return "\n".join(lines) + "\n"
    lines += [
        f"- Dataset drift: **{summary.dataset_drift}** (share of drifted features "
        f"{summary.share_of_drifted_columns:.2f}, threshold {summary.drift_share})",
        f"- Prediction drift: **{summary.prediction_drift}**",
        "",
        "| column | test | threshold | score | drifted |",
        "|---|---|---|---|---|",
    ]
    rows = [summary.prediction["probability"], summary.prediction["label"]]
    rows += sorted(summary.columns.values(), key=lambda c: not c["drifted"])
    for row in rows:
        lines.append(
            f"| {row['column']} | {row['stattest']} | {fmt(row['threshold'])} | "
            f"{fmt(row['score'])} | {_yes(row['drifted'])} |"
        )
    quality = summary.data_quality
    if any(quality.values()):
        lines += ["", "## Data quality", ""]
        for column, share in quality.get("missing_values", {}).items():
            lines.append(f"- `{column}`: {share:.2%} missing")
        for column, info in quality.get("out_of_range", {}).items():
            lines.append(
                f"- `{column}`: {info['count']} values ({info['share']:.2%}) outside the "
                f"reference range [{info['reference_min']:.4g}, {info['reference_max']:.4g}]"
            )
        for column, count in quality.get("new_categories", {}).items():
            lines.append(f"- `{column}`: {count} categories not in the reference")
    return "\n".join(lines) + "\n"


def health_markdown(health: ServiceHealth) -> str:
    """The service-health result as Markdown: latency against the SLO, live quality.

    Args:
        health: The result.

    Returns:
        Markdown text with two tables: each percentile against its limit (milliseconds), and
        each live metric against its test value minus the tolerance.
    """
    latency, degradation = health.latency, health.degradation
    pct = latency["percentiles"]
    n = int(pct.get("n", 0))
    min_requests = latency.get("min_requests")
    lines = [
        f"# Service health: {health.model_name} version {health.model_version}",
        "",
        f"## Latency: {latency['status']}",
        "",
        f"{n} served requests in the window"
        + (f"; a verdict needs at least {min_requests}." if min_requests is not None else "."),
        "",
        "| percentile | observed (ms) | limit (ms) | breached |",
        "|---|---|---|---|",
    ]
    for key in ("p50_ms", "p95_ms", "p99_ms"):
        limit = latency["slo_ms"].get(key)
        lines.append(
            f"| {key[:-3]} | {fmt(pct.get(key)) if n else ''} | "
            f"{fmt(limit) if limit is not None else 'none'} | "
            f"{_yes(key in latency['breaches'])} |"
        )
    min_rows = degradation.get("min_rows")
    lines += [
        "",
        f"## Degradation: {degradation['status']}",
        "",
    ]
    if degradation["status"] == "not_configured":
        lines.append("No ground-truth labels configured (`degradation.labels_path`).")
        return "\n".join(lines) + "\n"
    tolerance = float(degradation["tolerance"])
    lines += [
        f"{degradation['labelled_rows']} labelled predictions ({degradation['labels_path']})"
        + (f"; a verdict needs at least {min_rows}." if min_rows is not None else "."),
        "",
        f"| metric | live | test | alert below (test - {tolerance:g}) | degraded |",
        "|---|---|---|---|---|",
    ]
    for metric, base in degradation["baseline"].items():
        lines.append(
            f"| {metric} | {fmt(degradation['live'].get(metric))} | {fmt(base)} | "
            f"{fmt(base - tolerance)} | {_yes(metric in degradation['degraded'])} |"
        )
    return "\n".join(lines) + "\n"


def window_markdown(info: WindowInfo) -> str:
    """The current window as Markdown: its rows and time span against the window settings.

    Args:
        info: The window's description.

    Returns:
        Markdown text: a table of rows in the window, rows used and latency sample against
        ``min_rows``, ``max_rows`` and ``last_n``, then the files read.
    """
    selection = info.selection
    min_rows, max_rows = selection.get("min_rows"), selection.get("max_rows")
    enough = min_rows is None or info.rows_in_window >= min_rows
    pct = info.latency
    lines = [
        f"# Current window: model version {info.model_version}",
        "",
        f"{info.rows_in_window} predictions from {info.start} to {info.end}; "
        f"{info.rows_used} compared with the reference"
        + (" (a uniform sample)." if info.sampled else "."),
        "",
        "| quantity | value | setting | effect |",
        "|---|---|---|---|",
        f"| rows in the window | {info.rows_in_window} | min_rows {fmt(min_rows)} | "
        + ("enough for a drift verdict |" if enough else "**too few: no drift verdict** |"),
        f"| rows compared | {info.rows_used} | max_rows {fmt(max_rows) or 'none'} | "
        + (f"sampled (seed {selection.get('sample_seed')}) |" if info.sampled else "all rows |"),
        f"| selection | | last_n {fmt(selection.get('last_n')) or 'none'}, since "
        f"{fmt(selection.get('since')) or 'none'}, until {fmt(selection.get('until')) or 'none'} "
        f"| rows of model version {info.model_version} |",
        f"| served requests | {int(pct.get('n', 0))} | | p50 {fmt(pct.get('p50_ms'))} ms, "
        f"p95 {fmt(pct.get('p95_ms'))} ms, p99 {fmt(pct.get('p99_ms'))} ms |",
    ]
    if info.other_versions:
        others = ", ".join(f"version {v}: {n} rows" for v, n in info.other_versions.items())
        lines += ["", f"Left out (other model versions): {others}."]
    lines += ["", f"## Files read ({len(info.sources)})", ""]
    lines += [f"- `{source}`" for source in info.sources]
    return "\n".join(lines) + "\n"


def outcome_markdown(outcome: MonitoringOutcome) -> str:
    """The monitoring outcome as Markdown: the alerts sent and every check behind them.

    Args:
        outcome: The outcome.

    Returns:
        Markdown text: the alerts, a table of each check's number against its threshold, the
        retraining run and where the drift report is.
    """
    sent = outcome.alerts
    lines = [
        f"# Monitoring outcome: {outcome.model_name} version {outcome.model_version}",
        "",
        f"**{len(sent)} alert{'s' if len(sent) != 1 else ''} sent** (drift "
        f"{outcome.drift_status}, latency {outcome.latency_status}, degradation "
        f"{outcome.degradation_status}).",
        "",
    ]
    for alert in sent:
        delivered = "delivered" if alert.get("delivered") else "**not delivered**"
        lines.append(f"- {alert['severity']}: {alert['title']} ({delivered})")
    if not any(check["triggered"] for check in outcome.checks):
        lines.append("No check crossed its threshold.")
    lines += [
        "",
        "| check | status | observed | threshold | fires when | crossed | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for check in outcome.checks:
        lines.append(
            f"| {check['check']} | {check['status']} | {fmt(check['observed'])} | "
            f"{fmt(check['threshold'])} | {check['rule']} | {_yes(check['triggered'])} | "
            f"{check['note']} |"
        )
    if outcome.retrain is not None:
        retrain = outcome.retrain
        lines += [
            "",
            f"Retraining run `{retrain['run_name']}`: {retrain['status']} "
            f"(run id {retrain['run_id'] or 'none'}).",
        ]
    report = outcome.report
    if report.get("artifact_id"):
        lines += [
            "",
            f"Drift report: artifact `{report['artifact_id']}` (step `detect_drift`, "
            f"`drift_report`), {report.get('dashboard', '')}.",
        ]
    return "\n".join(lines) + "\n"
