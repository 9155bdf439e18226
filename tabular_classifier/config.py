"""Typed configuration for data, splitting and the model, validated with pydantic v2.

This module holds the data, split and reference configs and every config's loader. The model's
config (:class:`ModelConfig`, :class:`ThresholdRule`) lives in
:mod:`tabular_classifier.model_config` and is re-exported here; reading YAML and naming the key of
a validation error is :mod:`tabular_classifier.config_files`' job.

Every model forbids unknown keys, so a typo such as ``drop_out: 0.1`` fails and names the key
instead of being silently ignored.
"""

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from tabular_classifier.config_files import config_error, read_yaml_mapping, validate_block
from tabular_classifier.errors import DataValidationError
from tabular_classifier.model_config import ModelConfig, ThresholdRule

__all__ = [
    "REFERENCE_MAX_ROWS",
    "DataConfig",
    "FileFormat",
    "ModelConfig",
    "ReferenceConfig",
    "SplitConfig",
    "ThresholdRule",
    "config_to_dict",
    "load_data_config",
    "load_model_config",
    "load_reference_config",
    "load_split_config",
    "resolve_path",
]

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


def load_model_config(path: str | Path) -> tuple[ModelConfig, str]:
    """Read and validate a model configuration YAML file.

    Args:
        path: Path of the YAML file, whose top level is a mapping of :class:`ModelConfig` fields.

    Returns:
        The validated config and the SHA-256 hex digest of the file's bytes, which identifies
        the exact configuration a model was trained with.

    Raises:
        ConfigError: If the file is missing or unreadable, is not valid YAML, is not a mapping,
            or fails validation; the message names the file and every offending key.
    """
    document, raw = read_yaml_mapping(Path(path))
    try:
        config = ModelConfig.model_validate(document)
    except ValidationError as exc:
        raise config_error(str(path), exc, ModelConfig) from None  # the message holds every error
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
            validation fails; the message names the source and every offending key.
    """
    if isinstance(raw, str | Path):
        source = str(raw)
        document: Mapping[str, Any] = read_yaml_mapping(Path(raw))[0]
    else:
        document = raw
    try:
        return DataConfig.model_validate(document)
    except ValidationError as exc:
        raise config_error(source, exc, DataConfig) from None  # the message holds every error


def load_split_config(raw: Mapping[str, Any] | None, source: str = "<inline>") -> SplitConfig:
    """Validate a split block (``test_size``, ``val_size``, ``random_state``).

    Raises:
        ConfigError: Naming ``source`` and every offending key.
    """
    return validate_block(SplitConfig, raw, source)


def load_reference_config(
    raw: Mapping[str, Any] | None, source: str = "<inline>"
) -> ReferenceConfig:
    """Validate a monitoring-reference block (``max_rows``, ``seed``); None gives the defaults.

    Raises:
        ConfigError: Naming ``source`` and every offending key.
    """
    return validate_block(ReferenceConfig, raw, source)


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
