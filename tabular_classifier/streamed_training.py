"""Training from the stored table a column, then a row group, at a time: memory that stays flat.

:func:`~tabular_classifier.training.fit_bundle` takes the training and validation splits as
DataFrames; the training step used to get the whole ingested table from ZenML, take both splits
out of it, parse them and transform them, holding about 1.1 KB per table row at 31 float64
columns (4.4 copies). :func:`fit_bundle_streamed` builds the same bundle from the stored Parquet
file (:class:`~tabular_classifier.parquet_table.ParquetTable`) and the split codes:

1. **One column at a time** (memory: one column of the table): take the column's training rows,
   infer its part of the row contract (type, nullability, range), parse them through it, and
   compute its preprocessing statistics (median, mean, scale; or categories). Every one of these
   is column-wise in :func:`fit_bundle` too, so the results are the same numbers.
2. **One row group at a time** (memory: one group, 131,072 rows): parse the group's training
   and validation rows through the contract and write their preprocessed float32 features into
   arrays allocated once, with the labels.
3. Train on those arrays (:func:`~tabular_classifier.training_loop.train_classifier`), then
   assemble and calibrate the bundle as :func:`fit_bundle` does.

What remains in memory is what training needs: float32 features of the training and validation
rows (4 bytes per output feature per row: 96 MB for 800k rows x 30) plus one row group. The
bundle is identical to :func:`fit_bundle`'s on the same rows
(``tests/unit/test_streamed_training.py`` compares contract, preprocessing, weights, temperature
and threshold).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from tabular_classifier.contract import RowContract
from tabular_classifier.contract.inference import infer_specs
from tabular_classifier.data_validation import coerce_numeric_text
from tabular_classifier.feature_arrays import distinct_categories, numeric_statistics
from tabular_classifier.feature_schema import FeatureSchema
from tabular_classifier.fitted_preprocessor import CHUNK_ROWS, FittedPreprocessor
from tabular_classifier.labels import encode_target
from tabular_classifier.model_config import ModelConfig
from tabular_classifier.parquet_table import ParquetTable
from tabular_classifier.predictor import ModelBundle, Predictor
from tabular_classifier.split_assignment import SPLIT_CODES
from tabular_classifier.splits import DataSplit
from tabular_classifier.training import assemble_bundle, calibrate_logits
from tabular_classifier.training_loop import EpochRecord, TrainingResult, train_classifier

_SPLITS = ("train", "val")


def fit_bundle_streamed(
    cfg: ModelConfig,
    schema: FeatureSchema,
    table: ParquetTable,
    split: DataSplit,
    na_values: Sequence[str] = (),
    on_epoch: Callable[[EpochRecord], None] | None = None,
    extra: dict[str, Any] | None = None,
) -> tuple[ModelBundle, TrainingResult]:
    """Build a model bundle from the stored table, reading it by column and by row group.

    The same bundle as ``fit_bundle(cfg, schema, split.take(df, "train", schema),
    split.take(df, "val", schema), ...)`` on the whole table ``df``; see the module docstring.

    Args:
        cfg: Architecture and training hyperparameters.
        schema: The feature schema from validation.
        table: The ingested table (the data version ``split`` was computed on).
        split: Which rows are training and which validation rows.
        na_values: The data config's ``na_values``, recorded in the contract.
        on_epoch: Called with each epoch's record.
        extra: Free JSON-safe metadata for the bundle, as :func:`fit_bundle`.

    Returns:
        The bundle and the training result, as :func:`fit_bundle`.

    Raises:
        ValueError: If the table's row count differs from the split's (another data version),
            or as :func:`fit_bundle`.
        KeyError: If the table lacks a feature or the target (naming the file).
        DataValidationError: If a numeric feature holds text that is not a number (naming the
            file, column and row).
        InputValidationError: If a validation row breaks the contract inferred from the
            training rows; rows are named by their position in their split, as ``fit_bundle``
            names them.
    """
    split.check_table_rows(table.n_rows)
    numeric, categorical = list(schema.numeric_features), list(schema.categorical_features)
    train_rows = split.codes == SPLIT_CODES["train"]
    contract, preprocessor = _fit_by_column(
        table, train_rows, numeric, categorical, schema, na_values, split.data_path
    )
    arrays = _features_by_row_group(table, split, contract, preprocessor, schema)
    result = train_classifier(cfg, *arrays["train"], *arrays["val"], on_epoch=on_epoch)
    bundle = assemble_bundle(cfg, schema, contract, preprocessor, result, extra)
    Predictor(bundle)  # puts the network in evaluation mode, as Predictor.logits does
    x_val, y_val = arrays["val"]
    with torch.inference_mode():
        logits = bundle.model(torch.from_numpy(x_val)).double().numpy()
    calibrate_logits(bundle, logits, y_val)
    return bundle, result


def _fit_by_column(
    table: ParquetTable,
    train_rows: np.ndarray,
    numeric: list[str],
    categorical: list[str],
    schema: FeatureSchema,
    na_values: Sequence[str],
    source: str,
) -> tuple[RowContract, FittedPreprocessor]:
    """The row contract and the preprocessing, fitted one column of the training rows at a time."""
    specs, medians, means, scales, categories = [], [], [], [], []
    for name in [*numeric, *categorical]:
        is_numeric = name in numeric
        frame = table.column(name)[train_rows].to_frame()
        frame.index = pd.RangeIndex(len(frame))
        if is_numeric:
            frame = coerce_numeric_text(frame, [name], source)
        spec = infer_specs(frame, [name] if is_numeric else [], [] if is_numeric else [name])[0]
        parsed = RowContract([spec], na_values=na_values).parse_frame(frame)
        if is_numeric:
            median, mean, scale = numeric_statistics(parsed.numeric, CHUNK_ROWS)
            medians.append(median[0])
            means.append(mean[0])
            scales.append(scale[0])
        else:
            categories.append(distinct_categories(parsed.categorical[:, 0], CHUNK_ROWS))
        specs.append(spec)
    contract = RowContract(specs, [schema.target, *schema.dropped_columns], na_values)
    preprocessor = FittedPreprocessor(
        numeric,
        np.asarray(medians, dtype=np.float64),
        np.asarray(means, dtype=np.float64),
        np.asarray(scales, dtype=np.float64),
        categorical,
        categories,
    )
    return contract, preprocessor


def _features_by_row_group(
    table: ParquetTable,
    split: DataSplit,
    contract: RowContract,
    preprocessor: FittedPreprocessor,
    schema: FeatureSchema,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """float32 features and int64 labels of the training and validation rows, by row group."""
    counts = split.counts
    width = preprocessor.n_features_out
    arrays = {
        name: (
            np.empty((counts[name], width), dtype=np.float32),
            np.empty(counts[name], dtype=np.int64),
        )
        for name in _SPLITS
    }
    filled = dict.fromkeys(_SPLITS, 0)
    numeric = list(schema.numeric_features)
    for start, group in table.row_groups([*contract.names, schema.target]):
        codes = split.codes[start : start + len(group)]
        for name in _SPLITS:
            rows = group[codes == SPLIT_CODES[name]]
            if rows.empty:
                continue
            offset = filled[name]
            # Labels are positions in the split, as DataSplit.take gives them.
            rows.index = pd.RangeIndex(offset, offset + len(rows))
            rows = coerce_numeric_text(rows, numeric, split.data_path)
            x, y = arrays[name]
            x[offset : offset + len(rows)] = preprocessor.transform_parsed(
                contract.parse_frame(rows)
            )
            y[offset : offset + len(rows)] = encode_target(rows[schema.target], schema)
            filled[name] = offset + len(rows)
    return arrays
