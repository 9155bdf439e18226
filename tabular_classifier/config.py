"""Typed configuration for data, splitting and the model, validated with pydantic v2.

Every model forbids unknown keys, so a typo such as ``drop_out: 0.1`` fails and names the key
instead of being silently ignored.
"""

import hashlib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from tabular_classifier.errors import ConfigError, DataValidationError

FileFormat = Literal["csv", "parquet"]

_SUFFIX_FORMATS: tuple[tuple[str, FileFormat], ...] = (
    (".csv.gz", "csv"),
    (".csv", "csv"),
    (".parquet", "parquet"),
    (".pq", "parquet"),
)


def _check_unique(values: list[str], field: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"column '{value}' is listed twice in {field}")
        seen.add(value)


class DataConfig(BaseModel):
    """Where the training table lives and how its columns are used.

    When both feature lists are None, features are inferred from the data (see
    :func:`tabular_classifier.data.validate_and_infer_schema`). When only one list is given,
    the other one takes every remaining column except the target and ``drop_columns``.

    Attributes:
        path: Path of a CSV (``.csv``, ``.csv.gz``) or Parquet (``.parquet``, ``.pq``) file.
        target: Name of the binary target column.
        positive_label: The target value that means the positive class (encoded as 1). Matched
            with type coercion: ``"1"``, ``1`` and ``1.0`` match each other, ``"true"`` matches
            ``True``.
        numeric_features: Columns to treat as numeric, or None to infer them.
        categorical_features: Columns to one-hot encode, or None to infer them.
        drop_columns: Columns to ignore (identifiers, leakage).
        na_values: Extra strings read as missing values in CSV files (e.g. ``" "``, ``"?"``),
            on top of pandas' defaults (``""``, ``"NA"``, ``"NaN"``, ``"null"``, ...).
        file_format: ``"csv"`` or ``"parquet"``; None infers it from the file suffix.
    """

    model_config = ConfigDict(extra="forbid")

    path: str = Field(min_length=1)
    target: str = Field(min_length=1)
    positive_label: str | int | float | bool
    numeric_features: list[str] | None = None
    categorical_features: list[str] | None = None
    drop_columns: list[str] = Field(default_factory=list)
    na_values: list[str] = Field(default_factory=list)
    file_format: FileFormat | None = None

    @field_validator("numeric_features")
    @classmethod
    def _numeric_features_valid(
        cls, value: list[str] | None, info: ValidationInfo
    ) -> list[str] | None:
        if value is not None:
            _check_unique(value, "numeric_features")
            if info.data.get("target") in value:
                raise ValueError(f"the target '{info.data['target']}' cannot be a feature")
        return value

    @field_validator("categorical_features")
    @classmethod
    def _categorical_features_valid(
        cls, value: list[str] | None, info: ValidationInfo
    ) -> list[str] | None:
        if value is not None:
            _check_unique(value, "categorical_features")
            if info.data.get("target") in value:
                raise ValueError(f"the target '{info.data['target']}' cannot be a feature")
            for column in value:
                if column in (info.data.get("numeric_features") or []):
                    raise ValueError(f"column '{column}' is also listed in numeric_features")
        return value

    @field_validator("drop_columns")
    @classmethod
    def _drop_columns_valid(cls, value: list[str], info: ValidationInfo) -> list[str]:
        _check_unique(value, "drop_columns")
        if info.data.get("target") in value:
            raise ValueError(f"the target '{info.data['target']}' cannot be dropped")
        features = (info.data.get("numeric_features") or []) + (
            info.data.get("categorical_features") or []
        )
        for column in value:
            if column in features:
                raise ValueError(f"column '{column}' is both dropped and listed as a feature")
        return value

    def resolved_file_format(self) -> FileFormat:
        """Return ``file_format``, inferring it from the suffix of ``path`` when it is None.

        Returns:
            ``"csv"`` or ``"parquet"``.

        Raises:
            DataValidationError: If ``file_format`` is None and the suffix is not one of
                ``.csv``, ``.csv.gz``, ``.parquet`` or ``.pq`` (case-insensitive).
        """
        if self.file_format is not None:
            return self.file_format
        name = self.path.lower()
        for suffix, file_format in _SUFFIX_FORMATS:
            if name.endswith(suffix):
                return file_format
        raise DataValidationError(
            self.path,
            None,
            "cannot infer the file format from the suffix (expected .csv, .csv.gz, .parquet "
            "or .pq); set file_format",
        )


