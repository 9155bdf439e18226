"""Browser-test fixtures: one store as a new user has it, its dashboard, headless Chromium.

The session builds one :class:`scripts.dashboard_demo.DemoStore` (the README's quickstart, a
deployment and a drift-demo monitoring run, in a temporary copy of the checkout with its own
ZenML config directory), serves it with ``zenml login --local`` on a free port, and opens its
pages in Debian's Chromium through Playwright. Every test saves a screenshot and the page's
console log under ``test-artifacts/dashboard/`` (``$TABULAR_TEST_ARTIFACTS`` overrides it); CI
uploads that folder. The server, and anything the deployment started, is stopped at the end.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts.dashboard_browser import wait_for_dag
from scripts.dashboard_demo import DemoStore
from scripts.isolated_checkout import REPO_ROOT
from tests.dashboard.browser import PageWatch

ARTIFACTS = (
    Path(os.environ.get("TABULAR_TEST_ARTIFACTS", str(REPO_ROOT / "test-artifacts"))) / "dashboard"
)


@pytest.fixture(scope="session")
def demo_store() -> Iterator[DemoStore]:
    """The store with a training, a deployment and a monitoring run, served on a free port."""
    store = DemoStore.create()
    try:
        store.build()
        store.serve()
        yield store
    finally:
        store.remove()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless system Chromium (``scripts/ensure_chromium.sh`` installs it)."""
    from playwright.sync_api import sync_playwright

    from scripts.dashboard_browser import launch

    playwright = sync_playwright().start()
    chromium = launch(playwright)
    try:
        yield chromium
    finally:
        chromium.close()
        playwright.stop()


class Dashboard:
    """One browser page on the dashboard, watched for errors; screenshots on request."""

    def __init__(self, store: DemoStore, page: Any, watch: PageWatch, name: str) -> None:
        self.store, self.page, self.watch, self.name = store, page, watch, name

    def open(self, path: str) -> Any:
        """Go to ``path`` on the dashboard and wait until the network is idle."""
        url = f"{self.store.url}{path}"
        self.watch.retry_on_network_change(lambda: self.page.goto(url, wait_until="networkidle"))
        return self.page

    def open_run(self, kind: str) -> Any:
        """Open a run's page (``training``, ``deployment`` or ``monitoring``) with its DAG drawn."""
        url = f"{self.store.url}/projects/default/runs/{self.store.runs[kind]}"
        self.watch.retry_on_network_change(lambda: wait_for_dag(self.page, url))
        return self.page

    def screenshot(self, label: str = "") -> Path:
        """Save the page as ``<test>[-label].png`` in the artifacts folder."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.name}{'-' + label if label else ''}.png"
        self.page.screenshot(path=str(path))
        return path


@pytest.fixture
def dashboard(
    demo_store: DemoStore, browser: Any, request: pytest.FixtureRequest
) -> Iterator[Dashboard]:
    """A fresh page (1400 x 900) on the demo store's dashboard.

    After the test: a screenshot and the console log are saved, and the test fails if the page
    logged an error, threw, or got an error response that is not the dashboard's documented
    offline noise (see ``tests/dashboard/browser.py``).
    """
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    watch = PageWatch(server=demo_store.url)
    watch.attach(page)
    name = request.node.name.removeprefix("test_").replace("[", "-").rstrip("]")
    view = Dashboard(demo_store, page, watch, name)
    try:
        yield view
        view.screenshot()
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        watch.write_log(ARTIFACTS / f"{name}.log")
        context.close()
    assert watch.errors == [], "\n".join(watch.errors)
