"""The row contract: what a valid input row is, for every entry point, in one place.

A model version's :class:`RowContract` is built at training time and stored in its bundle. The
gateway, the MLflow pyfunc, the Seldon wrapper, batch inference, evaluation, the deployment's
smoke test and monitoring all parse rows through it, so a value is scored the same way on every
path, or refused the same way.

Each feature has a **logical type**, inferred from the training split's dtype:

============  ==========================================  =====================  ==============
type          accepted values (JSON / pandas)              null means             pandas / Parquet
============  ==========================================  =====================  ==============
float         numbers (JSON integers included)             training median        float64 / double
integer       integral numbers (``3`` or ``3.0``)          training median        Int64 / int64
boolean       ``true`` / ``false`` (``bool``, ``boolean``)  the ``__missing__``    boolean / bool
                                                           category
categorical   strings, numbers, booleans (as text: ``1``,  the ``__missing__``    object (str) /
              ``1.0`` and ``"1"`` are one category)        category               string
============  ==========================================  =====================  ==============

Rules (:class:`ErrorKind` names each refusal; every error names the column and the row):

* **Null** (JSON ``null``; ``None``, ``NaN``, ``pd.NA`` in pandas) is accepted in every column
  and imputed exactly as in training: the median for numbers, the ``__missing__`` category for
  booleans and categoricals. A column that had no nulls in training (``nullable: false``) still
  accepts them: for a boolean or categorical column the model then sees no category at all, as
  for an unseen one. JSON has no NaN (RFC 8259 section 6): a ``NaN`` literal is refused as
  ``not_finite``; in pandas, NaN *is* null.
* **Wrong type** (``wrong_type``): a string or boolean in a number column, a non-integral number
  in an integer column, anything but ``true``/``false`` in a boolean column, a nested value
  (list, object) anywhere. Numbers sent as strings are refused: parsing text is the job of the
  file reader (``tabular_classifier.data.read_table`` for CSV), not of the contract.
* **Non-finite** (``not_finite``): ``Infinity``, ``-Infinity`` (and ``NaN`` in JSON).
* **Out of range** (``out_of_range``): a number beyond the range the model can score without
  overflowing (:attr:`FeatureSpec.lower` / :attr:`FeatureSpec.upper`, see
  :func:`scorable_z_bound`). For a typical model that range is about 1e25 standard deviations
  wide: values far outside it are data errors (``1e308``), never real measurements.
* **Columns**: a missing feature (``missing_column``), a column named twice
  (``duplicate_column``) or a column the model does not know (``unknown_column``) is refused.
  The training table's target and dropped columns (:attr:`RowContract.ignored_columns`) are
  known: accepted and ignored.
* An **empty** batch (``empty``) is refused.
* **Unknown categories** (a boolean or categorical value not seen in training) are accepted and
  encoded as no category; :meth:`ParsedRows.unknown_categories` counts them per column, and every
  entry point reports the count to its caller.

The first error is reported in a fixed order on every path: empty batch, then column errors
(duplicate, missing, unknown), then the first row with a bad value and, within it, the first
bad feature in the contract's order.

The package imports numpy and pandas only (no torch, no scikit-learn), so that the gateway can
validate requests without loading the model's libraries. Its modules: ``spec`` (logical types,
error kinds, a feature's spec, overflow bounds), ``values`` (one value's rules), ``columns``
(whole DataFrame columns at once), ``row_contract`` (:class:`RowContract`) and ``rows``
(:class:`ParsedRows`).
"""

from tabular_classifier.contract.columns import SMALL_FRAME_CELLS
from tabular_classifier.contract.row_contract import RowContract, RowProblem
from tabular_classifier.contract.rows import ParsedRows
from tabular_classifier.contract.spec import (
    LOGICAL_TYPES,
    LOGIT_LIMIT,
    NUMERIC_TYPES,
    ErrorKind,
    FeatureSpec,
    LogicalType,
    scorable_z_bound,
)
from tabular_classifier.contract.values import category_text

__all__ = [
    "LOGICAL_TYPES",
    "LOGIT_LIMIT",
    "NUMERIC_TYPES",
    "SMALL_FRAME_CELLS",
    "ErrorKind",
    "FeatureSpec",
    "LogicalType",
    "ParsedRows",
    "RowContract",
    "RowProblem",
    "category_text",
    "scorable_z_bound",
]
