"""The dashboard views of the window, service health, monitoring outcome and promotion decision.

Each view must show the numbers that decided, beside their thresholds; each artifact must
round-trip through its materializer (JSON, never pickle) with the Markdown view written.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from materializers.drift_report_materializer import DriftReportMaterializer
from materializers.drift_report_view import drift_report_html
from materializers.monitoring_materializer import MonitoringResultMaterializer
from materializers.monitoring_views import health_markdown, outcome_markdown, window_markdown
from materializers.promotion_materializer import PromotionRecordMaterializer, promotion_markdown
from tabular_classifier.monitoring.config import (
    DegradationConfig,
    DriftConfig,
    LatencyConfig,
    WindowConfig,
)
from tabular_classifier.monitoring.drift import (
    build_report,
    insufficient_data,
    metric_specs,
    summarize,
)
from tabular_classifier.monitoring.health import (
    DegradationCheck,
    ServiceHealth,
    check_degradation,
    check_latency,
)
from tabular_classifier.monitoring.outcome import MonitoringOutcome
from tabular_classifier.monitoring.report import DriftReport
from tabular_classifier.monitoring.window import WindowInfo
from tabular_classifier.promotion import (
    ComparisonSet,
    PromotionPolicy,
    PromotionRecord,
    decide_promotion,
)
from tests.unit.test_monitoring_drift import (
    CATEGORICAL,
    NUMERIC,
    REPORT,
    WINDOW,
    _frame,
    _summary,
)

CANDIDATE = {
    "test_accuracy": 0.9649,
    "test_roc_auc": 0.9934,
    "test_precision": 0.9718,
    "test_recall": 0.9718,
    "test_f1_score": 0.9718,
}


def _window(rows: int = 2000, sampled: bool = False) -> WindowInfo:
    return WindowInfo(
        sources=["/log/serving-2026-11-30.jsonl"],
        start="2026-11-30T07:09:35+00:00",
        end="2026-11-30T07:10:35+00:00",
        rows_in_window=rows,
        rows_used=1000 if sampled else rows,
        sampled=sampled,
        model_version="7",
        other_versions={"6": 12},
        latency={"n": 40, "p50_ms": 8.0, "p95_ms": 90.0, "p99_ms": 400.0},
        selection=WindowConfig(last_n=5000, max_rows=1000 if sampled else 200_000).model_dump(
            mode="json"
        ),
    )


def _health(labelled: bool) -> ServiceHealth:
    latency = check_latency(
        {"n": 40, "p50_ms": 8.0, "p95_ms": 90.0, "p99_ms": 400.0}, LatencyConfig(p99_ms=250)
    )
    if not labelled:
        return ServiceHealth.build(
            "m", "7", latency, DegradationCheck(status="not_configured", tolerance=0.05)
        )
    rng = np.random.default_rng(0)
    ids = [f"id{i}" for i in range(100)]
    truth = rng.integers(0, 2, 100)
    right = rng.random(100) < 0.8
    proba = np.where(right == (truth == 1), 0.9, 0.1)
    degradation = check_degradation(
        pd.DataFrame({"prediction_id": ids, "probability": proba}),
        pd.DataFrame({"prediction_id": ids, "actual": [str(t) for t in truth]}),
        positive_label=1,
        decision_threshold=0.5,
        baseline={f"test_{m}": 0.97 for m in ("accuracy", "roc_auc", "precision", "recall")},
        cfg=DegradationConfig(labels_path="labels.csv", tolerance=0.05, min_rows=30),
    )
    return ServiceHealth.build("m", "7", latency, degradation)


def _table_row(markdown: str, first_cell: str) -> list[str]:
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no table row starting with {first_cell!r} in:\n{markdown}")


def test_window_view_shows_rows_against_min_and_max_rows() -> None:
    view = window_markdown(_window(rows=2000, sampled=True))
    assert _table_row(view, "rows in the window")[1:4] == [
        "2000",
        "min_rows 50",
        "enough for a drift verdict",
    ]
    assert _table_row(view, "rows compared")[1:4] == ["1000", "max_rows 1000", "sampled (seed 0)"]
    assert "last_n 5000" in _table_row(view, "selection")[2]
    assert "p99 400 ms" in _table_row(view, "served requests")[3]
    assert "version 6: 12 rows" in view and "`/log/serving-2026-11-30.jsonl`" in view
    small = window_markdown(_window(rows=20))
    assert "**too few: no drift verdict**" in _table_row(small, "rows in the window")[3]


def test_health_view_shows_percentiles_and_live_metrics_against_thresholds() -> None:
    health = _health(labelled=True)
    view = health_markdown(health)
    assert "40 served requests in the window; a verdict needs at least 20." in view
    assert _table_row(view, "p99") == ["p99", "400", "250", "**yes**"]
    assert _table_row(view, "p95") == ["p95", "90", "none", "no"]
    accuracy = health.degradation["live"]["accuracy"]
    row = _table_row(view, "accuracy")
    assert row[1] == f"{accuracy:.4g}" and row[2] == "0.97" and row[3] == "0.92"
    assert row[4] == ("**yes**" if accuracy < 0.92 else "no")
    assert "a verdict needs at least 30" in view
    unlabelled = health_markdown(_health(labelled=False))
    assert "No ground-truth labels configured" in unlabelled


def test_outcome_lists_every_check_with_its_threshold() -> None:
    reference = _frame(3000, seed=1)
    summary = _summary(_frame(2000, seed=3, shift={"x4": 1.0, "x6": 0.6}), reference, DriftConfig())
    health = _health(labelled=True)
    alerts = [{"kind": "latency", "severity": "warning", "title": "Latency SLO", "delivered": True}]
    outcome = MonitoringOutcome.build(summary, health, alerts, REPORT, None)
    checks = {c["check"]: c for c in outcome.checks}
    assert checks["dataset drift"]["observed"] == pytest.approx(2 / 9)
    assert checks["dataset drift"]["threshold"] == 0.5
    assert checks["dataset drift"]["triggered"] is False
    assert checks["dataset drift"]["note"] == "2 of 9 features drifted"
    probability = summary.prediction["probability"]
    assert checks["prediction drift (probability)"]["observed"] == probability["score"]
    assert checks["prediction drift (probability)"]["threshold"] == probability["threshold"]
    assert checks["latency p99_ms"]["observed"] == 400.0
    assert checks["latency p99_ms"]["threshold"] == 250.0
    assert checks["latency p99_ms"]["triggered"] is True
    assert checks["live roc_auc"]["threshold"] == pytest.approx(0.92)
    view = outcome_markdown(outcome)
    assert "**1 alert sent**" in view and "- warning: Latency SLO (delivered)" in view
    assert _table_row(view, "dataset drift")[2:6] == [
        "0.2222",
        "0.5",
        "share of drifted features >= threshold",
        "no",
    ]
    assert _table_row(view, "latency p99_ms")[1:4] == ["breached", "400", "250"]
    assert "artifact `abc-123`" in view


def test_outcome_of_a_too_small_window_gives_no_numbers() -> None:
    summary = insufficient_data("m", "7", {"rows_in_window": 3}, 0, DriftConfig(), 50)
    latency = check_latency({"n": 3, "p50_ms": 5.0, "p95_ms": 6.0, "p99_ms": 7.0}, LatencyConfig())
    health = ServiceHealth.build(
        "m", "7", latency, DegradationCheck(status="not_configured", tolerance=0.05)
    )
    outcome = MonitoringOutcome.build(summary, health, [], REPORT, None)
    view = outcome_markdown(outcome)
    assert "**0 alerts sent**" in view
    assert _table_row(view, "drift")[1:3] == ["insufficient_data", ""]
    assert _table_row(view, "latency p99_ms")[1:4] == ["insufficient_data", "7", "250"]
    assert "3 served requests (minimum 20)" in _table_row(view, "latency p99_ms")[6]


def test_promotion_view_shows_floors_and_margin() -> None:
    policy = PromotionPolicy(min_accuracy=0.9, min_roc_auc=0.95, min_improvement=0.001)
    production = {**CANDIDATE, "test_roc_auc": 0.9921}
    comparison = ComparisonSet(
        rows=np.arange(113),
        fingerprint="0123456789abcdef0123",
        candidate_split={"random_state": 42},
        production_split={"random_state": 42},
    )
    decision = decide_promotion(
        CANDIDATE,
        production,
        policy,
        candidate_on_comparison=CANDIDATE,
        comparison=comparison,
        baseline={**CANDIDATE, "test_roc_auc": 0.9977},
    )
    record = PromotionRecord(decision, "breast_cancer_classifier", "3", "2", policy)
    view = promotion_markdown(record)
    assert _table_row(view, "not degenerate")[1:] == [
        "no",
        "one class for < 99 % of rows, recall and precision > 0",
        "yes",
    ]
    assert _table_row(view, "comparison rows >= min_comparison_rows")[1:] == ["113", "50", "yes"]
    assert "Comparison set: 113 of the candidate's test rows" in view
    assert "fingerprint `0123456789abcdef`" in view
    assert view.startswith("# Promotion: breast_cancer_classifier version 3 promoted")
    assert "Stage: version 3 is now the **production** stage" in view
    assert _table_row(view, "test_accuracy >= min_accuracy")[1:] == ["0.9649", "0.9", "yes"]
    assert _table_row(view, "test_roc_auc >= min_roc_auc")[1:] == ["0.9934", "0.95", "yes"]
    margin = _table_row(view, "test_roc_auc > production (version 2) + min_improvement")
    assert margin[1:] == ["0.9934", "0.9921 + 0.001 = 0.9931", "yes"]
    # test split, comparison rows, production on them, the baseline on the test split
    assert _table_row(view, "test_roc_auc")[1:] == ["0.9934", "0.9934", "0.9921", "0.9977"]
    below = decide_promotion({**CANDIDATE, "test_accuracy": 0.85}, None, policy)
    view = promotion_markdown(PromotionRecord(below, "m", "4", None, policy))
    assert "version 4 kept out of production" in view
    assert "Stage: unchanged (no production version)." in view
    assert _table_row(view, "test_accuracy >= min_accuracy")[1:] == ["0.8500", "0.9", "**no**"]


@pytest.mark.parametrize(
    "make",
    [
        lambda: _window(),
        lambda: _health(labelled=True),
        lambda: MonitoringOutcome.build(
            insufficient_data("m", "7", {"rows_in_window": 3}, 0, DriftConfig(), 50),
            _health(labelled=False),
            [],
            REPORT,
            {"run_name": "r", "run_id": "", "status": "timed out", "returncode": None},
        ),
    ],
    ids=["window_info", "service_health", "monitoring_outcome"],
)
def test_monitoring_results_round_trip_as_json_with_a_markdown_view(make, tmp_path: Path) -> None:
    data = make()
    materializer = MonitoringResultMaterializer(uri=str(tmp_path))
    materializer.save(data)
    assert materializer.load(type(data)) == data
    (path, kind), *rest = materializer.save_visualizations(data).items()
    assert rest == [] and kind.value == "markdown"
    assert Path(path).read_text().startswith("# ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json", "summary.md"]


def test_promotion_record_round_trips_as_json(tmp_path: Path) -> None:
    policy = PromotionPolicy()
    record = PromotionRecord(decide_promotion(CANDIDATE, None, policy), "m", "1", None, policy)
    materializer = PromotionRecordMaterializer(uri=str(tmp_path))
    materializer.save(record)
    assert materializer.load(PromotionRecord) == record
    assert materializer.extract_metadata(record)["promote"] is True
    (path, _kind), *_ = materializer.save_visualizations(record).items()
    assert "no production version to beat" in Path(path).read_text()


@pytest.fixture(scope="module")
def drift_report() -> DriftReport:
    """A real Evidently report: 3000 reference rows, 2000 current rows, two columns shifted."""
    reference, current = _frame(3000, seed=1), _frame(2000, seed=3, shift={"x4": 1.0, "x6": 0.6})
    specs = metric_specs(NUMERIC, CATEGORICAL, DriftConfig(drift_share=0.2))
    report = build_report(reference, current, specs, NUMERIC, CATEGORICAL)
    summary = summarize(
        report.as_dict(),
        model_name="m",
        model_version="7",
        window=WINDOW,
        reference=reference,
        current=current,
        positive_label="1",
        cfg=DriftConfig(drift_share=0.2),
    )
    return DriftReport.from_evidently(report, summary)


def test_drift_report_view_is_static_and_shows_headline_and_every_column(
    drift_report: DriftReport,
) -> None:
    view = drift_report_html(drift_report, "/store/drift_report/evidently_report.html")
    summary = drift_report.summary
    assert summary.drifted_columns == ["x4", "x6"]
    assert "<b>Dataset drift detected</b>: 2 of 9 features drifted (share 0.22;" in view
    assert "dataset drift when the share is at least 0.2)" in view
    assert "<script" not in view and "src=" not in view and "href=" not in view
    # one table row per feature and per prediction test, each with its two distributions
    assert view.count("<tr") == 1 + 2 + 1 + 9
    assert view.count("<svg") == 2 + 9
    x4 = drift_report.distributions("x4")
    assert len(x4["reference"]["x"]) == 11 and len(x4["current"]["y"]) == 10
    assert view.count('aria-label="x4: reference (grey) and current (orange)') == 1
    colour = drift_report.distributions("colour")
    assert sorted(colour["current"]["x"]) == ["blue", "green", "red"]
    assert "/store/drift_report/evidently_report.html" in view
    # the static view is a small fraction of Evidently's own page
    assert len(view) * 20 < len(drift_report.evidently_html)


def test_drift_report_round_trips_and_keeps_evidentlys_page(
    drift_report: DriftReport, tmp_path: Path
) -> None:
    materializer = DriftReportMaterializer(uri=str(tmp_path))
    materializer.save(drift_report)
    loaded = materializer.load(DriftReport)
    assert loaded.summary == drift_report.summary
    assert loaded.evidently_html == drift_report.evidently_html
    assert loaded.distributions("x6") == drift_report.distributions("x6")
    (path, kind), *rest = materializer.save_visualizations(drift_report).items()
    assert rest == [] and kind.value == "html" and Path(path).name == "drift_report.html"
    metadata = materializer.extract_metadata(drift_report)
    assert metadata["dataset_drift"] is True
    assert metadata["evidently_report_bytes"] == len(drift_report.evidently_html.encode())


def test_drift_report_of_a_too_small_window_says_so(tmp_path: Path) -> None:
    summary = insufficient_data("m", "7", {"rows_in_window": 3}, 0, DriftConfig(), 50)
    report = DriftReport(summary=summary)
    assert "Not enough data: not enough data: 3 usable rows in the window, at least 50" in (
        drift_report_html(report, "x")
    )
    # Rows matched but left out (a bad column, a torn line) are counted apart from those used.
    window = {"rows_in_window": 80, "rows_used": 20, "skipped": {"total": 60}}
    skipped = insufficient_data("m", "7", window, 0, DriftConfig(), 50)
    assert skipped.message.startswith(
        "not enough data: 20 usable rows in the window (80 matched, 60 skipped: see "
        "window_info.skipped), at least 50 needed"
    )
    materializer = DriftReportMaterializer(uri=str(tmp_path))
    materializer.save(report)
    assert materializer.load(DriftReport) == report
