"""Rollback: return to the version that was production before, from the production history.

The target is the newest entry of the recorded production history that was production when
deployed, that promotion did not refuse, and that no rollback has moved away from
(:func:`rollback_target`); a rollback never rolls forward and never makes a refused version
production. Production (ZenML stage and MLflow ``champion`` alias) moves first, then traffic,
through the blue-green switch of :mod:`release.switching`.
"""

from __future__ import annotations

import time
from dataclasses import replace
from uuid import UUID

from zenml.client import Client
from zenml.logger import get_logger

from release.model_servers import (
    DEFAULT_TIMEOUT_S,
    DEFAULT_TOLERANCE,
    DEFAULT_WORKERS,
    DeploymentError,
    health_check,
    identify_server,
    stack_deployer,
    start_and_check,
)
from release.production import (
    ProductionRefused,
    promotion_decision,
    registered_version,
    set_production,
)
from release.switching import switch
from serving.gateway_process import check_gateway_port
from serving.identity import check_listener
from serving.routing import HistoryEntry, Route, RouteTable, read_routes, read_serving

logger = get_logger(__name__)


def rollback_target(table: RouteTable) -> HistoryEntry:
    """The production version a rollback returns to, from the recorded production history.

    Walking the history from the newest entry back, the first entry of the served model that
    is another version than the one served and :attr:`HistoryEntry.rollback_target`: it was
    production when deployed, promotion did not refuse it, and no rollback has moved away
    from it since. Explicit deployments of versions that were not production, versions
    promotion refused, and versions rolled back from are skipped; a rollback never rolls
    forward.

    Raises:
        DeploymentError: If nothing is served, or there is no such entry.
    """
    active = table.active
    if active is None:
        raise DeploymentError("nothing to roll back from: no deployment is active")
    for entry in reversed(table.history):
        if (
            entry.model_name == active.model_name
            and entry.model_version != active.model_version
            and entry.rollback_target
        ):
            return entry
    raise DeploymentError(
        f"nothing to roll back to: the production history records no earlier production "
        f"version of '{active.model_name}' (versions deployed without being production, "
        "versions promotion refused, and versions already rolled back from are skipped); "
        "deploy the version you want with the deployment pipeline"
    )


def history_after_rollback(
    history: tuple[HistoryEntry, ...],
    rolled_back_from: Route,
    restored: Route,
    promoted: bool | None,
    now: float,
) -> tuple[HistoryEntry, ...]:
    """The production history once a rollback moved from ``rolled_back_from`` to ``restored``.

    Every entry of the version rolled back from (same model name and version) is marked
    ``rolled_back_at=now``, so no later rollback returns to it; an entry for ``restored``
    (``via="rollback"``, ``production=True``) is appended.
    """
    marked = tuple(
        replace(entry, rolled_back_at=now)
        if entry.model_name == rolled_back_from.model_name
        and entry.model_version == rolled_back_from.model_version
        and entry.rolled_back_at is None
        else entry
        for entry in history
    )
    restored_entry = HistoryEntry(
        model_name=restored.model_name,
        model_version=restored.model_version,
        deployment_id=restored.deployment_id,
        deployed_at=now,
        production=True,
        promoted=promoted,
        via="rollback",
    )
    return (*marked, restored_entry)


def rollback(
    model_name: str | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    timeout_s: int = DEFAULT_TIMEOUT_S,
    workers: int = DEFAULT_WORKERS,
) -> RouteTable:
    """Return to the version that was production before the served one, and make it production.

    The target comes from the production history (:func:`rollback_target`). Its promotion
    record is read again from ZenML: a version promotion refused is never made production
    (:class:`release.production.ProductionRefused`). If the server kept as *previous* is that
    deployment of that version, it is reused (restarted if stopped, health-checked); otherwise
    the version is deployed again, blue-green, with the health check and smoke test. Production
    (ZenML stage and MLflow ``champion`` alias) moves first, then traffic. The version rolled
    back from is marked in the history, so a second rollback goes further back, never forward
    again; roll forward by deploying.

    Args:
        model_name: The model to roll back; default: the gateway's default model. The other
            models' routes, servers and production versions are not touched.
        tolerance: Smoke-test tolerance if the target has to be deployed again.
        timeout_s: Seconds to wait for a server to start.
        workers: Uvicorn workers of a newly started server.

    Returns:
        The new routing table.

    Raises:
        DeploymentError: If there is nothing to roll back to or it cannot be brought up;
            the served version keeps serving and production is unchanged.
    """
    try:
        # Before anything is restarted or routed, as a deployment does (release.switching).
        check_gateway_port()
    except RuntimeError as exc:
        raise DeploymentError(str(exc)) from exc
    serving = read_serving()
    table = serving.table(model_name)
    active = table.active
    if active is None:
        if model_name is None:
            raise DeploymentError("nothing to roll back from: no deployment is active")
        raise DeploymentError(
            f"model '{model_name}' is not served; served: {', '.join(serving.served()) or 'none'}"
        )
    target = rollback_target(table)
    try:
        target_version = Client().get_model_version(target.model_name, target.model_version)
    except KeyError as exc:
        raise DeploymentError(
            f"model '{target.model_name}' version {target.model_version}, the production "
            "version before, no longer exists"
        ) from exc
    promoted = promotion_decision(target_version)
    if promoted is False:
        raise DeploymentError(
            f"model '{target.model_name}' version {target.model_version} was refused by "
            "promotion; a rollback never makes it production"
        )
    previous = table.previous
    recorded = {e.deployment_id for e in table.history if e.deployment_id}
    if (
        previous is not None
        and previous.model_name == target.model_name
        and previous.model_version == target.model_version
        and previous.deployment_id in recorded
    ):
        restored = _bring_up(previous)
    else:
        registered = registered_version(target_version)
        if registered is None:
            raise DeploymentError(
                f"model '{target.model_name}' version {target.model_version} has no registry "
                "version recorded; it cannot be deployed again"
            )
        restored, _ = start_and_check(
            target_version, registered, table, tolerance, timeout_s, workers
        )
    try:
        set_production(restored.model_name, restored.model_version)
    except ProductionRefused as exc:
        raise DeploymentError(str(exc)) from exc
    new_table = switch(
        restored,
        history=history_after_rollback(
            read_routes(model_name=active.model_name).history,
            active,
            restored,
            promoted,
            time.time(),
        ),
    )
    logger.info(
        "Rolled back %s from version %s to version %s",
        active.model_name,
        active.model_version,
        restored.model_version,
    )
    return new_table


def _bring_up(route: Route) -> Route:
    """Make sure the kept server of ``route`` runs, is the process recorded, and is healthy.

    Returns:
        ``route``, with the server process re-identified if the server had to be restarted.

    Raises:
        DeploymentError: If it no longer exists, does not become healthy, or its port is
            answered by another process.
    """
    if check_listener(route.port, route.server) is None:
        health_check(route.health_url)
        return route
    deployer = stack_deployer()
    services = deployer.find_model_server(service_uuid=UUID(route.service_id))
    if not services:
        raise DeploymentError(
            f"the model server of {route.model_name} version {route.model_version} "
            f"({route.service_id}) no longer exists; redeploy that version with the deployment "
            "pipeline instead"
        )
    if not services[0].is_running:
        deployer.start_model_server(UUID(route.service_id))
        services = deployer.find_model_server(service_uuid=UUID(route.service_id))
    health_check(route.health_url)
    server = identify_server(services[0])
    return replace(route, server_pid=server.pid, server_started_at=server.started_at)
