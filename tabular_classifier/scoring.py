"""Scoring a model bundle in NumPy: no torch, no scikit-learn, no pandas on the hot path.

The serving gateway scores requests in its own process with :class:`NumpyScorer`, on rows its
row contract already parsed (``serving.contract.parse_rows``), so a request is parsed once and
never leaves the process. It reads the same bundle files :class:`tabular_classifier.predictor.
ModelBundle` writes (``metadata.json``, ``preprocessor.json``, ``model.safetensors`` through
``safetensors.numpy``), with the same checksum and format checks (:func:`read_bundle_files`,
which ``ModelBundle.load`` also uses), and computes what :class:`~tabular_classifier.predictor.
Predictor` computes:

1. preprocessing exactly as ``FittedPreprocessor.transform_parsed``: median imputation and
   ``(x - mean) / scale`` in float64, one-hot categories (null as ``__missing__``, unseen
   categories as no category), rounded to float32 once;
2. the MLP's forward pass (``tabular_classifier.model.MLPClassifier`` in eval mode:
   ``Linear -> activation`` per hidden layer, dropout being the identity, then ``Linear``), in
   float64 on the float32 features;
3. ``sigmoid(logit / temperature)`` and the decision threshold.

The probabilities equal Predictor's to about 1e-7 (torch multiplies in float32; here in float64);
``tests/unit/test_scoring.py`` checks 1e-6 over several model configurations.

A bundle whose network this module cannot reproduce (an activation or layer layout other than
:data:`ACTIVATIONS` and ``MLPClassifier``'s) is refused with :class:`UnsupportedBundle`, never
scored approximately.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import safetensors
import safetensors.numpy

from tabular_classifier.contract import ErrorKind, FeatureSpec, ParsedRows, RowContract
from tabular_classifier.errors import InputValidationError

BUNDLE_FILES = ("model.safetensors", "preprocessor.json", "metadata.json")
"""The files of a bundle directory (``ModelBundle.FILES``)."""
READABLE_FORMAT_VERSIONS = (1, 2)
"""Bundle format versions :func:`read_bundle_files` reads."""
MISSING_CATEGORY = "__missing__"
"""``tabular_classifier.features.MISSING_CATEGORY`` (not imported: that module needs sklearn)."""
LEAKY_RELU_SLOPE = 0.01
"""``torch.nn.LeakyReLU``'s default negative slope, which ``MLPClassifier`` uses."""


def _gelu(x: np.ndarray) -> np.ndarray:
    # torch.nn.GELU() (approximate="none"): x * Phi(x), with the exact error function. SciPy
    # (installed with scikit-learn) is imported only when a GELU bundle is loaded.
    from scipy.special import erf

    result: np.ndarray = 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))
    return result


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


def _leaky_relu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0.0, x, LEAKY_RELU_SLOPE * x)


ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "relu": _relu,
    "gelu": _gelu,
    "tanh": np.tanh,
    "leaky_relu": _leaky_relu,
}
"""The activations of ``tabular_classifier.model.ACTIVATIONS`` this module reproduces."""


class UnsupportedBundle(ValueError):
    """A valid bundle whose network :class:`NumpyScorer` cannot reproduce (the message says why)."""


def sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data``: the checksums ``metadata.json`` records."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class BundleFiles:
    """A bundle directory's files, read and checked, not yet interpreted.

    Attributes:
        root: The bundle directory.
        metadata: ``metadata.json``, parsed (a dict with a readable ``format_version``).
        weights: ``model.safetensors``'s bytes (checksum verified).
        preprocessor: ``preprocessor.json``'s bytes (checksum verified).
    """

    root: Path
    metadata: dict[str, Any]
    weights: bytes
    preprocessor: bytes

    @property
    def format_version(self) -> int:
        """The bundle's ``format_version``."""
        return int(self.metadata["format_version"])


