"""Regenerate the README's dashboard screenshots (``docs/images/dashboard/*.png``).

    python -m scripts.dashboard_screenshots            # about 7 minutes on 2 cores

Builds the same store as the browser test (:mod:`scripts.dashboard_demo`: the README's
quickstart, a deployment and a drift-demo monitoring run, in a temporary copy of the checkout),
serves it with ``zenml login --local`` on a free port, opens each page in headless Chromium as a
user would, and saves it at 1200 x 760 pixels, reduced to 900 pixels wide and 96 colours so
that each file stays well under 100 kB. Everything it started is stopped at the end.
"""

from __future__ import annotations

import argparse
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scripts.dashboard_browser import (
    choose_visualization,
    html_view,
    launch,
    open_visualization,
    wait_for_dag,
)
from scripts.dashboard_demo import DemoStore
from scripts.isolated_checkout import REPO_ROOT

OUTPUT = REPO_ROOT / "docs" / "images" / "dashboard"
VIEWPORT = {"width": 1200, "height": 760}
WIDTH, COLOURS = 900, 96


def _run(store: DemoStore, kind: str) -> Callable[[Any], None]:
    def show(page: Any) -> None:
        wait_for_dag(page, f"{store.url}/projects/default/runs/{store.runs[kind]}")

    return show


def _artifact(
    store: DemoStore, kind: str, name: str, option: str = "", html_ready: str = ""
) -> Callable[[Any], None]:
    def show(page: Any) -> None:
        _run(store, kind)(page)
        sheet = open_visualization(page, name)
        if option:
            choose_visualization(page, sheet, option)
        page.wait_for_load_state("networkidle")
        if html_ready:  # the iframe draws after the network is idle
            html_view(page).locator(html_ready).first.wait_for()

    return show


def screens(store: DemoStore) -> dict[str, Callable[[Any], None]]:
    """The README's screens: file name -> how to reach the screen from a blank page."""

    def runs(page: Any) -> None:
        page.goto(f"{store.url}/projects/default/runs", wait_until="networkidle")

    return {
        "runs": runs,
        "training-run": _run(store, "training"),
        "model-card": _artifact(store, "training", "classifier"),
        "roc-curve": _artifact(store, "training", "evaluation_report", "roc_curve.png"),
        "promotion-decision": _artifact(store, "training", "promotion_decision"),
        "drift-report": _artifact(store, "monitoring", "drift_report", html_ready="p.headline"),
        "monitoring-outcome": _artifact(store, "monitoring", "monitoring_outcome"),
    }


def save_small(png: bytes, path: Path) -> int:
    """Save a screenshot reduced to :data:`WIDTH` pixels and :data:`COLOURS` colours.

    Returns:
        The file's size in bytes.
    """
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    height = round(image.height * WIDTH / image.width)
    image = image.resize((WIDTH, height), Image.Resampling.LANCZOS)
    image.quantize(colors=COLOURS).save(path, optimize=True)
    return path.stat().st_size


def main(argv: list[str] | None = None) -> int:
    """Build and serve the demo store, take the screenshots, stop everything."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    args.output.mkdir(parents=True, exist_ok=True)
    store = DemoStore.create()
    try:
        store.build()
        store.serve()
        with sync_playwright() as playwright:
            browser = launch(playwright)
            for name, show in screens(store).items():
                page = browser.new_page(viewport=VIEWPORT)
                show(page)
                size = save_small(page.screenshot(), args.output / f"{name}.png")
                print(f"{args.output / f'{name}.png'}: {size:,} bytes")
                page.close()
            browser.close()
    finally:
        store.remove()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
