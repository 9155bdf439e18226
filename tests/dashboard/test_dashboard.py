"""The ZenML dashboard as a user sees it, in a real browser, on a store built by the README.

Each test opens a page the README points to and asserts what is on screen, with the numbers
read back from the store's REST API. See ``conftest.py`` for the store, the server and the
screenshots, and ``browser.py`` for the errors that fail a page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from scripts.dashboard_browser import choose_visualization, html_view, open_visualization
from scripts.dashboard_demo import MODEL_NAME, DemoStore
from tests.dashboard.browser import ANNOUNCEMENTS_FEED, row_starting, table_rows
from tests.dashboard.conftest import Dashboard
from tests.dashboard.removal import visualization_removed
from tests.quickstart_run import TRAINING_STEPS

pytestmark = pytest.mark.dashboard

PLOTS = ("confusion_matrix.png", "roc_curve.png", "precision_recall_curve.png")
PLAYWRIGHT_TIMEOUT_MS = 30_000  # Playwright's default
REMOVED_TIMEOUT_MS = 15_000  # how long a check waits for a view that is not there


def _metadata(store: DemoStore, kind: str, step: str, output: str) -> dict[str, Any]:
    artifact = store.step_output(store.runs[kind], step, output)
    hydrated = store.api(f"artifact_versions/{artifact['id']}?hydrate=true")
    return dict(hydrated["metadata"]["run_metadata"])


def test_dashboard_opens_on_the_project_without_the_account_form(dashboard: Dashboard) -> None:
    page = dashboard.open("/")
    page.get_by_text("Welcome back, default").first.wait_for()
    assert page.url == f"{dashboard.store.url}/"
    assert page.get_by_text("Add your account details").count() == 0
    assert not any(url.startswith(ANNOUNCEMENTS_FEED) for url in dashboard.watch.requested)
    # what the dashboard decided this from, as it reads it
    user = dashboard.store.api("current-user?hydrate=true")
    assert user["body"]["email_opted_in"] is False
    assert user["metadata"]["user_metadata"]["finished_onboarding_survey"] is True
    settings = dashboard.store.api("settings")["body"]
    assert settings["display_announcements"] is False and settings["display_updates"] is False
    assert "oss_onboarding_completed" in dashboard.store.api("onboarding_state")


def test_runs_list_shows_the_three_runs(dashboard: Dashboard) -> None:
    page = dashboard.open("/projects/default/runs")
    rows = page.locator("tbody tr")
    rows.first.wait_for()
    listed = rows.all_inner_texts()
    for kind in ("training", "deployment", "monitoring"):
        run = dashboard.store.api(f"runs/{dashboard.store.runs[kind]}")
        assert run["body"]["status"] == "completed"
        [row] = [text for text in listed if run["name"] in text]
        assert f"{kind}_pipeline" in row and run["id"][:8] in row


def test_training_run_dag_shows_its_seven_steps(dashboard: Dashboard) -> None:
    page = dashboard.open_run("training")
    steps = page.locator(".react-flow__node-step")
    assert steps.count() == len(TRAINING_STEPS)
    for name in sorted(TRAINING_STEPS):
        node = page.locator(f".react-flow__node-step[data-id='step/{name}']")
        box = node.bounding_box()
        assert box is not None and box["width"] > 0 and box["height"] > 0, name
        assert name in node.inner_text()
    assert page.get_by_text("Completed", exact=True).first.is_visible()
    assert page.locator(".react-flow__node-artifact", has_text="classifier").is_visible()


def test_classifier_shows_its_model_card(dashboard: Dashboard) -> None:
    page = dashboard.open_run("training")
    sheet = open_visualization(page, "classifier")
    sheet.get_by_role("heading", name=re.compile(r"^Model card: ")).wait_for()
    assert sheet.get_by_role("heading", name="Validation metrics (best epoch)").is_visible()
    metadata = _metadata(dashboard.store, "training", "train_model", "classifier")
    rows = table_rows(sheet)
    assert row_starting(rows, "val_roc_auc") == ["val_roc_auc", f"{metadata['val_roc_auc']:.4f}"]
    assert "30 features" in sheet.inner_text()


def test_evaluation_report_shows_its_metrics_and_three_plots(dashboard: Dashboard) -> None:
    page = dashboard.open_run("training")
    sheet = open_visualization(page, "evaluation_report")
    sheet.get_by_role("heading", name="Evaluation report").wait_for()
    metadata = _metadata(dashboard.store, "training", "evaluate_model", "evaluation_report")
    rows = table_rows(sheet)
    assert row_starting(rows, "test_roc_auc")[1] == f"{metadata['test_roc_auc']:.4f}"
    for plot in PLOTS:
        _check_plot(page, sheet, plot)
        dashboard.screenshot(plot.removesuffix(".png"))


def _check_plot(page: Any, sheet: Any, plot: str) -> None:
    """In the open ``evaluation_report`` sheet: ``plot`` is shown, loaded, with a real size."""
    choose_visualization(page, sheet, plot)
    image = sheet.get_by_role("img", name="Visualization for artifact")
    image.wait_for()
    size = image.evaluate("i => i.complete ? [i.naturalWidth, i.naturalHeight] : [0, 0]")
    assert size[0] > 0 and size[1] > 0, f"{plot} did not load: {size}"
    box = image.bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] > 100, plot


def test_drift_report_shows_the_headline_and_every_column(dashboard: Dashboard) -> None:
    _check_drift_report(dashboard)


def _check_drift_report(dashboard: Dashboard) -> None:
    """The monitoring run's ``drift_report`` view: headline, every column, inline plots."""
    page = dashboard.open_run("monitoring")
    open_visualization(page, "drift_report")
    frame = html_view(page)
    headline = frame.locator("p.headline").first
    headline.wait_for()
    metadata = _metadata(dashboard.store, "monitoring", "detect_drift", "drift_summary")
    drifted = metadata["drifted_columns"]
    assert headline.inner_text().startswith(
        f"Dataset drift detected: {drifted} of 30 features drifted"
    )
    rows = table_rows(frame.locator("body"))
    features = [r for r in rows if r and r[0] not in ("column", "prediction_probability")]
    assert len(features) == 30 + 1  # every feature, and the predicted label
    assert row_starting(rows, "prediction_probability")[4] == "yes"
    plots = frame.locator("svg[role='img']")
    assert plots.count() == 32
    box = plots.first.bounding_box()
    assert box is not None and box["width"] > 0 and box["height"] > 0
    assert frame.get_by_text("evidently_report.html").is_visible()


