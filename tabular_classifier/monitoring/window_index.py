"""Pass 1 of reading a window: which logged rows belong to it, and their latency percentiles.

Reads only ``timestamp``, ``model_version``, ``model_name``, ``request_id`` and ``latency_ms``
of every logged row (about 17 bytes per row kept in memory), then selects the window's rows
(time range, model version, newest ``last_n``) and draws the uniform sample above ``max_rows``.
Pass 2 (the feature and prediction columns of the chosen rows) is
:func:`tabular_classifier.monitoring.window.read_window`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tabular_classifier.errors import DataValidationError
from tabular_classifier.monitoring.config import WindowConfig
from tabular_classifier.monitoring.log_files import SkippedRows, chunks, columns_of
from tabular_classifier.monitoring.window_info import (
    LATENCY,
    MODEL_VERSION,
    REQUEST_ID,
    TIMESTAMP,
    WindowInfo,
)


def _timestamps(
    values: pd.Series, source: str, skipped: SkippedRows | None
) -> tuple[np.ndarray, np.ndarray]:
    """Timestamps as int64 ns, and the mask of unparseable ones.

    Raises:
        DataValidationError: On an unparseable timestamp when ``skipped`` is None.
    """
    parsed = pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")
    bad = (parsed.isna() & values.notna()).to_numpy()
    if bad.any():
        positions = np.flatnonzero(bad)
        if skipped is None:
            example = values.iloc[positions[0]]
            raise DataValidationError(source, TIMESTAMP, f"not an ISO 8601 time: {example!r}")
        for position in positions:
            skipped.add(
                source,
                int(values.index[position]),
                TIMESTAMP,
                "bad_timestamp",
                f"{source}: column '{TIMESTAMP}': not an ISO 8601 time: "
                f"{values.iloc[position]!r}; skipped",
            )
    stamps = parsed.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    return np.where(bad, _NO_TIME, stamps), bad


MODEL_NAME = "model_name"


@dataclass
class _Index:
    """Pass 1's result: one entry per logged row, in read order."""

    timestamps: np.ndarray  # int64 ns since epoch; INT64_MIN when unknown
    versions: np.ndarray  # int32 codes into `version_names`, -1 when unknown
    own: np.ndarray  # bool: the row's model_name is the monitored model (or not recorded)
    bounds: list[int]  # global row number at which each source starts, plus the total
    latency: np.ndarray  # float64 ms, NaN for batch rows and all but a request's first row
    version_names: list[str]


_NO_TIME = np.iinfo(np.int64).min


def _index(
    sources: list[Path], model_name: str | None, skipped: SkippedRows, strict: bool
) -> _Index:
    stamps: list[np.ndarray] = []
    versions: list[np.ndarray] = []
    latencies: list[np.ndarray] = []
    own: list[np.ndarray] = []
    bounds = [0]
    names: dict[str, int] = {}
    meta = (TIMESTAMP, MODEL_VERSION, LATENCY, REQUEST_ID, MODEL_NAME)
    for path in sources:
        available = columns_of(path)
        wanted = [c for c in meta if c in available]
        previous_request: Any = None
        chunks_before = len(stamps)
        first_column = available[:1]
        for chunk in chunks(path, wanted or first_column, skipped):
            n = len(chunk)
            if MODEL_NAME in chunk and model_name is not None:
                mine = (chunk[MODEL_NAME].astype(str) == model_name).to_numpy(bool)
            else:
                mine = np.ones(n, dtype=bool)
            if TIMESTAMP in chunk:
                times, bad_time = _timestamps(
                    chunk[TIMESTAMP], str(path), None if strict else skipped
                )
                mine &= ~bad_time
                stamps.append(times)
            else:
                stamps.append(np.full(n, _NO_TIME, dtype=np.int64))
            own.append(mine)
            if MODEL_VERSION in chunk:
                text = chunk[MODEL_VERSION].astype("string").fillna("")
                codes, uniques = pd.factorize(text)
                mapping = np.array(
                    [names.setdefault(str(u), len(names)) if u else -1 for u in uniques] or [0],
                    dtype=np.int32,
                )
                versions.append(np.where(codes >= 0, mapping[np.maximum(codes, 0)], -1))
            else:
                versions.append(np.full(n, -1, dtype=np.int32))
            if LATENCY in chunk:
                latency = pd.to_numeric(chunk[LATENCY], errors="coerce").to_numpy(float)
                if REQUEST_ID in chunk and n:
                    # A request's rows are logged together and share its latency: count each
                    # request once, so percentiles are per request, not per row.
                    ids = chunk[REQUEST_ID].astype("string").fillna("").to_numpy(object)
                    repeat = np.empty(n, dtype=bool)
                    repeat[0] = ids[0] != "" and ids[0] == previous_request
                    repeat[1:] = (ids[1:] == ids[:-1]) & (ids[1:] != "")
                    latency = np.where(repeat, np.nan, latency)
                    previous_request = ids[-1]
                latencies.append(latency)
            else:
                latencies.append(np.full(n, np.nan))
        bounds.append(bounds[-1] + sum(len(a) for a in stamps[chunks_before:]))
    if not stamps:
        empty_i = np.empty(0, dtype=np.int64)
        empty = (np.empty(0, dtype=np.int32), np.empty(0, dtype=bool))
        return _Index(empty_i, empty[0], empty[1], bounds, np.empty(0), [])
    return _Index(
        np.concatenate(stamps),
        np.concatenate(versions).astype(np.int32),
        np.concatenate(own),
        bounds,
        np.concatenate(latencies),
        sorted(names, key=names.__getitem__),
    )


