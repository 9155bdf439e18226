"""The current data: a window of the prediction log (or one file), read with bounded memory.

The log can hold millions of rows (``serving-*.jsonl`` from the gateway, ``batch-*.parquet``
from batch inference; see ``serving.prediction_log``). The window is read in two streaming passes
over chunks of :data:`CHUNK_ROWS` rows:

1. only ``timestamp``, ``model_version`` and ``latency_ms``: decides which rows belong to the
   window (time range, model version, newest ``last_n``), computes the latency percentiles over
   *all* of them, and draws the uniform sample when the window exceeds ``max_rows``;
2. the feature and prediction columns of the chosen rows only.

Memory is therefore about 17 bytes per logged row for pass 1 (timestamp, a version code, latency)
plus ``max_rows`` full rows, plus the decoding of one chunk (measured: ~0.35 GiB of peak RSS for
100,000 rows x 33 columns; batch inference writes Parquet row groups of 100,000 rows, and a file
written elsewhere with larger row groups costs proportionally more). Reading a 1,000,000-row batch
file into a 200,000-row sample raised peak RSS by 0.65 GiB.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tabular_classifier.contract import RowContract
from tabular_classifier.data import coerce_numeric_text
from tabular_classifier.errors import DataValidationError, InputValidationError
from tabular_classifier.monitoring.config import WindowConfig
from tabular_classifier.monitoring.log_files import (
    MISSING_KEY,
    SkippedRows,
    chunks,
    columns_of,
    log_sources,
)

PROBABILITY = "probability"
LABEL = "label"
TIMESTAMP = "timestamp"
MODEL_VERSION = "model_version"
LATENCY = "latency_ms"
PREDICTION_ID = "prediction_id"
REQUEST_ID = "request_id"
# Names used for the prediction columns in the monitoring reference (``reference_data``).
REFERENCE_PROBABILITY = "prediction_probability"
REFERENCE_LABEL = "prediction_label"


@dataclass
class WindowInfo:
    """What the current data is.

    Attributes:
        sources: The files read (prediction-log files or the configured file).
        start: Timestamp of the oldest row in the window (ISO 8601), or None without timestamps.
        end: Timestamp of the newest row, or None.
        rows_in_window: Rows that matched the window (time range, model version, last_n).
        rows_used: Rows handed to Evidently: ``rows_in_window``, or the sample's size, less
            the rows left out (``skipped``).
        sampled: Whether the rows were sampled (``rows_in_window > max_rows``).
        model_version: The model version monitored.
        other_versions: Rows in the time range made by other model versions, left out.
        latency: ``{"n", "p50_ms", "p95_ms", "p99_ms"}`` over every served request of the
            window (one value per ``request_id``; batch rows have none); ``n = 0`` when there
            are none.
        selection: The window settings used, as given.
        skipped: ``SkippedRows.to_dict()``: the lines and rows of the prediction log left out
            (torn lines, rows the row contract refuses, bad probabilities or timestamps), with
            their file and line.
    """

    sources: list[str]
    start: str | None
    end: str | None
    rows_in_window: int
    rows_used: int
    sampled: bool
    model_version: str | None
    other_versions: dict[str, int] = field(default_factory=dict)
    latency: dict[str, float] = field(default_factory=dict)
    selection: dict[str, Any] = field(default_factory=dict)
    skipped: dict[str, Any] = field(default_factory=lambda: SkippedRows().to_dict())

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary."""
        return asdict(self)


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


FeatureLookup = Callable[[str | None], RowContract | None]


def _complete_lines(
    picked: pd.DataFrame, path: Path, skipped: SkippedRows, strict: bool
) -> pd.DataFrame:
    """The picked JSON lines that hold every needed key; the others are reported as skipped.

    Args:
        picked: Rows read with ``missing_keys=True`` (CSV and Parquet rows pass unchanged).
        path: Their file.
        skipped: Where lines lacking a key are reported (kind ``missing_column``).
        strict: A window file (``window.path``): the first line lacking a key is an error.

    Returns:
        ``picked`` without the lines that lack a key, and without the :data:`MISSING_KEY` column.

    Raises:
        DataValidationError: In strict mode, naming the file, the key and the line.
    """
    if MISSING_KEY not in picked:
        return picked
    lacking = picked[MISSING_KEY].notna().to_numpy()
    if strict and lacking.any():
        label = picked.index[lacking][0]
        column = str(picked.loc[label, MISSING_KEY])
        raise DataValidationError(
            str(path), column, f"line {label} has no '{column}' (the model version expects it)"
        )
    for label, column in picked.loc[lacking, MISSING_KEY].items():
        skipped.add(
            str(path),
            int(label),
            str(column),
            "missing_column",
            f"{path}: line {label} has no '{column}' (the model version expects it); skipped",
        )
    return picked.loc[~lacking].drop(columns=MISSING_KEY)


