"""Typed configuration for data, splitting and the model, validated with pydantic v2.

Every model forbids unknown keys, so a typo such as ``drop_out: 0.1`` fails and names the key
instead of being silently ignored.
"""

import hashlib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

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
    """Fractions of the whole table held out for validation and test.

    Both fractions are of the full table: with the defaults, 60 % trains, 20 % validates and
    20 % tests.

    Attributes:
        test_size: Fraction of rows in the test split, in (0, 0.5).
        val_size: Fraction of rows in the validation split, in (0, 0.5); ``test_size + val_size``
            must stay below 0.8 so that at least 20 % of the rows train the model.
        random_state: Seed of the stratified shuffles.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    test_size: float = Field(default=0.2, gt=0.0, lt=0.5)
    val_size: float = Field(default=0.2, gt=0.0, lt=0.5)
    random_state: int = 42

    @field_validator("val_size")
    @classmethod
    def _leaves_enough_training_rows(cls, value: float, info: ValidationInfo) -> float:
        test_size = info.data.get("test_size")
        if test_size is not None and test_size + value >= 0.8:
            raise ValueError(f"test_size + val_size must be below 0.8, got {test_size + value}")
        return value


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
        decision_threshold: Probability at or above which a row is predicted positive, in (0, 1).
        seed: Seed of every random generator used by training, >= 0.
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
    decision_threshold: float = Field(default=0.5, gt=0.0, lt=1.0)
    seed: int = Field(default=42, ge=0)


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


def _config_error(source: str, error: ValidationError) -> ConfigError:
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or None
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


def load_split_config(raw: Mapping[str, Any] | None, source: str = "<inline>") -> SplitConfig:
    """Validate a split block (``test_size``, ``val_size``, ``random_state``).

    Raises:
        ConfigError: Naming ``source`` and the offending key.
    """
    try:
        return SplitConfig.model_validate(dict(raw or {}))
    except ValidationError as exc:
        raise _config_error(source, exc) from exc


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
