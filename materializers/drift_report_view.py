"""The drift report as the ZenML dashboard shows it: static HTML, no JavaScript, nothing fetched.

ZenML 0.98 shows HTML visualizations in an iframe sandboxed without scripts, 384 pixels high
(``h-96``), so Evidently's own page, drawn by JavaScript, is blank there. This view draws the
same report from Evidently's JSON result: the dataset-drift headline, the prediction drift, and
a table of every feature's test, threshold, score and verdict, each with the reference and the
current distribution as a small inline SVG (Evidently's 10-bin "small distribution"). It is
about seventy times smaller than Evidently's page (``benchmarks/README.md``).

Histograms are drawn for at most :data:`MAX_HISTOGRAMS` features (drifted ones first); the
rest are listed with their numbers only, so that the page stays small on wide data.
"""

from __future__ import annotations

import html
from typing import Any

from tabular_classifier.monitoring.report import DriftReport

MAX_HISTOGRAMS = 100
WIDTH, HEIGHT = 160, 36
REFERENCE_COLOUR, CURRENT_COLOUR = "#9aa5b1", "#d9480f"

STYLE = """
body { font: 13px/1.45 system-ui, sans-serif; color: #1f2933; margin: 12px; }
h1 { font-size: 18px; margin: 0 0 8px; } h2 { font-size: 15px; margin: 18px 0 6px; }
.headline { padding: 8px 12px; border-radius: 6px; margin: 8px 0; font-size: 14px; }
.drift { background: #fff4e6; border: 1px solid #d9480f; }
.ok { background: #ebfbee; border: 1px solid #2b8a3e; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #d9e2ec; padding: 3px 6px; text-align: left; vertical-align: middle; }
th { background: #f0f4f8; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.drifted td { background: #fff4e6; } .key { font-size: 12px; color: #52606d; }
.swatch { display: inline-block; width: 10px; height: 10px; margin: 0 3px 0 8px; }
"""


def _e(value: Any) -> str:
    return html.escape(str(value))


def _num(value: Any) -> str:
    return "" if value is None else f"{value:.4g}" if isinstance(value, float) else _e(value)


def _bars(values: list[float], lefts: list[float], widths: list[float], colour: str) -> str:
    top = max(values) or 1.0
    return "".join(
        f'<rect x="{x:.1f}" y="{HEIGHT - HEIGHT * v / top:.1f}" width="{w:.1f}" '
        f'height="{HEIGHT * v / top:.1f}" fill="{colour}" fill-opacity="0.6"/>'
        for v, x, w in zip(values, lefts, widths, strict=True)
    )


def histogram_svg(column: str, distributions: dict[str, dict[str, list[Any]]]) -> str:
    """Reference and current distributions of one column as an inline SVG.

    Args:
        column: The column's name (for the accessible label).
        distributions: From :meth:`DriftReport.distributions`.

    Returns:
        An ``<svg>`` element, :data:`WIDTH` x :data:`HEIGHT` pixels: numeric columns as
        overlaid density bars on a shared axis, categorical ones as paired bars of the share
        of each category; "" when there is no distribution.
    """
    if not distributions:
        return ""
    ref, cur = distributions["reference"], distributions["current"]
    numeric = len(ref["x"]) == len(ref["y"]) + 1 and all(
        isinstance(v, int | float) for v in [*ref["x"], *cur["x"]]
    )
    if numeric:
        low = min(ref["x"][0], cur["x"][0])
        span = (max(ref["x"][-1], cur["x"][-1]) - low) or 1.0

        def place(edges: list[float]) -> tuple[list[float], list[float]]:
            lefts = [(e - low) / span * WIDTH for e in edges[:-1]]
            return lefts, [(b - a) / span * WIDTH for a, b in zip(edges, edges[1:], strict=False)]

        body = _bars([float(y) for y in ref["y"]], *place(ref["x"]), REFERENCE_COLOUR)
        body += _bars([float(y) for y in cur["y"]], *place(cur["x"]), CURRENT_COLOUR)
    else:
        categories = list(dict.fromkeys([*map(str, ref["x"]), *map(str, cur["x"])]))

        def shares(side: dict[str, list[Any]]) -> list[float]:
            counts = dict(zip(map(str, side["x"]), side["y"], strict=True))
            total = float(sum(side["y"])) or 1.0
            return [float(counts.get(c, 0)) / total for c in categories]

        slot = WIDTH / max(len(categories), 1)
        lefts = [i * slot for i in range(len(categories))]
        body = _bars(shares(ref), lefts, [slot / 2] * len(categories), REFERENCE_COLOUR)
        body += _bars(
            shares(cur), [x + slot / 2 for x in lefts], [slot / 2] * len(categories), CURRENT_COLOUR
        )
    label = f"{column}: reference (grey) and current (orange) distribution"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-label="{_e(label)}"><title>{_e(label)}</title>{body}</svg>'
    )


