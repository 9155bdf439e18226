"""Training pipeline: ingest → validate → split → train → evaluate → register → promote.

Run it with::

    zenml pipeline run pipelines.training.training_pipeline -c configs/training.yaml

The model config file is loaded and validated when the pipeline is compiled, so an unknown key
or an out-of-range value fails at once, before any step runs. Also at compile time, before ZenML
looks up its cache, cache entries whose artifacts are missing or damaged are expired (their
steps run again, ``steps/cache_integrity.py``) and model versions that failed runs left behind
are removed (``steps/registry/rollback.py``). The cache check is skipped when the run turns
caching off for the pipeline (``enable_cache: false``), since no entry is reused then; a step
whose run config turns its own caching back on is the exception it does not cover.
"""

from __future__ import annotations

from typing import Any

from zenml import get_pipeline_context
from zenml.utils import source_utils

from pipelines.checked_pipeline import checked_pipeline
from pipelines.docker_settings import DOCKER_SETTINGS
from steps.cache_integrity import expire_broken_cache_entries
from steps.data.ingest_data import ingest_data
from steps.data.split_data import split_data
from steps.data.validate_data import validate_data
from steps.evaluation.evaluate_model import evaluate_model
from steps.promotion.promote_model import promote_model
from steps.registry.register_model import register_model
from steps.registry.rollback import remove_versions_of_failed_runs
from steps.training.train_model import train_model
from tabular_classifier.run_config import compile_training_run

DEFAULT_MODEL_NAME = "tabular_classifier"
CACHED_STEPS = (ingest_data, validate_data, split_data, train_model, evaluate_model)


@checked_pipeline(name="training_pipeline", settings={"docker": DOCKER_SETTINGS})
def training_pipeline(
    data: dict[str, Any],
    model_config_path: str = "configs/models-configs/model_config_001.yaml",
    split: dict[str, Any] | None = None,
    model_name: str = DEFAULT_MODEL_NAME,
    promotion: dict[str, Any] | None = None,
    reference: dict[str, Any] | None = None,
) -> None:
    """Train, evaluate and register a binary classifier on a CSV or Parquet table.

    Args:
        data: The ``data:`` block (path, target, positive_label, optional feature lists and
            drop_columns); see ``tabular_classifier.config.DataConfig``.
        model_config_path: A versioned model config YAML under ``configs/models-configs/``.
        split: ``test_size``, ``val_size``, ``random_state`` (defaults 0.2, 0.2, 42).
        model_name: The ZenML model (and MLflow registered model) the new version belongs to.
        promotion: The promotion policy (``metric``, ``min_accuracy``, ``min_roc_auc``,
            ``min_improvement``); see ``tabular_classifier.promotion.PromotionPolicy``.
        reference: The monitoring reference sample (``max_rows``, default 100,000;
            ``seed``, default 0); see ``tabular_classifier.config.ReferenceConfig``.

    Every block is validated here, once, when the pipeline is compiled
    (``tabular_classifier.run_config.compile_training_run``), and reaches the steps as typed
    step parameters.

    Raises:
        ConfigError: At compile time, if the model config or a block is invalid (naming the
            file or parameter and the key).
    """
    # Relative paths work from the repository root and from any directory inside it.
    run = compile_training_run(
        data, model_config_path, split, promotion, reference, [source_utils.get_source_root()]
    )
    if get_pipeline_context().enable_cache is not False:
        expire_broken_cache_entries([cached.name for cached in CACHED_STEPS])
    remove_versions_of_failed_runs(model_name)

    raw_data, data_version = ingest_data(
        data_config=run.data, data_fingerprint=run.data_fingerprint
    )
    feature_schema = validate_data(raw_data=raw_data, data_config=run.data)
    data_split = split_data(
        raw_data=raw_data,
        feature_schema=feature_schema,
        data_version=data_version,
        split_config=run.split,
    )
    classifier = train_model(
        raw_data=raw_data,
        data_split=data_split,
        feature_schema=feature_schema,
        data_version=data_version,
        model_config=run.model,
        model_config_file=run.model_config_path,
        model_config_sha256=run.model_config_sha256,
        na_values=list(run.data.na_values),
    )
    report, reference_data = evaluate_model(
        classifier=classifier,
        raw_data=raw_data,
        data_split=data_split,
        reference_config=run.reference,
    )
    registration = register_model(
        classifier=classifier,
        evaluation_report=report,
        reference_data=reference_data,
        data_version=data_version,
        feature_schema=feature_schema,
        model_name=model_name,
    )
    promote_model(
        registration=registration,
        classifier=classifier,
        evaluation_report=report,
        raw_data=raw_data,
        data_split=data_split,
        promotion_policy=run.promotion,
    )