def latency_percentiles(latency_ms: np.ndarray) -> dict[str, float]:
    """p50, p95 and p99 of request latencies (numpy's linear interpolation).

    Args:
        latency_ms: float64 (n,) latencies in milliseconds; NaN entries (batch rows) are ignored.

    Returns:
        ``{"n": count, "p50_ms", "p95_ms", "p99_ms"}``; only ``n = 0`` when there are none.
    """
    values = latency_ms[~np.isnan(latency_ms)]
    if values.size == 0:
        return {"n": 0}
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {"n": int(values.size), "p50_ms": float(p50), "p95_ms": float(p95), "p99_ms": float(p99)}


def _iso(ns: int) -> str | None:
    return None if ns == _NO_TIME else pd.Timestamp(ns, tz="UTC").isoformat()


def select_rows(index: _Index, cfg: WindowConfig) -> tuple[np.ndarray, WindowInfo]:
    """Decide the window's rows from pass 1's index.

    Args:
        index: Timestamps, model versions and latencies of every logged row.
        cfg: The window settings.

    Returns:
        The sorted global row numbers to read, and the window's description (``sources`` empty).

    Raises:
        DataValidationError: If a time filter is set but the rows have no timestamps.
    """
    n = index.timestamps.size
    in_time = index.own.copy()  # rows of other models never belong to the window
    if (cfg.since or cfg.until) and n and (index.timestamps == _NO_TIME).all():
        raise DataValidationError(
            str(cfg.path), TIMESTAMP, "'since'/'until' need a timestamp column"
        )
    if cfg.since:
        in_time &= index.timestamps >= pd.Timestamp(cfg.since).value
    if cfg.until:
        in_time &= index.timestamps < pd.Timestamp(cfg.until).value

    version = cfg.model_version
    if version is None and in_time.any():
        known = in_time & (index.versions >= 0)
        if known.any():
            newest = np.flatnonzero(known)[np.argmax(index.timestamps[known])]
            version = index.version_names[index.versions[newest]]
    if version is not None and index.version_names:
        code = index.version_names.index(version) if version in index.version_names else -2
        chosen = in_time & (index.versions == code)
        if (index.versions == -1).all():
            chosen = in_time  # a file without a model_version column: all rows are `version`
    else:
        chosen = in_time
    others: dict[str, int] = {}
    for code in np.unique(index.versions[in_time & ~chosen]):
        name = index.version_names[code] if code >= 0 else "<unknown>"
        others[name] = int((in_time & ~chosen & (index.versions == code)).sum())

    rows = np.flatnonzero(chosen)
    if cfg.last_n is not None and rows.size > cfg.last_n:
        newest_first = np.argsort(index.timestamps[rows], kind="stable")
        rows = np.sort(rows[newest_first[-cfg.last_n :]])
    latency = latency_percentiles(index.latency[rows])
    stamps = index.timestamps[rows]
    known_stamps = stamps[stamps != _NO_TIME]
    in_window = rows.size
    sampled = cfg.max_rows is not None and in_window > cfg.max_rows
    if sampled:
        rng = np.random.default_rng(cfg.sample_seed)
        rows = np.sort(rng.choice(rows, size=cfg.max_rows, replace=False))
    info = WindowInfo(
        sources=[],
        start=_iso(int(known_stamps.min())) if known_stamps.size else None,
        end=_iso(int(known_stamps.max())) if known_stamps.size else None,
        rows_in_window=int(in_window),
        rows_used=int(rows.size),
        sampled=bool(sampled),
        model_version=version,
        other_versions=others,
        latency=latency,
        selection=cfg.model_dump(mode="json"),
    )
    return rows, info
