"""Registration step: the only step that creates a model version.

The ZenML model is configured on this step alone (not on the pipeline), so ZenML creates the
model version only once ingestion, validation, training and evaluation have all succeeded: a
failed run never leaves a model version behind. The step then logs the classifier to MLflow as
a pyfunc model (models-from-code, no pickle), registers it in the stack's model registry, and
links the run's artifacts to the ZenML model version. If any of that fails, what was created
is deleted again before the error propagates.
"""

from __future__ import annotations

from typing import Annotated, Any

import mlflow
import pandas as pd
from mlflow.models.model import ModelInfo
from zenml import get_step_context, log_metadata, step
from zenml.client import Client
from zenml.logger import get_logger
from zenml.model.utils import link_artifact_version_to_model_version
from zenml.model_registries.base_model_registry import ModelRegistryModelMetadata

from serving.mlflow_model import log_pyfunc_model
from steps.caching import NEVER_CACHE
from steps.tracking import record_failure
from tabular_classifier.data_version import resolve_git_commit
from tabular_classifier.evaluation import EvaluationReport
from tabular_classifier.predictor import ModelBundle

logger = get_logger(__name__)


@step(
    experiment_tracker=True,
    enable_cache=False,
    cache_policy=NEVER_CACHE,
)
def register_model(
    classifier: ModelBundle,
    evaluation_report: EvaluationReport,
    reference_data: pd.DataFrame,
    data_version: dict[str, Any],
    feature_schema: dict[str, Any],
) -> Annotated[dict[str, Any], "registration"]:
    """Create the model version: MLflow model + registry entry + ZenML model version links.

    Args:
        classifier: The trained classifier.
        evaluation_report: Its test-set evaluation.
        reference_data: The monitoring reference (training features + predictions).
        data_version: The data version the classifier was trained on.
        feature_schema: The data contract.

    Returns:
        ``{"zenml_model", "zenml_model_version", "mlflow_model_uri", "mlflow_run_id",
        "registered_model", "registered_version"}``.

    Raises:
        RuntimeError: If the step has no ZenML model configured, or registration fails (the
            partial model version is deleted first).
    """
    with record_failure("register_model"):
        context = get_step_context()
        model_version = context.model_version
        if model_version is None:
            raise RuntimeError("register_model needs a ZenML model: configure `model:` on it")
        version_name = str(model_version.number)
        registry = Client().active_stack.model_registry
        registered_version = None
        try:
            _check_same_data_contract(model_version, feature_schema)
            _log_run_context(classifier, data_version)
            model_info = log_pyfunc_model(classifier, evaluation_report, version_name)
            run = mlflow.active_run()
            run_id = run.info.run_id if run else ""
            if registry is not None:
                registered_version = _register_version(
                    registry,
                    name=model_version.model.name,
                    model_info=model_info,
                    description=f"ZenML model version {version_name} "
                    f"({classifier.model_config.name})",
                    metadata=ModelRegistryModelMetadata.model_validate(
                        {
                            "zenml_version": Client().zen_store.get_store_info().version,
                            "zenml_run_name": context.pipeline_run.name,
                            "zenml_pipeline_name": context.pipeline.name,
                            "zenml_pipeline_run_uuid": str(context.pipeline_run.id),
                            "zenml_step_name": context.step_run.name,
                            "zenml_model_version": version_name,
                            "model_config_name": classifier.model_config.name,
                            "mlflow_run_id": run_id,
                        }
                    ),
                )
            for inputs in context.inputs.values():
                for artifact in inputs:
                    link_artifact_version_to_model_version(artifact, model_version)
            registration = {
                "zenml_model": model_version.model.name,
                "zenml_model_version": version_name,
                "mlflow_model_uri": model_info.model_uri,
                "mlflow_run_id": run_id,
                "registered_model": model_version.model.name,
                "registered_version": registered_version.version if registered_version else "",
            }
            log_metadata(
                metadata={
                    **evaluation_report.metrics,
                    "registration": registration,
                    "model_config_name": classifier.model_config.name,
                    "model_config_file": str(classifier.extra.get("model_config_file", "")),
                    "model_config_sha256": str(classifier.extra.get("model_config_sha256", "")),
                    "data_version": data_version,
                    "feature_schema": feature_schema,
                    "decision_threshold": classifier.decision_threshold,
                },
                infer_model=True,
            )
            # Also on this run when training came from ZenML's cache, so that every MLflow
            # run behind a registered version shows the numbers it was registered on.
            mlflow.log_metrics(evaluation_report.metrics)
            mlflow.set_tags(
                {
                    "model_config.name": classifier.model_config.name,
                    "model_config.sha256": str(classifier.extra.get("model_config_sha256", "")),
                    "data.md5": str(data_version.get("md5", "")),
                    "zenml.model": model_version.model.name,
                    "zenml.model_version": version_name,
                    "registered_version": registration["registered_version"],
                }
            )
        except Exception:
            _undo_registration(registry, model_version, registered_version)
            raise
        logger.info(
            "Registered %s version %s (MLflow registry version %s)",
            model_version.model.name,
            version_name,
            registration["registered_version"],
        )
        return registration