class SplitConfig(BaseModel):
    """How rows are assigned to the train, validation and test splits.

    Each row's split follows from a hash of its key alone (see
    ``tabular_classifier.data.assign_splits``), so a row stays in the same split across model
    versions, model seeds and data growth, and duplicated rows never straddle two splits. Both
    fractions are of the full table: with the defaults, about 60 % trains, 20 % validates and
    20 % tests.

    Attributes:
        test_size: Fraction of rows in the test split, in (0, 0.5).
        val_size: Fraction of rows in the validation split, in (0, 0.5); ``test_size + val_size``
            must stay below 0.8 so that at least 20 % of the rows train the model.
        random_state: Salt of the row hash, >= 0: changing it reshuffles every row (and leaves
            few rows that an earlier version's test split and this one's share, which limits
            promotion's comparison set: see ``tabular_classifier.promotion``).
        key_columns: Columns identifying a row (an ID column); None hashes the row's features
            and target, so identical rows share a split.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    test_size: float = Field(default=0.2, gt=0.0, lt=0.5)
    val_size: float = Field(default=0.2, gt=0.0, lt=0.5)
    random_state: int = Field(default=42, ge=0)
    key_columns: list[str] | None = Field(default=None, min_length=1)

    @field_validator("val_size")
    @classmethod
    def _leaves_enough_training_rows(cls, value: float, info: ValidationInfo) -> float:
        test_size = info.data.get("test_size")
        if test_size is not None and test_size + value >= 0.8:
            raise ValueError(f"test_size + val_size must be below 0.8, got {test_size + value}")
        return value


REFERENCE_MAX_ROWS = 100_000
"""Default size of the monitoring reference sample (:class:`ReferenceConfig`)."""


class ReferenceConfig(BaseModel):
    """How the monitoring reference (the ``reference_data`` artifact) samples the training split.

    Drift detection compares a window of predictions with this reference. A seeded uniform
    sample of ``max_rows`` rows (without replacement) stands in for the training split:

    - Evidently picks its default test by the reference's size (``_get_default_stattest`` in
      ``evidently/legacy/calculations/stattests/registry.py``, 0.7.23): up to 1000 rows K-S /
      chi-square p-values, above 1000 the normed Wasserstein distance / Jensen-Shannon, drift
      at >= 0.1. ``max_rows`` must therefore exceed 1000, so sampling never changes the test.
    - Sampling error of 100,000 rows: by the Dvoretzky-Kiefer-Wolfowitz inequality with
      Massart's constant (Massart 1990, Ann. Probab. 18(3)), the sample's empirical CDF is
      within sqrt(ln(2/0.05) / (2 * 100000)) = 0.0043 of the split's everywhere with 95 %
      probability. Measured on 600,000-row splits (``benchmarks/reference_sample.py``, 20
      seeds): K-S distance sample/split 0.0023-0.0025 on average, normed Wasserstein
      0.0035-0.0043, 25 times below Evidently's 0.1 threshold; a 5,000-row window's drift
      score moved by at most 0.013, less than the window's own noise (0.012-0.018 unshifted),
      and its verdict changed only for a score within 0.005 of the threshold (2 of 240). A
      p-value test's effective size n*m/(n+m) stays within 10 % of the window's m for windows
      up to 10,000 rows.
    - Cost: the whole split made a 151 MB artifact at 1M rows (issue 16) and was scored in
      full; 100,000 rows bound both, whatever the table's size.

    Attributes:
        max_rows: The most rows kept, 1001 to 10,000,000; splits no larger are kept whole.
        seed: Seed of the sample (numpy ``default_rng``), >= 0.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    max_rows: int = Field(default=REFERENCE_MAX_ROWS, gt=1000, le=10_000_000)
    seed: int = Field(default=0, ge=0)