def read_bundle_files(directory: str | Path) -> BundleFiles:
    """Read a bundle directory's files and check their format version and checksums.

    Raises:
        FileNotFoundError: If the directory or one of :data:`BUNDLE_FILES` is missing (naming
            the path).
        ValueError: If ``metadata.json`` is not a JSON object, has an unknown
            ``format_version`` or no ``checksums``, or a file fails its checksum (naming it).
    """
    root = Path(directory)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: model bundle directory not found")
    for name in BUNDLE_FILES:
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
    if version not in READABLE_FORMAT_VERSIONS:
        raise ValueError(
            f"{metadata_path}: unknown format_version {version!r}; this code reads "
            f"versions {list(READABLE_FORMAT_VERSIONS)}"
        )
    checksums = metadata.get("checksums")
    if not isinstance(checksums, dict):
        raise ValueError(f"{metadata_path}: no 'checksums' object")
    contents: dict[str, bytes] = {}
    for name in ("model.safetensors", "preprocessor.json"):
        data = (root / name).read_bytes()
        if sha256(data) != checksums.get(name):
            raise ValueError(f"{root / name}: SHA-256 does not match metadata.json")
        contents[name] = data
    return BundleFiles(root, metadata, contents["model.safetensors"], contents["preprocessor.json"])