def test_drift_summary_shows_every_column(dashboard: Dashboard) -> None:
    page = dashboard.open_run("monitoring")
    sheet = open_visualization(page, "drift_summary")
    sheet.get_by_role("heading", name=f"Drift summary: {MODEL_NAME} version 1").wait_for()
    assert "Status: drift" in sheet.inner_text()
    rows = table_rows(sheet)
    assert len([r for r in rows if r and r[-1] in ("yes", "no")]) == 32
    assert row_starting(rows, "mean radius")[1] == "K-S p_value"


@pytest.mark.parametrize(
    ("kind", "artifact", "heading", "row", "cells"),
    [
        (
            "monitoring",
            "window_info",
            "Current window: model version 1",
            "rows in the window",
            {1: "200", 2: "min_rows 50", 3: "enough for a drift verdict"},
        ),
        (
            "monitoring",
            "service_health",
            f"Service health: {MODEL_NAME} version 1",
            "p99",
            {2: "250", 3: "no"},
        ),
        (
            "monitoring",
            "monitoring_outcome",
            f"Monitoring outcome: {MODEL_NAME} version 1",
            "dataset drift",
            {1: "drift", 3: "0.5", 4: "share of drifted features >= threshold", 5: "yes"},
        ),
        (
            "training",
            "promotion_decision",
            f"Promotion: {MODEL_NAME} version 1 promoted to production",
            "test_accuracy >= min_accuracy",
            {2: "0.9", 3: "yes"},
        ),
    ],
    ids=["window_info", "service_health", "monitoring_outcome", "promotion_decision"],
)
def test_decision_views_show_numbers_beside_thresholds(
    dashboard: Dashboard, kind: str, artifact: str, heading: str, row: str, cells: dict[int, str]
) -> None:
    page = dashboard.open_run(kind)
    sheet = open_visualization(page, artifact)
    sheet.get_by_role("heading", name=heading).wait_for()
    shown = row_starting(table_rows(sheet), row)
    assert {i: shown[i] for i in cells} == cells, shown