class ThresholdRule(BaseModel):
    """A decision threshold chosen on the validation split (``tabular_classifier.calibration``).

    Attributes:
        rule: ``max_f1`` (the threshold of highest F1), ``youden`` (highest TPR - FPR, Youden
            1950), ``min_recall`` (the highest threshold whose recall reaches ``value``: the
            most precise model that finds that share of positives), ``min_precision`` (the
            lowest threshold whose precision reaches ``value``), or ``cost`` (the lowest total
            ``false_positive_cost * FP + false_negative_cost * FN``).
        value: The recall or precision to reach, in (0, 1); only for ``min_recall`` and
            ``min_precision``.
        false_positive_cost: Cost of one false positive, > 0; only for ``cost``.
        false_negative_cost: Cost of one false negative, > 0; only for ``cost``.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    rule: Literal["max_f1", "youden", "min_recall", "min_precision", "cost"]
    value: float | None = Field(default=None, gt=0.0, lt=1.0)
    false_positive_cost: float | None = Field(default=None, gt=0.0)
    false_negative_cost: float | None = Field(default=None, gt=0.0)

    @model_validator(mode="after")
    def _arguments_match_the_rule(self) -> "ThresholdRule":
        needs_value = self.rule in ("min_recall", "min_precision")
        if needs_value != (self.value is not None):
            raise ValueError(f"rule '{self.rule}' {'needs' if needs_value else 'takes no'} 'value'")
        costs = (self.false_positive_cost, self.false_negative_cost)
        if (self.rule == "cost") != all(c is not None for c in costs) or (
            self.rule != "cost" and any(c is not None for c in costs)
        ):
            raise ValueError(
                "rule 'cost' needs both false_positive_cost and false_negative_cost, and "
                "other rules take neither"
            )
        return self


class ModelConfig(BaseModel):
    """Architecture and training hyperparameters of the MLP classifier.

    Strict types: a YAML value such as ``epochs: "10"`` or ``batch_size: 32.5`` is rejected rather
    than coerced, because a quoted or fractional number in a config is almost always a typo.

    Attributes:
        name: Identifier of the configuration (e.g. ``model_config_009``).
        description: Free text.
        hidden_sizes: Widths of the hidden layers: 1 to 8 layers, each of 1 to 4096 units.
        activation: Activation after each hidden layer.
        dropout: Dropout probability after each hidden layer, in [0, 1).
        learning_rate: Adam learning rate, in (0, 1].
        weight_decay: Adam L2 penalty, >= 0.
        batch_size: Mini-batch size, 1 to 65536 rows.
        epochs: Maximum number of passes over the training split, 1 to 10000.
        early_stopping_patience: Epochs without a validation-loss improvement before training
            stops, 0 to 1000; 0 turns early stopping off.
        class_weighting: ``"balanced"`` sets BCEWithLogitsLoss ``pos_weight = n_neg / n_pos``
            computed on the training split; ``"none"`` weights both classes equally.
        decision_threshold: Probability at or above which a row is predicted positive: a
            number in (0, 1), or a :class:`ThresholdRule` chosen on the validation split. The
            value used is stored in the bundle and applied by every entry point.
        temperature_scaling: Fit a temperature on the validation split's logits (Guo et al.
            2017, "On Calibration of Modern Neural Networks") and divide every logit by it, so
            that probabilities are calibrated; ranking metrics (ROC AUC) do not change.
        seed: Seed of every random generator used by training, >= 0.
        val_auc_every: Compute the validation ROC AUC every this many epochs (epochs ``k``,
            ``2k``, ...), 1 to 10000; default 1, every epoch. The validation loss, which early
            stopping uses, is computed every epoch regardless. The AUC sorts the whole
            validation split (O(n log n)), so on large splits a sparser interval saves time;
            the best epoch's AUC is always computed for the bundle.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(min_length=1)
    description: str = ""
    hidden_sizes: list[Annotated[int, Field(ge=1, le=4096)]] = Field(min_length=1, max_length=8)
    activation: Literal["relu", "gelu", "tanh", "leaky_relu"] = "relu"
    dropout: float = Field(ge=0.0, lt=1.0)
    learning_rate: float = Field(gt=0.0, le=1.0)
    weight_decay: float = Field(default=0.0, ge=0.0)
    batch_size: int = Field(ge=1, le=65536)
    epochs: int = Field(ge=1, le=10000)
    early_stopping_patience: int = Field(ge=0, le=1000)
    class_weighting: Literal["none", "balanced"] = "none"
    decision_threshold: Annotated[float, Field(gt=0.0, lt=1.0)] | ThresholdRule = 0.5
    temperature_scaling: bool = False
    seed: int = Field(default=42, ge=0)
    val_auc_every: int = Field(default=1, ge=1, le=10000)

    def mlflow_params(self) -> dict[str, str | int | float | bool]:
        """The config as flat MLflow params (lists and rules as text; no description)."""
        params: dict[str, str | int | float | bool] = {}
        for key, value in self.model_dump(mode="json", exclude={"description"}).items():
            if isinstance(value, list):
                params[key] = ",".join(str(v) for v in value)
            elif isinstance(value, dict):
                params[key] = ",".join(f"{k}={v}" for k, v in value.items() if v is not None)
            else:
                params[key] = value
        return params


class _ConfigLoader(yaml.SafeLoader):
    """SafeLoader that also reads ``1e-3`` as a float.

    PyYAML follows YAML 1.1, where an exponent without a dot (``1e-3``) is a string; the strict
    ModelConfig would then reject the most common way of writing a learning rate.
    """


_ConfigLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


_UNION_MEMBER = re.compile(r"\[|^constrained-|^ThresholdRule$")


