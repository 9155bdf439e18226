"""Undoing a registration, so that a failed training run leaves no model version behind.

``register_model`` creates the model version only once its inputs are loaded and checked, and
deletes it again if anything after that fails; ``promote_model`` deletes the candidate when it
fails (:func:`undo_registration`). What fails outside a step's own code cannot be caught there:
``promote_model`` failing to start (ZenML cannot make its output folder), or ZenML failing to
store ``register_model``'s output. Such a run leaves a complete but unpromoted version, which the
next training run of that model removes as it starts (:func:`remove_versions_of_failed_runs`).
"""

from __future__ import annotations

from typing import Any

from zenml.client import Client
from zenml.enums import ModelStages
from zenml.logger import get_logger
from zenml.utils.pagination_utils import depaginate, depaginate_stream

from release.production import registered_version

logger = get_logger(__name__)

# Logged on the model version by promote_model, the training pipeline's last step: a version
# that has it went through the whole pipeline.
PROMOTION_KEY = "promotion"


def undo_registration(model_version: Any, registry_version: str | None) -> None:
    """Delete a model version from the stack's model registry and from ZenML.

    Errors are logged, not raised: the caller is handling the failure that made the undo
    necessary, and that error is the one the user must see.

    Args:
        model_version: The ZenML model version (a ``ModelVersionResponse``).
        registry_version: Its version in the stack's model registry, if it got that far.
    """
    registry = Client().active_stack.model_registry
    name = model_version.model.name
    if registry is not None and registry_version:
        try:
            registry.delete_model_version(name=name, version=registry_version)
        except Exception as exc:  # noqa: BLE001 - the original error matters more
            logger.error(
                "Could not delete registry version %s of %s: %s", registry_version, name, exc
            )
    try:
        Client().delete_model_version(model_version.id)
    except KeyError:
        return
    except Exception as exc:  # noqa: BLE001 - the original error matters more
        logger.error(
            "Could not delete ZenML model version %s of %s: %s", model_version.number, name, exc
        )
        return
    logger.info("Removed model version %s of %s", model_version.number, name)


def remove_versions_of_failed_runs(model_name: str) -> list[str]:
    """Delete the versions of a model that only failed training runs ever touched.

    A version is removed when it has no ``promotion`` metadata (the pipeline did not get
    through ``promote_model``), is not in production, and every pipeline run linked to it has
    finished without success. Versions of runs still in progress are left alone.

    Args:
        model_name: The ZenML model (and registered model) name.

    Returns:
        The numbers of the versions removed, as strings.
    """
    client = Client()
    # Listing, not `get_model`: this runs while the pipeline is compiled, where ZenML defers
    # `get_model` to run time.
    models = client.list_models(name=model_name).items
    if not models:
        return []
    removed: list[str] = []
    for version in depaginate_stream(client.list_model_versions, model=models[0].id, hydrate=True):
        if PROMOTION_KEY in version.run_metadata or version.stage == ModelStages.PRODUCTION:
            continue
        runs = [
            link.pipeline_run
            for link in depaginate(
                client.list_model_version_pipeline_run_links, model_version_id=version.id
            )
        ]
        if not runs or any(not run.status.is_finished or run.status.is_successful for run in runs):
            continue
        logger.warning(
            "Model version %s of %s was left by failed run(s) %s; removing it",
            version.number,
            model_name,
            ", ".join(run.name for run in runs),
        )
        undo_registration(version, registered_version(version))
        removed.append(str(version.number))
    return removed
