"""Headless Chromium on the ZenML dashboard: the system browser, driven by Playwright.

Playwright (the lock's dev group) drives Debian's ``chromium`` (``scripts/ensure_chromium.sh``
installs it); it never downloads a browser. The flags keep Chromium off the network it cannot
reach here (background networking, component updates, sync) and let it run as root in a
container (``--no-sandbox``). The page helpers do what a user does on a run's page: wait for
the DAG, click an artifact, open its *Visualization* tab and confirm *Load Preview* (ZenML asks
before it renders an artifact's content).
"""

from __future__ import annotations

import os
import shutil
from typing import Any

CHROMIUM_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
# The sandboxed iframe ZenML 0.98's dashboard shows an HTML visualization in.
HTML_VIEW_FRAME = "iframe[title='Secure HTML Content']"


def chromium_path() -> str:
    """The Chromium executable: ``$TABULAR_CHROMIUM``, else ``chromium`` or ``chromium-browser``.

    Raises:
        FileNotFoundError: When none is installed (``scripts/ensure_chromium.sh`` installs it).
    """
    configured = os.environ.get("TABULAR_CHROMIUM")
    if configured:
        return configured
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    raise FileNotFoundError(
        "no Chromium found (chromium, chromium-browser or $TABULAR_CHROMIUM): run "
        "scripts/ensure_chromium.sh, which installs Debian's chromium package"
    )


def launch(playwright: Any) -> Any:
    """Start the system Chromium headless.

    Args:
        playwright: The object ``playwright.sync_api.sync_playwright().start()`` returns.

    Returns:
        A Playwright ``Browser``; close it when done.
    """
    return playwright.chromium.launch(
        executable_path=chromium_path(), args=list(CHROMIUM_ARGS), headless=True
    )


def wait_for_dag(page: Any, url: str) -> Any:
    """Open a run's page and wait until its DAG is drawn.

    Returns:
        The locator of the DAG's nodes (steps and artifacts).
    """
    page.goto(url, wait_until="networkidle")
    nodes = page.locator(".react-flow__node")
    nodes.first.wait_for(state="visible", timeout=90_000)
    return nodes


def open_visualization(page: Any, artifact: str) -> Any:
    """On a run's page with its DAG drawn, show an artifact's visualization, as a user does.

    Clicks the artifact's node, then its *Visualization* tab, then *Load Preview*.

    Returns:
        The artifact's side sheet (a dialog locator).
    """
    page.locator(f".react-flow__node[data-id$='/outputs/step_output/{artifact}']").click()
    sheet = page.get_by_role("dialog")
    sheet.get_by_role("tab", name="Visualization").click()
    sheet.get_by_role("button", name="Load Preview").click()
    return sheet


def html_view(page: Any) -> Any:
    """The open HTML visualization's document (a frame locator: its scripts never run)."""
    return page.frame_locator(HTML_VIEW_FRAME)


def choose_visualization(page: Any, sheet: Any, option: str) -> None:
    """In an open sheet, pick another of the artifact's visualizations and load it."""
    sheet.get_by_role("combobox", name="Choose visualization").click()
    page.get_by_role("option", name=option, exact=True).click()
    sheet.get_by_role("button", name="Load Preview").click()
