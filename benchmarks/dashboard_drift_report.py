"""Benchmark: the drift report in the ZenML dashboard, page size and time to render.

    python -m benchmarks.dashboard_drift_report [--repeats 5]    # about 10 minutes on 2 cores

Builds the browser test's store (``scripts.dashboard_demo``: the quickstart, a deployment, 200
drifted rows through the gateway, a monitoring run), serves it with ``zenml login --local`` on
a free port, publishes Evidently's own page of that monitoring run as a run artifact
(``benchmarks/evidently_page_pipeline.py``: what the dashboard showed for ``drift_report``
before it became a static view), and measures both pages as the dashboard delivers them:

* ``html_bytes``: the page (UTF-8), and ``api_bytes``: the dashboard's request for it,
  ``GET /api/v1/artifact_versions/{id}/visualize`` (JSON), with the server's answer time
  (``api_ms``, urllib, no browser);
* in headless Chromium, on a run's page with the artifact's sheet open, from the click on
  *Load Preview* to the ``visualize`` answer (``response_ms``), to the iframe's ``load`` event
  (``load_ms``) and, for the static view, to its headline on screen (``visible_ms``);
* what the iframe shows: its visible text (``visible_chars``), its inline plots and the console
  errors it logged (``blocked_scripts``: "Blocked script execution ... sandboxed").

Each browser measurement uses a fresh page; medians and ranges over ``--repeats``. Writes
``benchmarks/results/dashboard_drift_report.json`` and prints a Markdown table. Everything it
started is stopped and the temporary copy is deleted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import urllib.request
from datetime import UTC, datetime
from typing import Any

from benchmarks.harness import RESULTS_DIR, git_state, load_average, machine_info, write_results
from scripts.dashboard_browser import launch, wait_for_dag
from scripts.dashboard_demo import DemoStore

RESULTS = RESULTS_DIR / "dashboard_drift_report.json"
IFRAME = "iframe[title='Secure HTML Content']"


def _api(store: DemoStore, artifact_id: str, repeats: int) -> dict[str, Any]:
    url = f"{store.url}/api/v1/artifact_versions/{artifact_id}/visualize?index=0"
    times, body = [], b""
    for _ in range(repeats):
        start = time.perf_counter()
        with urllib.request.urlopen(url, timeout=120) as response:
            body = response.read()
        times.append((time.perf_counter() - start) * 1000)
    value = json.loads(body)["value"]
    return {
        "html_bytes": len(value.encode("utf-8")),
        "api_bytes": len(body),
        "api_ms": _stats(times),
    }


def _stats(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 1),
        "min": round(min(values), 1),
        "max": round(max(values), 1),
    }


def _render(browser: Any, store: DemoStore, run_id: str, artifact: str) -> dict[str, Any]:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    blocked: list[str] = []
    page.on(
        "console",
        lambda m: blocked.append(m.text) if "Blocked script execution" in m.text else None,
    )
    wait_for_dag(page, f"{store.url}/projects/default/runs/{run_id}")
    page.locator(f".react-flow__node[data-id$='/outputs/step_output/{artifact}']").click()
    sheet = page.get_by_role("dialog")
    sheet.get_by_role("tab", name="Visualization").click()
    button = sheet.get_by_role("button", name="Load Preview")
    button.wait_for()
    start = time.perf_counter()
    with page.expect_response(lambda r: "/visualize" in r.url, timeout=120_000) as answer:
        button.click()
    answer.value.finished()
    response_ms = (time.perf_counter() - start) * 1000
    page.locator(IFRAME).wait_for(state="attached", timeout=120_000)
    frame = page.frame_locator(IFRAME)
    frame.locator("body").wait_for(state="attached", timeout=120_000)
    child = next(f for f in page.frames if f.parent_frame is not None)
    child.wait_for_load_state("load", timeout=120_000)
    load_ms = (time.perf_counter() - start) * 1000
    visible_ms = None
    if artifact == "drift_report":
        frame.locator("p.headline").first.wait_for(state="visible", timeout=120_000)
        visible_ms = (time.perf_counter() - start) * 1000
    time.sleep(1.0)  # let the frame's scripts (if any) be refused and logged
    result = {
        "response_ms": response_ms,
        "load_ms": load_ms,
        "visible_ms": visible_ms,
        "visible_chars": len(frame.locator("body").inner_text().strip()),
        "inline_plots": frame.locator("svg").count(),
        "blocked_scripts": len(blocked),
    }
    page.close()
    return result


def _browser_runs(store: DemoStore, run_id: str, artifact: str, repeats: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    runs = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        _render(browser, store, run_id, artifact)  # warm-up: the dashboard's assets cached
        runs = [_render(browser, store, run_id, artifact) for _ in range(repeats)]
        browser.close()
    out: dict[str, Any] = {
        key: _stats([r[key] for r in runs]) for key in ("response_ms", "load_ms")
    }
    if runs[0]["visible_ms"] is not None:
        out["visible_ms"] = _stats([r["visible_ms"] for r in runs])
    for key in ("visible_chars", "inline_plots", "blocked_scripts"):
        out[key] = runs[-1][key]
    out["runs"] = runs
    return out


def _markdown(result: dict[str, Any]) -> str:
    rows = [
        "| page | HTML (bytes) | API answer (bytes) | server answer (ms) | click to answer (ms) "
        "| click to iframe load (ms) | click to headline shown (ms) | visible text (chars) "
        "| inline plots | blocked scripts |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, label in (
        ("view", "`drift_report` (static view)"),
        ("evidently", "Evidently's page (before)"),
    ):
        v = result["pages"][name]
        shown = v.get("visible_ms", {}).get("median", "never")
        rows.append(
            f"| {label} | {v['html_bytes']:,} | {v['api_bytes']:,} | {v['api_ms']['median']} "
            f"| {v['response_ms']['median']} | {v['load_ms']['median']} | {shown} "
            f"| {v['visible_chars']:,} | {v['inline_plots']} | {v['blocked_scripts']} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    """Build the store, measure both pages, write the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result: dict[str, Any] = {
        "benchmark": "dashboard_drift_report",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "git": git_state().short_commit,
        "machine": machine_info("cpus", "python"),
        "load_at_start": load_average(),
        "repeats": args.repeats,
    }
    store = DemoStore.create()
    try:
        store.build()
        store.serve()
        monitoring = store.runs["monitoring"]
        store.run("python", "-m", "benchmarks.evidently_page_pipeline", monitoring)
        published = store.api(
            "runs?pipeline_name=evidently_page_benchmark&sort_by=desc:created&size=1"
        )["items"][0]["id"]
        result["store_build_s"] = store.seconds
        pages = {
            "view": (monitoring, "drift_report", "detect_drift"),
            "evidently": (published, "evidently_page", "publish_evidently_page"),
        }
        result["pages"] = {}
        for name, (run_id, artifact, step) in pages.items():
            artifact_id = store.step_output(run_id, step, artifact)["id"]
            measured = _api(store, artifact_id, args.repeats)
            measured.update(_browser_runs(store, run_id, artifact, args.repeats))
            result["pages"][name] = measured
    finally:
        store.remove()
    result["load_at_end"] = load_average()
    result["total_s"] = round(time.perf_counter() - started, 1)
    print(write_results(RESULTS, result, _markdown))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