def _usable_rows(
    picked: pd.DataFrame,
    contract: RowContract,
    path: Path,
    skipped: SkippedRows,
    strict: bool,
) -> pd.DataFrame:
    """The picked rows that the contract accepts and that hold a probability in [0, 1].

    Returns:
        Features in the contract's analysis dtypes, ``prediction_probability`` (float64),
        ``prediction_label`` (str) and ``prediction_id`` when read.

    Raises:
        DataValidationError: In strict mode, for the first bad row (file, column, row).
    """
    source = str(path)
    features = picked[contract.names]
    if path.suffix.lower() == ".csv":
        features = coerce_numeric_text(features, contract.numeric_features, source)
    if strict:
        try:
            rows = contract.parse_frame(features)
        except InputValidationError as exc:
            raise DataValidationError(source, exc.column, str(exc)) from exc
    else:
        rows, problems = contract.split_valid(features)
        for problem in problems:
            label = int(picked.index[problem.position])
            skipped.add(source, label, problem.column, problem.kind, f"{source}: {problem.message}")
    keep = rows.index
    probability = pd.to_numeric(picked.loc[keep, PROBABILITY], errors="coerce")
    good = (probability >= 0) & (probability <= 1)
    if not good.all():
        bad_labels = probability.index[~good.to_numpy()]
        if strict:
            raise DataValidationError(
                source,
                PROBABILITY,
                f"{int((~good).sum())} rows are not probabilities in [0, 1] (first: "
                f"{picked.loc[bad_labels[0], PROBABILITY]!r} at row {bad_labels[0]})",
            )
        for label in bad_labels:
            skipped.add(
                source,
                int(label),
                PROBABILITY,
                "bad_probability",
                f"{source}: column '{PROBABILITY}': {picked.loc[label, PROBABILITY]!r} is not a "
                "probability in [0, 1]; skipped",
            )
        rows = rows.take(np.flatnonzero(good.to_numpy()))
        keep = rows.index
    out = rows.analysis_frame()
    out[REFERENCE_PROBABILITY] = probability.loc[keep].astype("float64").to_numpy()
    out[REFERENCE_LABEL] = picked.loc[keep, LABEL].astype(str).to_numpy()
    if PREDICTION_ID in picked:
        out[PREDICTION_ID] = picked.loc[keep, PREDICTION_ID].to_numpy()
    return out.reset_index(drop=True)