def test_model_version_stage_and_promotion_metadata(dashboard: Dashboard) -> None:
    # ZenML 0.98's open-source dashboard has no model pages: its Models tab offers ZenML Pro
    # and the CLI. The version, its stage and the promotion metadata are on the training run's
    # promotion_decision artifact.
    page = dashboard.open("/projects/default/models")
    page.get_by_text("zenml model list").first.wait_for()
    dashboard.screenshot("models-tab")
    dashboard.open_run("training")
    sheet = open_visualization(page, "promotion_decision")
    sheet.get_by_text("is now the production stage").first.wait_for()
    assert "version 1 is now the production stage of the ZenML model" in sheet.inner_text()
    sheet.get_by_role("tab", name="Metadata").click()
    sheet.get_by_text("candidate_version").first.wait_for()
    text = sheet.inner_text()
    metadata = _metadata(dashboard.store, "training", "promote_model", "promotion_decision")
    assert metadata["promote"] is True and metadata["stage"] == "production"
    for key in ("promote", "stage", "metric", "candidate_value", "candidate_version"):
        assert key in text
    assert "test_roc_auc" in text and "production" in text


def _check_roc_curve(dashboard: Dashboard) -> None:
    page = dashboard.open_run("training")
    sheet = open_visualization(page, "evaluation_report")
    _check_plot(page, sheet, "roc_curve.png")


@pytest.mark.parametrize(
    ("kind", "step", "artifact", "how", "view", "check"),
    [
        ("monitoring", "detect_drift", "drift_report", "file", "", _check_drift_report),
        ("monitoring", "detect_drift", "drift_report", "record", "", _check_drift_report),
        (
            "training",
            "evaluate_model",
            "evaluation_report",
            "file",
            "roc_curve.png",
            _check_roc_curve,
        ),
    ],
    ids=["drift_report-file", "drift_report-record", "roc_curve-file"],
)
def test_a_removed_visualization_fails_the_check_and_the_dashboard_says_so(
    dashboard: Dashboard,
    kind: str,
    step: str,
    artifact: str,
    how: str,
    view: str,
    check: Callable[[Dashboard], None],
) -> None:
    """The checks above fail when a view is gone, and the user sees why instead of a blank.

    ``file``: the view's file is no longer in the artifact store; ``record``: the artifact has
    no visualization, as after a run whose materializer wrote none (``tests/dashboard/removal.py``).
    Once it is back, the same check passes again on the same store.
    """
    store, page = dashboard.store, dashboard.page
    artifact_id = store.step_output(store.runs[kind], step, artifact)["id"]
    page.set_default_timeout(REMOVED_TIMEOUT_MS)
    with visualization_removed(store, artifact_id, how, view) as message:
        with pytest.raises((AssertionError, PlaywrightTimeoutError)):
            check(dashboard)
        sheet = page.get_by_role("dialog")
        sheet.get_by_text(message).first.wait_for()
        dashboard.screenshot("removed")
    # The page watch fails a test on the server's 404 by itself; nothing else was logged.
    errors = list(dashboard.watch.errors)
    dashboard.watch.errors.clear()
    dashboard.watch.ignored += [f"(expected: the view was removed) {e}" for e in errors]
    if how == "file":
        assert errors and all("404" in e and "/visualize" in e for e in errors), errors
    else:
        assert errors == []
    page.set_default_timeout(PLAYWRIGHT_TIMEOUT_MS)
    check(dashboard)


def test_undo_brings_the_account_form_back(dashboard: Dashboard) -> None:
    """``dashboard_settings undo`` restores ZenML's form: the first test's check can fail."""
    store = dashboard.store
    store.run("python", "-m", "scripts.dashboard_settings", "undo")
    # A page of its own: ZenML's form page keeps the renderer busy (screenshots time out).
    survey = dashboard.page.context.new_page()
    try:
        survey.goto(f"{store.url}/", wait_until="commit")
        survey.get_by_text("Add your account details").first.wait_for(timeout=90_000)
        assert "/survey" in survey.url
    finally:
        survey.close()
        store.run("python", "-m", "scripts.dashboard_settings", "apply")
    dashboard.open("/").get_by_text("Welcome back, default").first.wait_for()
    assert dashboard.page.url == f"{store.url}/"
