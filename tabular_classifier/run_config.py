"""The training run config, validated once, when the training pipeline is compiled.

:func:`compile_training_run` turns the pipeline's parameters (the blocks of
``configs/training.yaml``) into typed configs; the pipeline hands these to its steps as typed
step parameters, so no step parses a config again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tabular_classifier.config import (
    DataConfig,
    ModelConfig,
    ReferenceConfig,
    SplitConfig,
    load_data_config,
    load_model_config,
    load_reference_config,
    load_split_config,
    resolve_path,
)
from tabular_classifier.config_files import parameter_source
from tabular_classifier.data_source import compile_data_path
from tabular_classifier.data_version import compile_fingerprint
from tabular_classifier.errors import ConfigError
from tabular_classifier.promotion import PromotionPolicy, load_promotion_policy


@dataclass(frozen=True)
class TrainingRun:
    """Everything a training run was configured with, validated.

    Attributes:
        data: The ``data`` block. Its ``path`` stays relative to the source root when the file
            or its ``.dvc`` pointer is there (a step container or pod resolves it against its
            own source root, pulling a DVC-tracked file from the stack's DVC remote:
            :mod:`tabular_classifier.data_source`); other relative paths become absolute.
        model: The model config loaded from ``model_config_path``.
        model_config_path: The model config file, resolved like ``data.path``.
        model_config_sha256: SHA-256 of that file's bytes.
        split: The ``split`` block (defaults when absent).
        promotion: The ``promotion`` block (defaults when absent).
        reference: The ``reference`` block (defaults when absent).
        data_fingerprint: :func:`compile_fingerprint` of the data file (its md5 and whether DVC
            tracks it) at compile time, the pointer's md5 when only the pointer is on this
            host, or None if neither can be read; part of the ingest step's cache key.
    """

    data: DataConfig
    model: ModelConfig
    model_config_path: str
    model_config_sha256: str
    split: SplitConfig
    promotion: PromotionPolicy
    reference: ReferenceConfig
    data_fingerprint: str | None


def compile_training_run(
    data: Mapping[str, Any],
    model_config_path: str,
    split: Mapping[str, Any] | None,
    promotion: Mapping[str, Any] | None,
    reference: Mapping[str, Any] | None,
    roots: Sequence[str | Path],
) -> TrainingRun:
    """Validate the training pipeline's parameters and resolve relative paths.

    Args:
        data: The ``data`` parameter (see :class:`DataConfig`).
        model_config_path: A model config YAML (see :class:`ModelConfig`).
        split: The ``split`` parameter, or None for the defaults.
        promotion: The ``promotion`` parameter, or None for the defaults.
        reference: The ``reference`` parameter, or None for the defaults.
        roots: Directories relative paths are tried under, in order; the first is the source
            root (the repository root).

    Returns:
        The typed configs, the model config file's SHA-256 and the data file's fingerprint.

    Raises:
        ConfigError: Naming the run config file when known, the parameter
            (``configs/x.yaml: pipeline parameter 'data'``, ...) or the model config file, and
            every offending key.
    """
    data_cfg = load_data_config(data, source=parameter_source("data"))
    data_path, host_file = compile_data_path(data_cfg.path, roots)
    data_cfg = data_cfg.model_copy(update={"path": data_path})
    model_path = resolve_path(model_config_path, roots)
    if not Path(model_path).is_file():
        raise ConfigError(
            parameter_source("model_config_path"),
            None,
            f"model config file {model_config_path} not found (relative paths are read from "
            f"the repository root, {roots[0]}); the shipped ones are configs/models-configs/"
            "model_config_000.yaml (baseline), 001 (production) and 002 (experimental)",
        )
    model_cfg, model_sha256 = load_model_config(model_path)
    return TrainingRun(
        data=data_cfg,
        model=model_cfg,
        model_config_path=str(model_path),
        model_config_sha256=model_sha256,
        split=load_split_config(split, source=parameter_source("split")),
        promotion=load_promotion_policy(
            None if promotion is None else dict(promotion), source=parameter_source("promotion")
        ),
        reference=load_reference_config(reference, source=parameter_source("reference")),
        # New bytes, or starting to track them with DVC, re-ingest.
        data_fingerprint=compile_fingerprint(host_file),
    )