def _config_error(source: str, error: ValidationError) -> ConfigError:
    errors = error.errors()
    # A union (decision_threshold: number or rule) fails once per member; the member of the
    # value's own type has the useful message, not "Input should be a valid number".
    first = next((e for e in errors if not str(e["type"]).endswith("_type")), errors[0])
    # Pydantic names union members in the location ("function-after[...]", "constrained-float").
    loc = [str(part) for part in first["loc"] if not _UNION_MEMBER.search(str(part))]
    key = ".".join(loc) or None
    return ConfigError(source, key, first["msg"])


def _read_yaml_mapping(path: Path) -> tuple[dict[str, Any], bytes]:
    source = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(source, None, "file not found") from None
    except OSError as exc:
        raise ConfigError(source, None, f"cannot read the file: {exc.strerror}") from exc
    try:
        # _ConfigLoader derives from SafeLoader: no arbitrary Python objects are built.
        document = yaml.load(raw, Loader=_ConfigLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(source, None, f"invalid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise ConfigError(
            source, None, f"expected a mapping at the top level, got {type(document).__name__}"
        )
    for key in document:
        if not isinstance(key, str):
            raise ConfigError(source, str(key), "keys must be strings")
    return document, raw


def load_model_config(path: str | Path) -> tuple[ModelConfig, str]:
    """Read and validate a model configuration YAML file.

    Args:
        path: Path of the YAML file, whose top level is a mapping of :class:`ModelConfig` fields.

    Returns:
        The validated config and the SHA-256 hex digest of the file's bytes, which identifies
        the exact configuration a model was trained with.

    Raises:
        ConfigError: If the file is missing or unreadable, is not valid YAML, is not a mapping,
            or fails validation; the message names the file and the first offending key.
    """
    document, raw = _read_yaml_mapping(Path(path))
    try:
        config = ModelConfig.model_validate(document)
    except ValidationError as exc:
        raise _config_error(str(path), exc) from exc
    return config, hashlib.sha256(raw).hexdigest()


def load_data_config(raw: Mapping[str, Any] | str | Path, source: str = "<inline>") -> DataConfig:
    """Validate a data configuration given as a mapping or as the path of a YAML file.

    Args:
        raw: The mapping of :class:`DataConfig` fields, or the path of a YAML file holding it.
        source: Name used in error messages for a mapping; ignored for a path, whose own name
            is used.

    Returns:
        The validated config.

    Raises:
        ConfigError: If the file is missing, unreadable, not valid YAML or not a mapping, or if
            validation fails; the message names the source and the first offending key.
    """
    if isinstance(raw, str | Path):
        source = str(raw)
        document: Mapping[str, Any] = _read_yaml_mapping(Path(raw))[0]
    else:
        document = raw
    try:
        return DataConfig.model_validate(document)
    except ValidationError as exc:
        raise _config_error(source, exc) from exc


_Block = TypeVar("_Block", bound=BaseModel)


def _validate_block(model: type[_Block], raw: Mapping[str, Any] | None, source: str) -> _Block:
    """Validate an optional config block (None gives the model's defaults).

    Raises:
        ConfigError: Naming ``source`` and the offending key.
    """
    try:
        return model.model_validate(dict(raw or {}))
    except ValidationError as exc:
        raise _config_error(source, exc) from exc


def load_split_config(raw: Mapping[str, Any] | None, source: str = "<inline>") -> SplitConfig:
    """Validate a split block (``test_size``, ``val_size``, ``random_state``).

    Raises:
        ConfigError: Naming ``source`` and the offending key.
    """
    return _validate_block(SplitConfig, raw, source)


def load_reference_config(
    raw: Mapping[str, Any] | None, source: str = "<inline>"
) -> ReferenceConfig:
    """Validate a monitoring-reference block (``max_rows``, ``seed``); None gives the defaults.

    Raises:
        ConfigError: Naming ``source`` and the offending key.
    """
    return _validate_block(ReferenceConfig, raw, source)


def resolve_path(path: str, roots: Sequence[str | Path]) -> str:
    """Find a relative path under the first root that has it.

    Args:
        path: A file path; absolute paths and paths that exist as given are returned as is.
        roots: Directories to try in order (e.g. the repository root).

    Returns:
        ``path`` unchanged if it exists (or none of the roots has it), else the absolute path
        under the first root that has it.
    """
    candidate = Path(path)
    if candidate.is_absolute() or candidate.exists():
        return path
    for root in roots:
        if (Path(root) / candidate).exists():
            return str((Path(root) / candidate).resolve())
    return path


def config_to_dict(cfg: BaseModel) -> dict[str, Any]:
    """Dump a config to a JSON-safe dictionary.

    Args:
        cfg: Any of the config models.

    Returns:
        The fields as JSON-compatible values (``model_dump(mode="json")``).
    """
    return cfg.model_dump(mode="json")