def _register_version(
    registry: Any,
    name: str,
    model_info: ModelInfo,
    description: str,
    metadata: ModelRegistryModelMetadata,
) -> Any:
    """Register the logged model as a new version of ``name`` in the stack's model registry.

    An MLflow tracking *server* accepts a ``models:/<model_id>`` source only together with that
    ``model_id``, which ZenML's ``register_model_version`` does not send (the in-process SQLite
    store does not check); so on an MLflow registry the version is created through its client.

    Returns:
        ZenML's ``RegistryModelVersion`` for the new version.
    """
    mlflow_client = getattr(registry, "mlflow_client", None)
    if mlflow_client is None:
        return registry.register_model_version(
            name=name,
            model_source_uri=model_info.model_uri,
            description=description,
            metadata=metadata,
        )
    try:
        registry.get_model(name=name)
    except KeyError:
        registry.register_model(name=name)
    tags = metadata.model_dump()
    created = mlflow_client.create_model_version(
        name=name,
        source=model_info.model_uri,
        run_id=tags.get("mlflow_run_id") or None,
        run_link=tags.get("mlflow_run_link"),
        description=description,
        tags=tags,
        model_id=model_info.model_id,
    )
    return registry.get_model_version(name=name, version=str(created.version))


def _check_same_data_contract(model_version: Any, feature_schema: dict[str, Any]) -> None:
    """Refuse to add a version trained on another data contract to an existing model.

    Raises:
        RuntimeError: If the model's latest other version has a different target, positive
            label or feature set.
    """
    others = [
        v
        for v in Client()
        .list_model_versions(model_version.model.id, sort_by="desc:number", size=5)
        .items
        if v.id != model_version.id
    ]
    for other in others:
        previous = other.run_metadata.get("feature_schema")
        if not isinstance(previous, dict):
            continue
        keys = ("target", "positive_label", "numeric_features", "categorical_features")
        changed = [k for k in keys if previous.get(k) != feature_schema.get(k)]
        if changed:
            raise RuntimeError(
                f"model '{model_version.model.name}' version {other.number} was trained on a "
                f"different data contract ({', '.join(changed)} differ); give this data its "
                "own `model_name` (and experiment name) in the run config"
            )
        return


def _log_run_context(classifier: ModelBundle, data_version: dict[str, Any]) -> None:
    """Params and lineage tags on this MLflow run, also when training came from the cache."""
    params = classifier.model_config.model_dump(mode="json")
    params.pop("description", None)
    params["hidden_sizes"] = ",".join(str(h) for h in classifier.model_config.hidden_sizes)
    params["n_features_out"] = classifier.preprocessor.n_features_out
    params["model_config_file"] = str(classifier.extra.get("model_config_file", ""))
    mlflow.log_params(params)
    commit = resolve_git_commit()
    mlflow.set_tags(
        {
            "git_commit": commit,
            "data.path": str(data_version.get("path", "")),
            "data.md5": str(data_version.get("md5", "")),
            "data.dvc_remote": str(data_version.get("dvc_remote") or "none"),
            "data.git_commit": str(data_version.get("git_commit", "")),
        }
    )


def _undo_registration(registry: Any, model_version: Any, registered_version: Any) -> None:
    if registry is not None and registered_version is not None:
        try:
            registry.delete_model_version(
                name=registered_version.registered_model.name,
                version=registered_version.version,
            )
        except Exception as exc:  # noqa: BLE001 - the original error matters more
            logger.error("Could not delete registry version after failure: %s", exc)
    try:
        Client().delete_model_version(model_version.id)
    except Exception as exc:  # noqa: BLE001 - the original error matters more
        logger.error("Could not delete ZenML model version after failure: %s", exc)