def _linear_layers(
    tensors: dict[str, np.ndarray], architecture: dict[str, Any], where: Path
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``MLPClassifier``'s linear layers, input to output, as float64 (weight (out, in), bias).

    Raises:
        UnsupportedBundle: If the architecture or the state dict is not ``MLPClassifier``'s
            ``Linear -> activation -> Dropout`` layout with :data:`ACTIVATIONS`.
    """
    expected = {"input_dim", "hidden_sizes", "activation", "dropout"}
    if not isinstance(architecture, dict) or set(architecture) != expected:
        raise UnsupportedBundle(f"{where}: architecture is not an MLPClassifier's: {architecture}")
    activation = architecture["activation"]
    if activation not in ACTIVATIONS:
        raise UnsupportedBundle(
            f"{where}: activation {activation!r} cannot be reproduced in NumPy (supported: "
            f"{sorted(ACTIVATIONS)}); score this bundle with tabular_classifier.predictor"
        )
    widths = [int(architecture["input_dim"]), *map(int, architecture["hidden_sizes"]), 1]
    # nn.Sequential positions: each hidden layer is Linear, activation, Dropout (3 modules).
    names = [f"layers.{3 * k}" for k in range(len(widths) - 1)]
    wanted = {f"{name}.{part}" for name in names for part in ("weight", "bias")}
    if set(tensors) != wanted:
        raise UnsupportedBundle(
            f"{where}: tensors {sorted(tensors)} are not an MLPClassifier's {sorted(wanted)}"
        )
    layers = []
    for k, name in enumerate(names):
        weight, bias = tensors[f"{name}.weight"], tensors[f"{name}.bias"]
        if weight.shape != (widths[k + 1], widths[k]) or bias.shape != (widths[k + 1],):
            raise UnsupportedBundle(
                f"{where}: layer {name} has shapes {weight.shape} and {bias.shape}, expected "
                f"{(widths[k + 1], widths[k])} and {(widths[k + 1],)}"
            )
        layers.append((weight.astype(np.float64), bias.astype(np.float64)))
    return layers


def _derived_contract(
    schema: dict[str, Any],
    preprocessor: dict[str, Any],
    layers: list[tuple[np.ndarray, np.ndarray]],
) -> RowContract:
    """A format-1 bundle's contract, as ``tabular_classifier.predictor.derive_contract``."""
    specs = [FeatureSpec(name, "float") for name in schema["numeric_features"]]
    specs += [FeatureSpec(name, "categorical") for name in schema["categorical_features"]]
    return RowContract(specs, [schema["target"], *schema["dropped_columns"]]).with_model(
        preprocessor["categories"],
        np.asarray(preprocessor["means"], dtype=np.float64),
        np.asarray(preprocessor["scales"], dtype=np.float64),
        layers,
    )


class NumpyMLP:
    """``MLPClassifier``'s eval-mode forward pass in float64 NumPy, one matrix product per layer.

    ``Linear -> activation`` per hidden layer (dropout is the identity in eval mode), then
    ``Linear``. Read-only after construction and safe to share between threads.

    Args:
        layers: (weight of shape (out, in), bias of shape (out,)) per linear layer, input to
            output, as ``MLPClassifier.linear_layers`` or :func:`_linear_layers` give them.
        activation: A key of :data:`ACTIVATIONS`.

    Raises:
        UnsupportedBundle: If ``activation`` is not one of :data:`ACTIVATIONS`.
    """

    def __init__(self, layers: list[tuple[np.ndarray, np.ndarray]], activation: str) -> None:
        if activation not in ACTIVATIONS:
            raise UnsupportedBundle(f"activation {activation!r} has no NumPy version")
        self.n_inputs = int(layers[0][0].shape[1])
        # Transposed once, so each layer is one (n, in) @ (in, out) product.
        self._layers = [
            (np.ascontiguousarray(w.T, dtype=np.float64), np.asarray(b, dtype=np.float64))
            for w, b in layers
        ]
        self._activation = ACTIVATIONS[activation]

    def logits(self, features: np.ndarray) -> np.ndarray:
        """float64 (n,): the logits of float32 or float64 features of shape (n, n_inputs)."""
        hidden = features.astype(np.float64)
        last = len(self._layers) - 1
        for k, (weight_t, bias) in enumerate(self._layers):
            hidden = hidden @ weight_t + bias
            if k < last:
                hidden = self._activation(hidden)
        result: np.ndarray = hidden[:, 0]
        return result


class NumpyScorer:
    """Probabilities and labels of a bundle, computed in NumPy (see the module docstring).

    Read-only after construction and safe to share between threads. Build it with
    :meth:`from_directory`.

    Attributes:
        contract: The bundle's row contract; :meth:`score` takes rows it parsed.
        metadata: The bundle's ``metadata.json``.
        decision_threshold: Probability at or above which the positive label is predicted.
        temperature: Every logit is divided by it before the sigmoid.
    """

    def __init__(
        self,
        contract: RowContract,
        preprocessor: dict[str, Any],
        layers: list[tuple[np.ndarray, np.ndarray]],
        activation: str,
        metadata: dict[str, Any],
    ) -> None:
        self.contract = contract
        self.metadata = metadata
        self.decision_threshold = float(metadata["decision_threshold"])
        self.temperature = float(metadata.get("temperature", 1.0))
        if not 0.0 < self.decision_threshold < 1.0:
            raise ValueError(f"decision_threshold must be in (0, 1), got {self.decision_threshold}")
        if not (math.isfinite(self.temperature) and self.temperature > 0):
            raise ValueError(f"temperature must be a positive number, got {self.temperature}")
        numeric = list(preprocessor["numeric_columns"])
        categorical = list(preprocessor["categorical_columns"])
        if contract.names != [*numeric, *categorical] or contract.n_numeric != len(numeric):
            raise ValueError("the row contract's features differ from the preprocessor's columns")
        if preprocessor.get("missing_category") != MISSING_CATEGORY:
            raise UnsupportedBundle(
                f"missing-value category {preprocessor.get('missing_category')!r} is not "
                f"{MISSING_CATEGORY!r}"
            )
        self._n_numeric = len(numeric)
        self._medians = np.asarray(preprocessor["medians"], dtype=np.float64)
        self._means = np.asarray(preprocessor["means"], dtype=np.float64)
        self._scales = np.asarray(preprocessor["scales"], dtype=np.float64)
        self._lookups: list[dict[str, int]] = []
        offset = self._n_numeric
        for known in preprocessor["categories"]:
            self._lookups.append({text: offset + k for k, text in enumerate(known)})
            offset += len(known)
        self.n_features = offset
        self._mlp = NumpyMLP(layers, activation)
        if self._mlp.n_inputs != self.n_features:
            raise ValueError(
                f"the model takes {self._mlp.n_inputs} features but the preprocessor "
                f"produces {self.n_features}"
            )
        schema = metadata["schema"]
        self.label_texts = (str(schema["negative_label"]), str(schema["positive_label"]))

    @classmethod
    def from_directory(cls, directory: str | Path) -> NumpyScorer:
        """Load a bundle directory written by ``ModelBundle.save``.

        Raises:
            FileNotFoundError: As :func:`read_bundle_files`.
            UnsupportedBundle: If its network is not one this module reproduces.
            ValueError: If a file is corrupt or fails its checksum, or the parts disagree (the
                message names the file).
        """
        files = read_bundle_files(directory)
        metadata = files.metadata
        weights_path = files.root / "model.safetensors"
        try:
            tensors = safetensors.numpy.load(files.weights)
        except safetensors.SafetensorError as exc:
            raise ValueError(f"{weights_path}: not a safetensors file: {exc}") from exc
        layers = _linear_layers(tensors, metadata.get("architecture") or {}, weights_path)
        try:
            preprocessor = json.loads(files.preprocessor)
            if files.format_version >= 2:
                contract = RowContract.from_dict(metadata["contract"])
            else:
                contract = _derived_contract(metadata["schema"], preprocessor, layers)
            activation = metadata["architecture"]["activation"]
            return cls(contract, preprocessor, layers, activation, metadata)
        except UnsupportedBundle as exc:
            raise UnsupportedBundle(f"{files.root}: {exc}") from exc
        except (KeyError, TypeError, AttributeError, ValueError, IndexError) as exc:
            raise ValueError(f"{files.root / 'metadata.json'}: {exc!r}") from exc

    def features(self, rows: ParsedRows) -> np.ndarray:
        """The network's input: float32 (rows.n_rows, n_features), as ``transform_parsed``."""
        n_rows = rows.n_rows
        out = np.zeros((n_rows, self.n_features), dtype=np.float32)
        if self._n_numeric:
            values = rows.numeric
            values = np.where(np.isnan(values), self._medians, values)
            out[:, : self._n_numeric] = (values - self._means) / self._scales
        if self._lookups:
            texts = rows.categorical
            for j, lookup in enumerate(self._lookups):
                for i, text in enumerate(texts[:, j]):
                    column = lookup.get(MISSING_CATEGORY if text is None else text)
                    if column is not None:
                        out[i, column] = 1.0
        return out

    def logits(self, rows: ParsedRows) -> np.ndarray:
        """float64 (rows.n_rows,): the network's logits, before the temperature."""
        return self._mlp.logits(self.features(rows))

    def score(self, rows: ParsedRows) -> np.ndarray:
        """float64 (rows.n_rows,): probability of the positive class, ``sigmoid(logit / T)``.

        Raises:
            InputValidationError: ``unscorable`` if an output is not finite (as
                ``Predictor.score``).
        """
        logits = self.logits(rows) / self.temperature
        result: np.ndarray = 0.5 * (1.0 + np.tanh(0.5 * logits))
        finite = np.isfinite(result)
        if not finite.all():
            row = rows.index[int(np.argmin(finite))]
            row = row.item() if isinstance(row, np.generic) else row
            raise InputValidationError(
                f"row {row}: the model's output is not finite; the row cannot be scored",
                row=row,
                kind=ErrorKind.UNSCORABLE,
            )
        return result

    def labels(self, probabilities: np.ndarray) -> list[str]:
        """The predicted labels, as text (``str`` of the schema's labels, as the server answers).

        The positive label at or above :attr:`decision_threshold`, the negative one below.
        """
        negative, positive = self.label_texts
        return [positive if p >= self.decision_threshold else negative for p in probabilities]
