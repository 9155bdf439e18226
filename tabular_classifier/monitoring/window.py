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
from pathlib import Path

import numpy as np
import pandas as pd

from tabular_classifier.contract import RowContract
from tabular_classifier.data_validation import coerce_numeric_text
from tabular_classifier.errors import DataValidationError, InputValidationError
from tabular_classifier.monitoring.config import WindowConfig
from tabular_classifier.monitoring.log_files import (
    MISSING_KEY,
    SkippedRows,
    chunks,
    columns_of,
    log_sources,
)
from tabular_classifier.monitoring.window_index import _index, _timestamps, select_rows
from tabular_classifier.monitoring.window_info import (
    LABEL,
    LATENCY,
    MODEL_VERSION,
    PREDICTION_ID,
    PROBABILITY,
    REFERENCE_LABEL,
    REFERENCE_PROBABILITY,
    REQUEST_ID,
    TIMESTAMP,
    WindowInfo,
)

__all__ = [
    "LABEL",
    "LATENCY",
    "MODEL_VERSION",
    "PREDICTION_ID",
    "PROBABILITY",
    "REFERENCE_LABEL",
    "REFERENCE_PROBABILITY",
    "REQUEST_ID",
    "TIMESTAMP",
    "WindowInfo",
    "read_labelled_predictions",
    "read_window",
]


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
        column = str(picked[MISSING_KEY].to_numpy()[lacking][0])
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
    # Rows are selected by position: the rows of one columnar record share its line's number.
    lines = picked.index.to_numpy()
    features = picked[contract.names]
    if path.suffix.lower() == ".csv":
        features = coerce_numeric_text(features, contract.numeric_features, source)
    keep = np.arange(len(picked))
    if strict:
        try:
            rows = contract.parse_frame(features)
        except InputValidationError as exc:
            raise DataValidationError(source, exc.column, str(exc)) from exc
    else:
        rows, problems = contract.split_valid(features)
        for problem in problems:
            label = int(lines[problem.position])
            skipped.add(source, label, problem.column, problem.kind, f"{source}: {problem.message}")
        keep = np.delete(keep, [problem.position for problem in problems])
    logged = picked[PROBABILITY].to_numpy()
    probability = pd.to_numeric(pd.Series(logged[keep]), errors="coerce").to_numpy(np.float64)
    good = (probability >= 0) & (probability <= 1)
    if not good.all():
        bad = keep[~good]
        if strict:
            raise DataValidationError(
                source,
                PROBABILITY,
                f"{int((~good).sum())} rows are not probabilities in [0, 1] (first: "
                f"{logged[bad[0]]!r} at row {lines[bad[0]]})",
            )
        for position in bad:
            skipped.add(
                source,
                int(lines[position]),
                PROBABILITY,
                "bad_probability",
                f"{source}: column '{PROBABILITY}': {logged[position]!r} is not a "
                "probability in [0, 1]; skipped",
            )
        rows = rows.take(np.flatnonzero(good))
        keep, probability = keep[good], probability[good]
    out = rows.analysis_frame().reset_index(drop=True)
    out[REFERENCE_PROBABILITY] = probability
    out[REFERENCE_LABEL] = picked[LABEL].astype(str).to_numpy()[keep]
    if PREDICTION_ID in picked:
        out[PREDICTION_ID] = picked[PREDICTION_ID].to_numpy()[keep]
    return out


def _readable(sources: list[Path], skipped: SkippedRows) -> list[Path]:
    """The prediction-log files whose format can be read; the others are reported as skipped.

    A file in the log directory that is not what its name says (a Parquet file without
    Parquet's magic bytes, e.g. copied in by hand or cut short) would otherwise fail every later
    monitoring run until someone deleted it (walkthrough). It is reported once per run as one
    skipped entry of kind ``unreadable_file``, naming the file and the reader's error.
    """
    readable = []
    for path in sources:
        try:
            columns_of(path)
        except DataValidationError as exc:
            skipped.add(str(path), 0, None, "unreadable_file", f"{exc}; the whole file skipped")
            continue
        readable.append(path)
    return readable


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
            when the window file (``cfg.path``) is missing, empty or unreadable, or holds a bad
            row. A prediction-log file that cannot be read, lacks a needed column or holds bad
            rows is skipped and reported in ``skipped`` instead, so that one bad file never
            blocks monitoring for good.
    """
    strict = bool(cfg.path)
    sources = [Path(cfg.path).expanduser()] if cfg.path else log_sources(log_dir)
    if cfg.path and not sources[0].is_file():
        raise DataValidationError(str(sources[0]), None, "window file does not exist")
    skipped = SkippedRows()
    if not strict:
        sources = _readable(sources, skipped)
    else:
        # A window file must hold predictions; checked before anything asks which model
        # version made them (walkthrough: a raw table was first told to name model_version).
        absent = [c for c in (PROBABILITY, LABEL) if c not in columns_of(sources[0])]
        if absent:
            raise DataValidationError(
                str(sources[0]),
                absent[0],
                f"missing from the current data ({absent}): a window file holds the model's "
                "predictions, with the features and the prediction log's "
                f"'{PROBABILITY}' and '{LABEL}' columns (as batch inference writes them); "
                "score a raw table with the batch-inference pipeline first",
            )
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
                parts.append(chunk.loc[keep.to_numpy(), columns])
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    out = pd.concat(parts, ignore_index=True)
    out[PREDICTION_ID] = out[PREDICTION_ID].astype(str)
    out[PROBABILITY] = pd.to_numeric(out[PROBABILITY], errors="coerce").astype("float64")
    out = out[(out[PROBABILITY] >= 0) & (out[PROBABILITY] <= 1)]
    out[LABEL] = out[LABEL].astype(str)
    return out.reset_index(drop=True)
