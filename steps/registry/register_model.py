"""Registration step: the only step that creates a model version.

The step creates the ZenML model version itself, and only after it has loaded its inputs and
checked them against the model's data contract; it then logs the classifier to MLflow as a
pyfunc model (models-from-code, no pickle), registers it in the stack's model registry, and
links the run and its artifacts to the ZenML model version. If any of that fails, what was
created is deleted again before the error propagates, so a failed run keeps no model version.

The ZenML model is deliberately not configured as the step's ``model``: ZenML would then create
the version when the step run is created, before anything of the step has run, and keep it
empty when the step failed to start (its inputs could not be loaded, its output folder could not
be made, the MLflow tracker could not be reached). For the same reason the inputs are taken
unmaterialized and loaded inside the step.
"""

from __future__ import annotations

from typing import Annotated, Any

import mlflow
import pandas as pd
from mlflow.models.model import ModelInfo
from zenml import get_step_context, log_metadata, step
from zenml.artifacts.unmaterialized_artifact import UnmaterializedArtifact
from zenml.client import Client
from zenml.exceptions import EntityExistsError
from zenml.logger import get_logger
from zenml.model.utils import link_artifact_version_to_model_version
from zenml.model_registries.base_model_registry import ModelRegistryModelMetadata
from zenml.models import ModelVersionPipelineRunRequest

from serving.mlflow_model import log_pyfunc_model
from steps.caching import NEVER_CACHE
from steps.registry.rollback import undo_registration
from steps.tracking import record_failure
from tabular_classifier.data import FeatureSchema
from tabular_classifier.data_version import DataVersion, resolve_git_commit
from tabular_classifier.evaluation import EvaluationReport
from tabular_classifier.predictor import ModelBundle
from tabular_classifier.records import Registration

logger = get_logger(__name__)

MODEL_DESCRIPTION = "PyTorch MLP binary classifier for tabular data"
MODEL_TAGS = ["pytorch", "tabular", "binary-classification"]


