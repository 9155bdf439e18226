"""The production pointer: ZenML's ``production`` stage and MLflow's ``champion`` alias.

ZenML's Model Control Plane is the source of truth; the MLflow registry aliases follow it:
``champion`` marks the production version and ``previous_champion`` the one it replaced.
MLflow's registry stages are deprecated, so they are never used.
"""

from __future__ import annotations

from typing import Any

from zenml.client import Client
from zenml.enums import ModelStages
from zenml.logger import get_logger

logger = get_logger(__name__)

CHAMPION_ALIAS = "champion"
PREVIOUS_CHAMPION_ALIAS = "previous_champion"
# The model-version metadata key under which promote_model logs its decision (the same key as
# steps.registry.rollback.PROMOTION_KEY; not imported, so that release/ needs no pipeline code).
PROMOTION_KEY = "promotion"


class ProductionRefused(ValueError):
    """Promotion refused this version (``promotion.promote`` is false): never production."""


def promotion_decision(model_version: Any) -> bool | None:
    """The version's promotion decision: ``promote`` of its ``promotion`` metadata.

    Returns:
        ``True`` or ``False`` as promote_model decided, ``None`` when the version has no
        promotion record (e.g. registered by hand).
    """
    record = model_version.run_metadata.get(PROMOTION_KEY)
    if isinstance(record, dict) and isinstance(record.get("promote"), bool):
        return bool(record["promote"])
    return None


def current_production(model_name: str) -> Any | None:
    """The model version in the ``production`` stage, or ``None``."""
    try:
        return Client().get_model_version(model_name, ModelStages.PRODUCTION)
    except KeyError:
        return None


def registered_version(model_version: Any) -> str | None:
    """The MLflow registry version recorded by ``register_model``, or ``None``."""
    registration = model_version.run_metadata.get("registration")
    if isinstance(registration, dict) and registration.get("registered_version"):
        return str(registration["registered_version"])
    return None


def _move_aliases(model_name: str, new_version: str | None, old_version: str | None) -> None:
    registry = Client().active_stack.model_registry
    mlflow_client = getattr(registry, "mlflow_client", None)
    if mlflow_client is None or new_version is None:
        logger.warning("No MLflow model registry on this stack: registry aliases not moved")
        return
    if old_version is not None and old_version != new_version:
        mlflow_client.set_registered_model_alias(model_name, PREVIOUS_CHAMPION_ALIAS, old_version)
    mlflow_client.set_registered_model_alias(model_name, CHAMPION_ALIAS, new_version)


def set_production(model_name: str, version: str) -> Any | None:
    """Make ``version`` the production model version, archiving the current one.

    Moves the ZenML stage first, then the MLflow aliases; if the alias move fails, the stage
    is moved back so the two never disagree. If another run moved the stage meanwhile, the
    ``champion`` alias is re-pointed at whatever is in production once this run is done.

    Args:
        model_name: The ZenML model (= MLflow registered model) name.
        version: The ZenML model version number, as a string.

    Returns:
        The model version that was in production before, or ``None``.

    Raises:
        KeyError: If the model version does not exist.
        ProductionRefused: If its promotion record says ``promote: false``; nothing moves.
    """
    client = Client()
    target = client.get_model_version(model_name, version)
    if promotion_decision(target) is False:
        raise ProductionRefused(
            f"model '{model_name}' version {target.number} was refused by promotion "
            f"(its '{PROMOTION_KEY}' metadata says promote: false); it is never made production"
        )
    previous = current_production(model_name)
    if previous is not None and previous.id == target.id:
        return previous
    client.update_model_version(
        model_name, str(target.number), stage=ModelStages.PRODUCTION, force=True
    )
    try:
        _move_aliases(
            model_name,
            registered_version(target),
            None if previous is None else registered_version(previous),
        )
    except Exception:
        if previous is not None:
            client.update_model_version(
                model_name, str(previous.number), stage=ModelStages.PRODUCTION, force=True
            )
        raise
    _follow_concurrent_promotion(model_name, target)
    return previous


def _follow_concurrent_promotion(model_name: str, promoted: Any) -> None:
    """Point ``champion`` at the production stage if another run moved the stage meanwhile.

    Two runs promoting at once (server stack) can interleave: A moves the stage, B moves the
    stage, B moves the alias, A moves the alias - leaving the alias on A's version and the stage
    on B's. Each run re-reads the stage after its own alias move and re-points the alias at it,
    so the last run to finish leaves the two in agreement, ZenML's stage being the truth.
    """
    production = current_production(model_name)
    if production is None or production.id == promoted.id:
        return
    logger.warning(
        "Model version %s was promoted by another run while this run promoted %s; the "
        "'%s' alias follows the production stage (%s)",
        production.number,
        promoted.number,
        CHAMPION_ALIAS,
        production.number,
    )
    _move_aliases(model_name, registered_version(production), None)
