"""Model bundle on disk (weights, preprocessing, metadata; no pickle) and its predictor.

A bundle directory holds exactly :attr:`ModelBundle.FILES`:

- ``model.safetensors``: the network's state dict;
- ``preprocessor.json``: :meth:`FittedPreprocessor.to_dict`;
- ``metadata.json``: format version, schema, architecture, model config, decision threshold,
  metrics, free metadata, and SHA-256 checksums of the two other files.
"""

import hashlib
import json
import math
import numbers
import os
import shutil
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import safetensors
import safetensors.torch
import torch

from tabular_classifier.config import ModelConfig, config_to_dict
from tabular_classifier.data import FeatureSchema
from tabular_classifier.errors import InputValidationError
from tabular_classifier.features import SMALL_FRAME_CELLS, FittedPreprocessor
from tabular_classifier.model import MLPClassifier

FORMAT_VERSION = 1
"""Version of the bundle layout written by :meth:`ModelBundle.save`."""


def _json_bytes(document: dict[str, Any], name: str) -> bytes:
    try:
        text = json.dumps(document, indent=2, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: cannot be written as strict JSON: {exc}") from exc
    return (text + "\n").encode("utf-8")


def _write_synced(path: Path, data: bytes) -> None:
    with path.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _sync_directory(path: Path) -> None:
    # A rename is durable only once the directory entry itself is flushed (POSIX only).
    if os.name == "posix":
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class ModelBundle:
    """Everything needed to predict: network, preprocessing, schema and provenance.

    Attributes:
        model: The trained network.
        preprocessor: The preprocessing fitted on the training split.
        schema: The feature schema and target labels.
        model_config: The configuration the network was trained with.
        decision_threshold: Probability at or above which :class:`Predictor` predicts the
            positive label, in (0, 1).
        metrics: Evaluation metrics (may be empty); non-finite values are stored as JSON null
            and read back as NaN.
        extra: Free JSON-safe metadata (data version, config hash, git commit...).
    """

    FILES: ClassVar[tuple[str, str, str]] = (
        "model.safetensors",
        "preprocessor.json",
        "metadata.json",
    )

    model: MLPClassifier
    preprocessor: FittedPreprocessor
    schema: FeatureSchema
    model_config: ModelConfig
    decision_threshold: float
    metrics: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def _check(self) -> None:
        if self.model.input_dim != self.preprocessor.n_features_out:
            raise ValueError(
                f"the model takes {self.model.input_dim} features but the preprocessor produces "
                f"{self.preprocessor.n_features_out}"
            )
        if self.preprocessor.input_columns != self.schema.feature_columns:
            raise ValueError("the preprocessor's input columns differ from the schema's features")
        if not 0.0 < self.decision_threshold < 1.0:
            raise ValueError(f"decision_threshold must be in (0, 1), got {self.decision_threshold}")
        for key, value in self.metrics.items():
            if not isinstance(value, numbers.Real) or isinstance(value, bool):
                raise ValueError(f"metric '{key}' must be a number, got {value!r}")

    def save(self, directory: str | Path) -> None:
        """Write the bundle to a directory, replacing any bundle already there.

        The files are written and fsynced in a temporary sibling directory, which is then renamed
        into place, so readers never see a half-written bundle. When ``directory`` already
        exists it is first renamed aside, so between the two renames the path is briefly
        absent; POSIX cannot swap two non-empty directories atomically.

        Args:
            directory: Target directory; its parent is created if needed.

        Raises:
            ValueError: If the parts disagree (model input width, preprocessor columns, schema),
                the threshold is outside (0, 1), a metric is not a number, or ``extra`` cannot
                be written as strict JSON.
            FileExistsError: If ``directory`` exists and is not a directory.
            OSError: If writing or renaming fails; the previous bundle is then left in place.
        """
        self._check()
        target = Path(directory)
        if target.exists() and not target.is_dir():
            raise FileExistsError(f"{target}: exists and is not a directory")
        tensors = {
            name: tensor.detach().cpu().contiguous()
            for name, tensor in self.model.state_dict().items()
        }
        weights = safetensors.torch.save(tensors, metadata={"format_version": str(FORMAT_VERSION)})
        preprocessor = _json_bytes(self.preprocessor.to_dict(), "preprocessor.json")
        metadata = _json_bytes(
            {
                "format_version": FORMAT_VERSION,
                "schema": self.schema.to_dict(),
                "architecture": self.model.architecture(),
                "model_config": config_to_dict(self.model_config),
                "decision_threshold": float(self.decision_threshold),
                "metrics": {
                    key: float(value) if math.isfinite(value) else None
                    for key, value in self.metrics.items()
                },
                "extra": self.extra,
                "checksums": {
                    "model.safetensors": _sha256(weights),
                    "preprocessor.json": _sha256(preprocessor),
                },
            },
            "metadata.json",
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(
            tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        )
        try:
            # mkdtemp creates the directory private (0700); a bundle is read by other users
            # (serving containers), like any other artifact.
            staging.chmod(0o755)
            for name, data in zip(self.FILES, (weights, preprocessor, metadata), strict=True):
                _write_synced(staging / name, data)
            _sync_directory(staging)
            if target.exists():
                retired = target.parent / f".{target.name}.{uuid.uuid4().hex}.old"
                os.replace(target, retired)
                try:
                    os.replace(staging, target)
                except OSError:
                    os.replace(retired, target)
                    raise
                shutil.rmtree(retired, ignore_errors=True)
            else:
                os.replace(staging, target)
            _sync_directory(target.parent)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)

    @classmethod
    def load(cls, directory: str | Path) -> "ModelBundle":
        """Read a bundle written by :meth:`save`, through JSON and safetensors only.

        Args:
            directory: The bundle directory.

        Returns:
            The bundle, with the model in eval mode on the CPU.

        Raises:
            FileNotFoundError: If the directory or one of :attr:`FILES` is missing (the message
                names the path).
            ValueError: If a file is corrupt, fails its checksum, or has an unknown
                ``format_version``, or the parts disagree; the message names the file.
        """
        root = Path(directory)
        if not root.is_dir():
            raise FileNotFoundError(f"{root}: model bundle directory not found")
        for name in cls.FILES:
            if not (root / name).is_file():
                raise FileNotFoundError(f"{root / name}: missing from the model bundle")
        metadata_path = root / "metadata.json"
        try:
            metadata = json.loads(metadata_path.read_bytes())
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{metadata_path}: not valid JSON: {exc}") from exc
        if not isinstance(metadata, dict):
            raise ValueError(f"{metadata_path}: expected a JSON object")
        version = metadata.get("format_version")
        if version != FORMAT_VERSION:
            raise ValueError(
                f"{metadata_path}: unknown format_version {version!r}; this code reads "
                f"version {FORMAT_VERSION}"
            )
        checksums = metadata.get("checksums")
        if not isinstance(checksums, dict):
            raise ValueError(f"{metadata_path}: no 'checksums' object")
        contents: dict[str, bytes] = {}
        for name in ("model.safetensors", "preprocessor.json"):
            data = (root / name).read_bytes()
            if _sha256(data) != checksums.get(name):
                raise ValueError(f"{root / name}: SHA-256 does not match metadata.json")
            contents[name] = data

        preprocessor_path = root / "preprocessor.json"
        try:
            preprocessor = FittedPreprocessor.from_dict(json.loads(contents["preprocessor.json"]))
        except (UnicodeDecodeError, ValueError, TypeError) as exc:
            raise ValueError(f"{preprocessor_path}: {exc}") from exc
        try:
            schema = FeatureSchema.from_dict(metadata["schema"])
            model_config = ModelConfig.model_validate(metadata["model_config"])
            model = MLPClassifier.from_architecture(metadata["architecture"])
            metrics = {
                str(key): math.nan if value is None else float(value)
                for key, value in metadata["metrics"].items()
            }
            extra = metadata["extra"]
            decision_threshold = float(metadata["decision_threshold"])
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ValueError(f"{metadata_path}: {exc!r}") from exc
        weights_path = root / "model.safetensors"
        try:
            model.load_state_dict(safetensors.torch.load(contents["model.safetensors"]))
        except (safetensors.SafetensorError, RuntimeError) as exc:
            raise ValueError(f"{weights_path}: does not fit the architecture: {exc}") from exc
        model.eval()
        bundle = cls(
            model=model,
            preprocessor=preprocessor,
            schema=schema,
            model_config=model_config,
            decision_threshold=decision_threshold,
            metrics=metrics,
            extra=extra,
        )
        try:
            bundle._check()
        except ValueError as exc:
            raise ValueError(f"{metadata_path}: {exc}") from exc
        return bundle


class Predictor:
    """Online and batch predictions from a model bundle.

    Use :meth:`get` in servers so that each bundle is loaded once per process; instances are
    read-only after construction and safe to share between threads.

    Args:
        bundle: The loaded bundle; its model is put in eval mode.
    """

    _instances: ClassVar[dict[Path, "Predictor"]] = {}
    _instances_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, bundle: ModelBundle) -> None:
        self.bundle = bundle
        bundle.model.eval()
        labels = [bundle.schema.negative_label, bundle.schema.positive_label]
        # Strings go in an object array: numpy's fixed-width unicode dtype would surprise callers
        # that serialise the predictions.
        self._labels = np.array(
            labels, dtype=object if any(isinstance(label, str) for label in labels) else None
        )

    @classmethod
    def from_directory(cls, directory: str | Path) -> "Predictor":
        """Load a bundle directory into a new predictor (no caching).

        Args:
            directory: A directory written by :meth:`ModelBundle.save`.

        Returns:
            The predictor.

        Raises:
            FileNotFoundError: As :meth:`ModelBundle.load`.
            ValueError: As :meth:`ModelBundle.load`.
        """
        return cls(ModelBundle.load(directory))

    @classmethod
    def get(cls, directory: str | Path) -> "Predictor":
        """Return the process-wide predictor of a bundle directory, loading it on first use.

        The cache is keyed by the resolved path and guarded by a lock, so concurrent first calls
        load the bundle once. A bundle saved again to the same path is not reloaded until
        :meth:`clear_cache` is called.

        Args:
            directory: A directory written by :meth:`ModelBundle.save`.

        Returns:
            The cached predictor.

        Raises:
            FileNotFoundError: As :meth:`ModelBundle.load`.
            ValueError: As :meth:`ModelBundle.load`.
        """
        key = Path(directory).resolve()
        with cls._instances_lock:
            predictor = cls._instances.get(key)
            if predictor is None:
                predictor = cls.from_directory(key)
                cls._instances[key] = predictor
            return predictor

    @classmethod
    def clear_cache(cls) -> None:
        """Forget every cached predictor, so the next :meth:`get` loads from disk again."""
        with cls._instances_lock:
            cls._instances.clear()

    @property
    def required_columns(self) -> list[str]:
        """Columns a frame must hold: the numeric features, then the categorical ones."""
        return self.bundle.schema.feature_columns

    def validate_input(self, df: pd.DataFrame) -> pd.DataFrame:
        """Check a frame against the model's input contract.

        Nulls are allowed anywhere (they are imputed); extra columns are allowed and ignored.

        Args:
            df: Frame with at least :attr:`required_columns`.

        Returns:
            ``df`` itself when it needs no conversion, otherwise a copy whose numeric columns
            holding numeric strings are converted to float64.

        Raises:
            InputValidationError: If ``df`` is not a DataFrame, has no rows, repeats a column
                name, lacks required columns (all are named), or holds a non-numeric or
                infinite value in a numeric column (column, row label and value are named).
        """
        if not isinstance(df, pd.DataFrame):
            raise InputValidationError(f"expected a pandas DataFrame, got {type(df).__name__}")
        if len(df) == 0:
            raise InputValidationError("the input has no rows")
        if not df.columns.is_unique:
            duplicated = str(df.columns[df.columns.duplicated()][0])
            raise InputValidationError(
                f"column '{duplicated}': duplicate column name", column=duplicated
            )
        missing = [column for column in self.required_columns if column not in df.columns]
        if missing:
            raise InputValidationError(
                f"missing required columns: {', '.join(repr(c) for c in missing)}",
                column=missing[0],
            )
        numeric = self.bundle.schema.numeric_features
        if len(df) * df.shape[1] <= SMALL_FRAME_CELLS:
            whole = df.to_numpy()
            if whole.dtype.kind in "biuf":
                # One homogeneous numeric block (the usual serving payload): check it at once.
                positions = {column: index for index, column in enumerate(df.columns)}
                block = whole[:, [positions[column] for column in numeric]]
                _raise_on_infinite(df.index, block.astype(np.float64), numeric)
                return df
        converted: dict[str, pd.Series] = {}
        for column in numeric:
            series = df[column]
            if pd.api.types.is_bool_dtype(series.dtype):
                continue
            if not pd.api.types.is_numeric_dtype(series.dtype):
                parsed = pd.to_numeric(series.astype(object), errors="coerce")
                bad = (series.notna() & parsed.isna()).to_numpy()
                if bad.any():
                    position = int(np.argmax(bad))
                    row = series.index[position]
                    raise InputValidationError(
                        f"column '{column}': non-numeric value {series.iloc[position]!r} "
                        f"at row {row}",
                        column=column,
                        row=row,
                    )
                series = converted[column] = parsed.astype(np.float64)
            values = series.to_numpy(dtype=np.float64, na_value=np.nan)
            _raise_on_infinite(df.index, values.reshape(-1, 1), [column])
        if not converted:
            return df
        return df.assign(**converted)

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        """Probability of the positive class for each row.

        Args:
            df: Frame with at least :attr:`required_columns` (see :meth:`validate_input`).

        Returns:
            float64 array of shape (len(df),), values in [0, 1].

        Raises:
            InputValidationError: As :meth:`validate_input`.
        """
        features = self.bundle.preprocessor.transform(self.validate_input(df))
        with torch.inference_mode():
            logits = self.bundle.model(torch.from_numpy(features))
            probabilities = torch.sigmoid(logits.double())
        result: np.ndarray = probabilities.numpy()
        return result

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        """Predicted label for each row, as the target's original values.

        Args:
            df: Frame with at least :attr:`required_columns` (see :meth:`validate_input`).

        Returns:
            Array of shape (len(df),) holding the schema's positive label where the probability
            is at or above the bundle's decision threshold and its negative label elsewhere;
            object dtype for string labels, the labels' own dtype (int64, float64, bool)
            otherwise.

        Raises:
            InputValidationError: As :meth:`validate_input`.
        """
        positive = self.predict_proba(df) >= self.bundle.decision_threshold
        predictions: np.ndarray = self._labels[positive.astype(np.int64)]
        return predictions


def _raise_on_infinite(index: pd.Index, block: np.ndarray, columns: list[str]) -> None:
    infinite = np.isinf(block)
    if infinite.any():
        row_position, column_position = (int(i) for i in np.argwhere(infinite)[0])
        column = columns[column_position]
        row = index[row_position]
        raise InputValidationError(
            f"column '{column}': non-finite value {block[row_position, column_position]} "
            f"at row {row}",
            column=column,
            row=row,
        )
