"""Blue-green deployment through the active stack's model deployer.

1. Start the new model server (*green*) beside the running one (*blue*), through the stack's
   model deployer (ZenML's MLflow deployer locally: a real local HTTP server).
2. Health check: its health URL must answer 200.
3. Smoke test: the evaluation's fixed sample must get the probabilities recorded at
   evaluation time, to within ``tolerance``.
4. Only then rewrite the gateway's routing table atomically: green becomes *active*, blue
   becomes *previous* and keeps running for rollback; older servers are deleted.

If step 2 or 3 fails, green is deleted, the routing table is untouched (blue keeps serving)
and :class:`release.model_servers.DeploymentError` says why. Steps 1 to 3 are
:func:`release.model_servers.start_and_check`.
"""

from __future__ import annotations

import time
from typing import Any

from zenml.client import Client
from zenml.logger import get_logger

from release.local_model import remove_staged
from release.model_servers import (
    DEFAULT_TIMEOUT_S,
    DEFAULT_TOLERANCE,
    DEFAULT_WORKERS,
    DeploymentError,
    delete_server,
    http_call,
    start_and_check,
)
from release.production import current_production, promotion_decision, registered_version
from serving.gateway_process import check_gateway_port, start_gateway
from serving.identity import check_listener
from serving.routing import HistoryEntry, Route, RouteTable, read_routes, write_routes

logger = get_logger(__name__)


def resolve_model_version(model_name: str, version: str | None) -> Any:
    """The model version to deploy: ``version`` if given, else the production one.

    Raises:
        DeploymentError: If there is no such version, or no production version.
    """
    client = Client()
    if version is None:
        target = current_production(model_name)
        if target is None:
            raise DeploymentError(
                f"model '{model_name}' has no production version; train and promote one first"
                " (or pass an explicit `version`)"
            )
        return target
    try:
        return client.get_model_version(model_name, version)
    except KeyError as exc:
        raise DeploymentError(f"model '{model_name}' has no version '{version}'") from exc


def deploy(
    model_name: str,
    version: str | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    timeout_s: int = DEFAULT_TIMEOUT_S,
    workers: int = DEFAULT_WORKERS,
) -> dict[str, Any]:
    """Blue-green deploy a model version (see the module docstring).

    Args:
        model_name: The ZenML model name.
        version: A ZenML model version number; default: the production version.
        tolerance: Smoke-test tolerance on probabilities (absolute).
        timeout_s: Seconds to wait for the new server to start.
        workers: Uvicorn worker processes of the new model server.

    Returns:
        ``{"model_name", "deployment_id", "model_version", "registered_version", "service_id",
        "url", "previous_model_name", "previous_version", "smoke_max_abs_diff", "gateway"}``.

    Raises:
        DeploymentError: If the version cannot be deployed; the running version keeps serving.
    """
    if tolerance < 0:
        raise DeploymentError(f"smoke_test_tolerance must be >= 0, got {tolerance}")
    if workers < 1:
        raise DeploymentError(f"workers must be >= 1 (uvicorn worker processes), got {workers}")
    if timeout_s <= 0:
        raise DeploymentError(f"start_timeout_s must be > 0 seconds, got {timeout_s}")
    try:
        # Before anything starts: a port held by another program would fail the switch after
        # the new server was started and the routes were written.
        check_gateway_port()
    except RuntimeError as exc:
        raise DeploymentError(str(exc)) from exc
    target = resolve_model_version(model_name, version)
    registered = registered_version(target)
    if registered is None:
        raise DeploymentError(
            f"model '{model_name}' version {target.number} has no registry version recorded; "
            "it was not created by register_model"
        )
    table = read_routes(model_name=model_name)
    active = table.active
    if already_serving(active, model_name, str(target.number), registered):
        assert active is not None  # already_serving says so
        logger.info(
            "%s version %s (deployment %s) is already active and healthy; nothing to do",
            model_name,
            target.number,
            active.deployment_id,
        )
        start_gateway()
        return deployment_record(active, table.previous, 0.0)
    green, worst = start_and_check(target, registered, table, tolerance, timeout_s, workers)
    production = current_production(model_name)
    entry = HistoryEntry(
        model_name=model_name,
        model_version=green.model_version,
        deployment_id=green.deployment_id,
        deployed_at=time.time(),
        production=production is not None and production.id == target.id,
        promoted=promotion_decision(target),
    )
    switch(green, history=(*read_routes(model_name=model_name).history, entry))
    return deployment_record(green, read_routes(model_name=model_name).previous, worst)


