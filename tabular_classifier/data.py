"""Data contract: load the training table, validate it, infer its feature schema and split it.

Each job has its own module; this one gathers their public names, the import path most callers
use:

- :mod:`tabular_classifier.table_reader`: reading a CSV or Parquet file (:func:`load_table`,
  :func:`read_table`);
- :mod:`tabular_classifier.data_validation`: the checks and schema inference
  (:func:`validate_and_infer_schema`, :func:`coerce_numeric_text`);
- :mod:`tabular_classifier.feature_schema`: :class:`FeatureSchema` and the data contract between
  model versions;
- :mod:`tabular_classifier.labels`: label matching (:func:`label_key`, :func:`encode_target`);
- :mod:`tabular_classifier.split_assignment`: hash splits (:func:`assign_splits`,
  :func:`split_codes`, :func:`split_data`).

Every check raises :class:`~tabular_classifier.errors.DataValidationError` naming the file and
the column, so a bad data version fails the pipeline at the first step with an actionable
message instead of deep inside scikit-learn or torch.
"""

from tabular_classifier.data_validation import (
    NUMERIC_LOOKING_FRACTION,
    coerce_numeric_text,
    validate_and_infer_schema,
)
from tabular_classifier.feature_schema import FeatureSchema, Label
from tabular_classifier.labels import encode_target, label_key
from tabular_classifier.split_assignment import (
    MIN_ROWS_PER_CLASS_PER_SPLIT,
    SPLIT_CODES,
    assign_splits,
    row_key_hashes,
    split_codes,
    split_data,
    split_key_columns,
)
from tabular_classifier.table_reader import load_table, read_table

__all__ = [
    "MIN_ROWS_PER_CLASS_PER_SPLIT",
    "NUMERIC_LOOKING_FRACTION",
    "SPLIT_CODES",
    "FeatureSchema",
    "Label",
    "assign_splits",
    "coerce_numeric_text",
    "encode_target",
    "label_key",
    "load_table",
    "read_table",
    "row_key_hashes",
    "split_codes",
    "split_data",
    "split_key_columns",
    "validate_and_infer_schema",
]