def read_window(
    cfg: WindowConfig,
    log_dir: Path,
    contract_for: FeatureLookup,
    model_name: str | None = None,
) -> tuple[pd.DataFrame, WindowInfo]:
    """Read the current data.

    Args:
        cfg: The window settings (``cfg.path`` overrides ``log_dir``).
        log_dir: The prediction-log directory, used when ``cfg.path`` is not set.
        contract_for: Called once with the chosen model version (None when no row matched, or
            the source has no ``model_version`` and none is configured); returns that
            version's row contract (None: no rows to read).
        model_name: Keep only rows whose ``model_name`` is this (rows of files without that
            column are kept): one log holds every model's predictions.

    Returns:
        The window, shape (rows_used, n_features + 2 or 3): the features in the contract's
        analysis dtypes (``RowContract.analysis_frame``, as the reference's),
        ``prediction_probability`` (float64) and ``prediction_label`` (str) - the reference's
        column names - plus ``prediction_id`` when the source has it; and the window's
        :class:`WindowInfo`. ``sources`` lists the files that contributed rows; ``skipped``
        the lines and rows left out.

    Raises:
        DataValidationError: Naming the file (and the column and row where one is at fault)
            when the window file is missing, empty or unreadable, or, for a window file
            (``cfg.path``), holds a bad row; and when a contributing prediction-log file lacks a
            feature or prediction column.
    """
    strict = bool(cfg.path)
    sources = [Path(cfg.path).expanduser()] if cfg.path else log_sources(log_dir)
    if cfg.path and not sources[0].is_file():
        raise DataValidationError(str(sources[0]), None, "window file does not exist")
    skipped = SkippedRows()
    index = _index(sources, model_name, skipped, strict)
    if strict and skipped.total:
        first = skipped.examples[0]
        raise DataValidationError(str(sources[0]), first["column"], first["message"])
    rows, info = select_rows(index, cfg)
    # Only files that hold rows of the window are read (and checked) again.
    contributing = [
        (path, start)
        for path, start, end in zip(sources, index.bounds[:-1], index.bounds[1:], strict=True)
        if np.searchsorted(rows, end) > np.searchsorted(rows, start)
    ]
    info.sources = [str(p) for p, _start in contributing]
    contract = contract_for(info.model_version) if rows.size else None
    features = contract.names if contract is not None else []
    wanted = [*features, PROBABILITY, LABEL]
    readable = []
    for path, start in contributing:
        if path.suffix.lower() == ".jsonl":
            # Lines of one file may come from different models (one serving log per day for
            # every model): whether a row has a column is decided line by line when it is read.
            readable.append((path, start))
            continue
        available = set(columns_of(path))
        missing = [c for c in wanted if c not in available]
        if not missing:
            readable.append((path, start))
            continue
        detail = (
            f"missing from the current data ({len(missing)} missing: {missing[:10]}); the "
            f"model version expects {len(features)} features plus '{PROBABILITY}' and '{LABEL}'"
        )
        if strict:
            raise DataValidationError(str(path), missing[0], detail)
        end = index.bounds[index.bounds.index(start) + 1]
        count = int(np.searchsorted(rows, end) - np.searchsorted(rows, start))
        skipped.add(str(path), 0, missing[0], "missing_column", f"{path}: {detail}; skipped", count)

    parts: list[pd.DataFrame] = []
    if contract is not None:
        for path, offset in readable:
            columns = wanted + ([PREDICTION_ID] if PREDICTION_ID in columns_of(path) else [])
            for chunk in chunks(path, columns, missing_keys=True):
                lo, hi = np.searchsorted(rows, [offset, offset + len(chunk)])
                if hi > lo:
                    picked = chunk.iloc[rows[lo:hi] - offset]
                    picked = _complete_lines(picked, path, skipped, strict)
                    if len(picked):
                        parts.append(_usable_rows(picked, contract, path, skipped, strict))
                offset += len(chunk)
    if parts:
        window = pd.concat(parts, ignore_index=True)
    else:
        window = pd.DataFrame(
            {c: pd.Series(dtype="float64") for c in [*features, REFERENCE_PROBABILITY]}
            | {REFERENCE_LABEL: pd.Series(dtype=object)}
        )
    info.rows_used = len(window)
    info.skipped = skipped.to_dict()
    return window, info


def read_labelled_predictions(info: WindowInfo, ids: set[str]) -> pd.DataFrame:
    """The window's predictions that have a ground-truth label, read in one streaming pass.

    Args:
        info: The window read by :func:`read_window` (its sources, bounds and model version).
        ids: Prediction ids that have a label.

    Returns:
        Columns ``prediction_id`` (str), ``probability`` (float64), ``label`` (str) for every
        labelled prediction of the monitored model version in the time range (not sampled),
        whose probability is in [0, 1] (others were reported as skipped by
        :func:`read_window`).

    Raises:
        DataValidationError: If a source has no ``prediction_id`` column.
    """
    columns = [PREDICTION_ID, PROBABILITY, LABEL]
    parts: list[pd.DataFrame] = []
    for source in info.sources:
        path = Path(source)
        available = columns_of(path)
        if PREDICTION_ID not in available:
            raise DataValidationError(
                source, PREDICTION_ID, "needed to join ground-truth labels to predictions"
            )
        extra = [c for c in (TIMESTAMP, MODEL_VERSION) if c in available]
        for chunk in chunks(path, columns + extra):
            keep = chunk[PREDICTION_ID].astype(str).isin(ids)
            if MODEL_VERSION in chunk and info.model_version is not None:
                keep &= chunk[MODEL_VERSION].astype(str) == info.model_version
            if TIMESTAMP in chunk and (info.start or info.end):
                # The window's own bounds: the time filter and, with last_n, its oldest row.
                stamps, bad = _timestamps(chunk[TIMESTAMP], source, SkippedRows())
                keep &= ~bad
                if info.start:
                    keep &= stamps >= pd.Timestamp(info.start).value
                if info.end:
                    keep &= stamps <= pd.Timestamp(info.end).value
            if keep.any():
                parts.append(chunk.loc[keep, columns])
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    out = pd.concat(parts, ignore_index=True)
    out[PREDICTION_ID] = out[PREDICTION_ID].astype(str)
    out[PROBABILITY] = pd.to_numeric(out[PROBABILITY], errors="coerce").astype("float64")
    out = out[(out[PROBABILITY] >= 0) & (out[PROBABILITY] <= 1)]
    out[LABEL] = out[LABEL].astype(str)
    return out.reset_index(drop=True)