def already_serving(
    active: Route | None, model_name: str, model_version: str, registered: str
) -> bool:
    """Whether ``active`` already serves this model version, so a deploy has nothing to do.

    Compares the whole identity: model name, ZenML version, MLflow registry version, and that
    the route was made by a deployment (has a deployment id); never the version alone
    (``card_classifier`` v1 is not ``breast_cancer_classifier`` v1). Its port must be answered
    by the process recorded at deployment alone (:func:`serving.identity.check_listener`), and
    that process must answer its health URL with 200 within 2 s.

    Args:
        active: The routing table's active route, or ``None``.
        model_name: The ZenML model name asked for.
        model_version: The ZenML model version number asked for, as a string.
        registered: Its MLflow registry version.
    """
    return (
        active is not None
        and bool(active.deployment_id)
        and active.model_name == model_name
        and active.model_version == model_version
        and active.registered_version == registered
        and check_listener(active.port, active.server) is None
        and http_call(active.health_url, timeout=2.0)[0] == 200
    )


def deployment_record(active: Route, previous: Route | None, worst: float) -> dict[str, Any]:
    """What a deployment reports (the ``deployment`` step output, ``records.Deployment``).

    Args:
        active: The route now serving.
        previous: The route it replaced, if any.
        worst: The smoke test's largest absolute probability difference (0.0 when nothing
            was deployed because this deployment already served).

    Returns:
        JSON-safe fields: model name, deployment id, model and registry version, service id,
        model-server URL, the previous model name and version (or None), the smoke
        difference and the gateway URL.
    """
    from serving.routing import gateway_url

    return {
        "model_name": active.model_name,
        "deployment_id": active.deployment_id,
        "model_version": active.model_version,
        "registered_version": active.registered_version,
        "service_id": active.service_id,
        "url": active.url,
        "previous_model_name": None if previous is None else previous.model_name,
        "previous_version": None if previous is None else previous.model_version,
        "smoke_max_abs_diff": worst,
        "gateway": gateway_url(),
    }


def switch(green: Route, history: tuple[HistoryEntry, ...] | None = None) -> RouteTable:
    """Point the gateway at ``green``; keep the old active server as previous; retire others.

    Args:
        green: The route to serve.
        history: The production history to store with it; ``None`` keeps the current one.

    Returns:
        The new routing table.
    """
    old = read_routes(model_name=green.model_name)
    keep_previous: Route | None
    if old.active is not None and old.active.service_id != green.service_id:
        keep_previous = old.active
    else:
        keep_previous = old.previous
    table = RouteTable(
        active=green,
        previous=keep_previous,
        updated_at=time.time(),
        history=old.history if history is None else history,
    )
    write_routes(table, model_name=green.model_name)
    start_gateway()
    retired = {
        r.service_id
        for r in (old.active, old.previous)
        if r is not None
        and r.service_id not in {green.service_id, getattr(keep_previous, "service_id", None)}
    }
    for service_id in retired:
        delete_server(service_id)
    for route in (old.active, old.previous):
        if route is not None and route.service_id in retired:
            remove_staged(route)
    logger.info(
        "Gateway now routes to %s version %s%s",
        green.model_name,
        green.model_version,
        ""
        if keep_previous is None
        else f"; {keep_previous.model_name} version {keep_previous.model_version} kept running "
        "as the previous server; rollback goes to the served model's last production version "
        "(production_history in `python -m release status`)",
    )
    return table