@step(
    experiment_tracker=True,
    enable_cache=False,
    cache_policy=NEVER_CACHE,
)
def register_model(
    classifier: UnmaterializedArtifact,
    evaluation_report: UnmaterializedArtifact,
    reference_data: UnmaterializedArtifact,
    data_version: UnmaterializedArtifact,
    feature_schema: UnmaterializedArtifact,
    model_name: str,
) -> Annotated[Registration, "registration"]:
    """Create the model version: MLflow model + registry entry + ZenML model version links.

    Every input is loaded here (see the module docstring), each with its own materializer.

    Args:
        classifier: The trained classifier (a ``ModelBundle``).
        evaluation_report: Its test-set evaluation (an ``EvaluationReport``).
        reference_data: The monitoring reference, training features + predictions (a
            ``pd.DataFrame``); loaded to check that it can be, and linked to the version.
        data_version: The data version the classifier was trained on (a ``DataVersion``).
        feature_schema: The data contract (a ``FeatureSchema``).
        model_name: The ZenML model (and registered model) the new version belongs to; created
            if it does not exist.

    Returns:
        The registration: ZenML model and version, MLflow model URI and run, registry model
        and version. Its fields are also the version's ``registration`` metadata.

    Raises:
        RuntimeError: If an input cannot be loaded, the data contract differs from the model's,
            or registration fails (the new model version is deleted first).
    """
    with record_failure("register_model"):
        context = get_step_context()
        registry = Client().active_stack.model_registry
        bundle: ModelBundle = _load(classifier, "classifier")
        report: EvaluationReport = _load(evaluation_report, "evaluation_report")
        # Monitoring reads the reference from the version: one that cannot be loaded must not
        # be registered.
        reference: pd.DataFrame = _load(reference_data, "reference_data")
        lineage: DataVersion = _load(data_version, "data_version")
        schema: FeatureSchema = _load(feature_schema, "feature_schema")
        logger.info("Inputs loaded; reference data: %d rows", len(reference))
        _check_same_data_contract(model_name, schema)
        model_version = _new_model_version(model_name, context.pipeline_run)
        version_name = str(model_version.number)
        registered_version = None
        try:
            _log_run_context(bundle, lineage)
            model_info = log_pyfunc_model(bundle, report, version_name)
            run = mlflow.active_run()
            run_id = run.info.run_id if run else ""
            if registry is not None:
                registered_version = _register_version(
                    registry,
                    name=model_version.model.name,
                    model_info=model_info,
                    description=f"ZenML model version {version_name} ({bundle.model_config.name})",
                    metadata=ModelRegistryModelMetadata.model_validate(
                        {
                            "zenml_version": Client().zen_store.get_store_info().version,
                            "zenml_run_name": context.pipeline_run.name,
                            "zenml_pipeline_name": context.pipeline.name,
                            "zenml_pipeline_run_uuid": str(context.pipeline_run.id),
                            "zenml_step_name": context.step_run.name,
                            "zenml_model_version": version_name,
                            "model_config_name": bundle.model_config.name,
                            "mlflow_run_id": run_id,
                        }
                    ),
                )
            for inputs in context.inputs.values():
                for artifact in inputs:
                    link_artifact_version_to_model_version(artifact, model_version)
            registration = Registration(
                zenml_model=model_version.model.name,
                zenml_model_version=version_name,
                mlflow_model_uri=model_info.model_uri,
                mlflow_run_id=run_id,
                registered_model=model_version.model.name,
                registered_version=registered_version.version if registered_version else "",
            )
            log_metadata(
                metadata={
                    **report.metrics,
                    "registration": registration.model_dump(mode="json"),
                    "model_config_name": bundle.model_config.name,
                    "model_config_file": str(bundle.extra.get("model_config_file", "")),
                    "model_config_sha256": str(bundle.extra.get("model_config_sha256", "")),
                    "data_version": lineage.to_dict(),
                    "feature_schema": schema.to_dict(),
                    "decision_threshold": bundle.decision_threshold,
                },
                model_version_id=model_version.id,
            )
            # Also on this run when training came from ZenML's cache, so that every MLflow
            # run behind a registered version shows the numbers it was registered on.
            mlflow.log_metrics(report.metrics)
            mlflow.set_tags(
                {
                    "model_config.name": bundle.model_config.name,
                    "model_config.sha256": str(bundle.extra.get("model_config_sha256", "")),
                    "data.md5": lineage.md5,
                    "zenml.model": model_version.model.name,
                    "zenml.model_version": version_name,
                    "registered_version": registration.registered_version,
                }
            )
        except BaseException:
            undo_registration(
                model_version, registered_version.version if registered_version else None
            )
            raise
        logger.info(
            "Registered %s version %s (MLflow registry version %s)",
            model_version.model.name,
            version_name,
            registration.registered_version,
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


def _check_same_data_contract(model_name: str, feature_schema: FeatureSchema) -> None:
    """Refuse to add a version trained on another data contract to an existing model.

    Raises:
        RuntimeError: If the model's latest version that records one has a different target,
            positive label or feature set.
    """
    client = Client()
    models = client.list_models(name=model_name).items
    if not models:
        return
    for other in client.list_model_versions(
        model=models[0].id, sort_by="desc:number", size=5, hydrate=True
    ).items:
        previous = other.run_metadata.get("feature_schema")
        if not isinstance(previous, dict):
            continue
        changed = feature_schema.contract_differences(previous)
        if changed:
            raise RuntimeError(
                f"model '{model_name}' version {other.number} was trained on a different data "
                f"contract ({', '.join(changed)} differ); "
                + _contract_advice(feature_schema, previous, changed, other.number)
            )
        return


def _contract_advice(
    schema: FeatureSchema, previous: dict[str, Any], changed: list[str], number: int
) -> str:
    """What to do about a data-contract difference.

    The same features typed differently (one table read from CSV and from Parquet infers alike
    only when the config types it), or other data altogether.
    """
    numeric = list(previous.get("numeric_features") or [])
    categorical = list(previous.get("categorical_features") or [])
    retyped = set(changed) <= {"numeric_features", "categorical_features"}
    if retyped and {*numeric, *categorical} == set(schema.feature_columns):
        return (
            "the features are the same but typed differently, as when one table is read from "
            "CSV and from Parquet (a Parquet category or boolean column is numbers or text in "
            f"CSV): list them in the data config as version {number} had them, "
            f"numeric_features: {numeric}, categorical_features: {categorical}"
        )
    before = {*numeric, *categorical}
    now = set(schema.feature_columns)
    columns = "; ".join(
        f"{what}: {sorted(names)}"
        for what, names in (
            (f"missing (version {number} had them)", before - now),
            (f"new (version {number} did not have them)", now - before),
        )
        if names
    )
    return (
        (f"feature columns {columns}; " if columns else "")
        + "if the file is wrong (a dropped or renamed column, an index column written by "
        "`to_csv()`), fix it or list the columns to leave out under `drop_columns`; if it is "
        "other data, give it its own `model_name` (and experiment name) in the run config"
    )


def _new_model_version(model_name: str, pipeline_run: Any) -> Any:
    """Create the next version of ``model_name`` (and the model if needed), linked to the run."""
    client = Client()
    if not client.list_models(name=model_name).items:
        try:
            client.create_model(name=model_name, description=MODEL_DESCRIPTION, tags=MODEL_TAGS)
        except EntityExistsError:
            pass  # another run created it meanwhile
    version = client.create_model_version(
        model_name, description=f"Trained by pipeline run {pipeline_run.name}"
    )
    client.zen_store.create_model_version_pipeline_run_link(
        ModelVersionPipelineRunRequest(model_version=version.id, pipeline_run=pipeline_run.id)
    )
    return version


def _log_run_context(classifier: ModelBundle, data_version: DataVersion) -> None:
    """Params and lineage tags on this MLflow run, also when training came from the cache."""
    # The same values train_model logged (MLflow refuses a param logged twice with another
    # value, and a cached train_model logged nothing in this run).
    params: dict[str, Any] = dict(classifier.model_config.mlflow_params())
    params["n_features_out"] = classifier.preprocessor.n_features_out
    params["model_config_file"] = str(classifier.extra.get("model_config_file", ""))
    mlflow.log_params(params)
    commit = resolve_git_commit()
    mlflow.set_tags(
        {
            "git_commit": commit,
            "data.path": data_version.path,
            "data.md5": data_version.md5,
            "data.dvc_remote": data_version.dvc_remote or "none",
            "data.git_commit": data_version.git_commit,
        }
    )


def _load(artifact: UnmaterializedArtifact, name: str) -> Any:
    """Load an input artifact with its own materializer.

    Raises:
        RuntimeError: Naming the input, its artifact version and URI, if it cannot be loaded.
    """
    try:
        return artifact.load()
    except Exception as exc:
        raise RuntimeError(
            f"input `{name}` (artifact version {artifact.id}, {artifact.uri}) cannot be loaded "
            f"({type(exc).__name__}: {exc}); no model version was kept. Run the same command "
            "again: the training run checks ZenML's cache first and runs the step that "
            "produced it again"
        ) from exc