def _row(report: DriftReport, drift: dict[str, Any], with_plot: bool) -> str:
    column = drift["column"]
    plot = histogram_svg(column, report.distributions(column)) if with_plot else ""
    return (
        f'<tr class="{"drifted" if drift["drifted"] else ""}"><td>{_e(column)}</td>'
        f'<td>{_e(drift["stattest"])}</td><td class="num">{_num(drift["threshold"])}</td>'
        f'<td class="num">{_num(drift["score"])}</td>'
        f"<td>{'<b>yes</b>' if drift['drifted'] else 'no'}</td><td>{plot}</td></tr>"
    )


TABLE_HEAD = (
    "<table><tr><th>column</th><th>test</th><th>threshold</th><th>score</th>"
    "<th>drifted</th><th>distribution</th></tr>"
)


def drift_report_html(report: DriftReport, full_report_path: str) -> str:
    """The dashboard's view of a drift report.

    Args:
        report: The report.
        full_report_path: Where Evidently's interactive page is (shown as text: links do not
            open from the dashboard's sandboxed iframe).

    Returns:
        A complete HTML document with inline CSS and SVG only.
    """
    summary = report.summary
    window = summary.window
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Drift report</title><style>{STYLE}</style></head><body>",
        f"<h1>Drift report: {_e(summary.model_name)} version {_e(summary.model_version)}</h1>",
        f"<p>Current data: {_e(window.get('rows_used', 0))} predictions "
        f"({_e(window.get('start'))} .. {_e(window.get('end'))}); reference: "
        f"{_e(summary.reference_rows)} rows (the model version's training split).</p>",
    ]
    if summary.status == "insufficient_data":
        parts.append(f'<p class="headline ok">Not enough data: {_e(summary.message)}</p>')
        return "".join(parts) + "</body></html>"
    columns = sorted(summary.columns.values(), key=lambda c: not c["drifted"])
    drifted = len(summary.drifted_columns)
    verdict = "Dataset drift detected" if summary.dataset_drift else "No dataset drift"
    parts.append(
        f'<p class="headline {"drift" if summary.dataset_drift else "ok"}"><b>{verdict}</b>: '
        f"{drifted} of {len(columns)} features drifted (share "
        f"{summary.share_of_drifted_columns:.2f}; dataset drift when the share is at least "
        f"{summary.drift_share:g}).</p>"
    )
    probability, label = summary.prediction["probability"], summary.prediction["label"]
    share = summary.prediction.get("positive_share", {})
    parts.append(
        f'<p class="headline {"drift" if summary.prediction_drift else "ok"}"><b>Prediction '
        f"drift: {'yes' if summary.prediction_drift else 'no'}</b>: predicted probability "
        f"{_e(probability['stattest'])} {_num(probability['score'])} (threshold "
        f"{_num(probability['threshold'])}); positive share "
        f"{share.get('reference', 0):.2f} (reference) -> {share.get('current', 0):.2f}.</p>"
    )
    key = (
        f'<p class="key">Distributions: <span class="swatch" style="background:'
        f'{REFERENCE_COLOUR}"></span>reference <span class="swatch" style="background:'
        f"{CURRENT_COLOUR}\"></span>current (Evidently's 10-bin summaries; categories as "
        "shares).</p>"
    )
    parts += ["<h2>Prediction drift</h2>", key, TABLE_HEAD]
    parts += [_row(report, test, True) for test in (probability, label)]
    parts += ["</table>", f"<h2>Feature drift ({drifted} of {len(columns)} drifted)</h2>"]
    parts.append(TABLE_HEAD)
    parts += [_row(report, c, i < MAX_HISTOGRAMS) for i, c in enumerate(columns)]
    parts.append("</table>")
    if len(columns) > MAX_HISTOGRAMS:
        parts.append(
            f"<p>Distributions are drawn for the first {MAX_HISTOGRAMS} features only.</p>"
        )
    quality = summary.data_quality
    if any(quality.values()):
        parts.append("<h2>Data quality</h2><ul>")
        parts += [
            f"<li>{_e(column)}: {share:.2%} missing</li>"
            for column, share in quality.get("missing_values", {}).items()
        ]
        parts += [
            f"<li>{_e(column)}: {info['count']} values outside the reference range "
            f"[{info['reference_min']:.4g}, {info['reference_max']:.4g}]</li>"
            for column, info in quality.get("out_of_range", {}).items()
        ]
        parts += [
            f"<li>{_e(column)}: {count} categories not in the reference</li>"
            for column, count in quality.get("new_categories", {}).items()
        ]
        parts.append("</ul>")
    parts.append(
        "<h2>Evidently's interactive report</h2><p>Evidently's own page (all metrics, "
        "interactive plots) needs JavaScript, which the dashboard does not run in artifact "
        "views. Open it in a browser: <code>"
        f"{_e(full_report_path)}</code>; the <b>Download</b> button of the artifact's Overview tab "
        "gives an archive holding it.</p></body></html>"
    )
    return "".join(parts)
