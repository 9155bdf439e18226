"""Blue-green deployment through the active stack's model deployer, and rollback.

1. Start the new model server (*green*) beside the running one (*blue*), through the stack's
   model deployer (ZenML's MLflow deployer locally: a real local HTTP server).
2. Health check: its health URL must answer 200.
3. Smoke test: the evaluation's fixed sample must get the probabilities recorded at
   evaluation time, to within ``tolerance``.
4. Only then rewrite the gateway's routing table atomically: green becomes *active*, blue
   becomes *previous* and keeps running for rollback; older servers are deleted.

If step 2 or 3 fails, green is deleted, the routing table is untouched (blue keeps serving)
and :class:`DeploymentError` says why.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
import urllib.error
import urllib.request
from dataclasses import replace
from typing import Any
from uuid import UUID, uuid4

from zenml.client import Client
from zenml.logger import get_logger

from release.local_model import remove_staged, stage_model
from release.production import (
    ProductionRefused,
    current_production,
    promotion_decision,
    registered_version,
    set_production,
)
from serving.gateway_process import check_gateway_port, start_gateway
from serving.identity import (
    ServerProcess,
    UnidentifiedServer,
    check_listener,
    free_port,
    identify_listener,
    still_running,
)
from serving.routing import (
    HistoryEntry,
    Route,
    RouteTable,
    read_routes,
    read_serving,
    write_routes,
)
from tabular_classifier.evaluation import EvaluationReport
from tabular_classifier.predictor import ModelBundle

logger = get_logger(__name__)

DEFAULT_TOLERANCE = 1e-6
DEFAULT_TIMEOUT_S = 120
# Uvicorn workers per model server. More than one is unsafe with ZenML 0.98's local daemon:
# a multi-worker uvicorn listens in a way ZenML's free-port probe (SO_REUSEPORT) does not see,
# so the next server can be handed the same port and the old server answers for the new one.
# The smoke test's model-version check catches that, but the deployment then fails.
DEFAULT_WORKERS = 1
# Model server ports are counted up from here, as ZenML's local deployer counts them.
MODEL_SERVER_PORT_START = 8000


class DeploymentError(RuntimeError):
    """A deployment or rollback that could not be completed; the old routing stands."""


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


def _http(url: str, body: bytes | None = None, timeout: float = 10.0) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"} if body else {}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()
    except (urllib.error.URLError, OSError) as exc:
        return 0, str(exc).encode()


def health_check(url: str, timeout_s: float = 30.0) -> None:
    """Wait until ``url`` answers 200.

    Raises:
        DeploymentError: If it does not within ``timeout_s`` seconds.
    """
    deadline = time.monotonic() + timeout_s
    status, body = 0, b""
    while time.monotonic() < deadline:
        status, body = _http(url, timeout=2.0)
        if status == 200:
            return
        time.sleep(0.5)
    raise DeploymentError(f"health check failed: {url} answered {status} {body[:200]!r}")


def smoke_test(
    prediction_url: str, report: EvaluationReport, tolerance: float, model_version: str
) -> float:
    """Replay the evaluation's smoke sample against a server and compare probabilities.

    Args:
        prediction_url: The server's ``/invocations`` URL.
        report: The evaluation report holding the sample and its recorded probabilities.
        tolerance: Largest accepted absolute difference.
        model_version: The version the server must say it is.

    Returns:
        The largest absolute difference seen.

    Raises:
        DeploymentError: On a non-200 answer, a wrong row count, another model version
            answering, or a difference above ``tolerance``.
    """
    payload = report.smoke_request()
    status, body = _http(prediction_url, json.dumps(payload).encode(), timeout=30.0)
    if status != 200:
        raise DeploymentError(f"smoke test: {prediction_url} answered {status}: {body[:500]!r}")
    predictions = json.loads(body)["predictions"]
    expected = report.smoke_probabilities
    if len(predictions) != len(expected):
        raise DeploymentError(
            f"smoke test: {len(predictions)} predictions for {len(expected)} sample rows"
        )
    answered = {str(p.get("model_version")) for p in predictions}
    if answered != {model_version}:
        raise DeploymentError(
            f"smoke test: {prediction_url} answered as version(s) {sorted(answered)}, "
            f"expected {model_version}"
        )
    worst = max(
        abs(float(p["probability"]) - e) for p, e in zip(predictions, expected, strict=True)
    )
    if not math.isfinite(worst) or worst > tolerance:
        raise DeploymentError(
            f"smoke test: probabilities differ from those recorded at evaluation by up to "
            f"{worst:.3g} (tolerance {tolerance})"
        )
    return worst


def _deployer() -> Any:
    deployer = Client().active_stack.model_deployer
    if deployer is None:
        raise DeploymentError("the active stack has no model deployer")
    return deployer


def _ensure_venv_on_path() -> None:
    # MLflow's scoring server starts `uvicorn` by name through bash; when this process was
    # started as `.venv/bin/python ...` without activating the venv, uvicorn is not on PATH
    # and the model server dies with exit code 127.
    bin_dir = os.path.dirname(sys.executable)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def _start_server(model_version: Any, registered: str, timeout_s: int, workers: int) -> Any:
    deployer = _deployer()
    _ensure_venv_on_path()
    if deployer.flavor != "mlflow":
        raise DeploymentError(
            f"model deployer flavor '{deployer.flavor}' is not wired up for blue-green "
            "deployment here; see docs/seldon.md for Seldon Core"
        )
    from zenml.integrations.mlflow.services.mlflow_deployment import (
        MLFlowDeploymentConfig,
        MLFlowDeploymentService,
    )

    name = model_version.model.name
    config = MLFlowDeploymentConfig(
        model_uri=f"models:/{name}/{registered}",
        model_name=name,
        model_version=str(model_version.number),
        registry_model_name=name,
        registry_model_version=registered,
        pipeline_name="deployment_pipeline",
        pipeline_step_name="deploy_model",
        description=f"{name} version {model_version.number} (registry version {registered})",
        # One server per model version, found again by this name on a re-deploy.
        service_name=f"{name}-v{model_version.number}",
        workers=workers,
        timeout=timeout_s,
    )
    existing = deployer.find_model_server(service_name=config.service_name)
    service = next(
        (s for s in existing if getattr(s.config, "model_uri", None) == config.model_uri), None
    )
    if service is None:
        service = _create_server(
            deployer, config, MLFlowDeploymentService.SERVICE_TYPE, model_version.id, timeout_s
        )
    elif not service.is_running:
        service.start(timeout=timeout_s)
    return service


def _create_server(
    deployer: Any, config: Any, service_type: Any, model_version_id: UUID, timeout_s: int
) -> Any:
    """Register a new service in ZenML and start it through the deployer, on a port we chose.

    ``BaseModelDeployer.deploy_model`` is not used: in ZenML 0.98 it first looks for "an
    existing server with the same config", but the store ignores the config filter, so it
    hands back whichever MLflow server of this flavor is newest; a second version could never
    run beside the first. The service is built as the deployer's ``perform_deploy_model`` builds
    it (same class, the deployer's runtime path), except that its port is one nothing is bound
    to (:func:`serving.identity.free_port`, from 8000 up as ZenML counts), fixed with
    ``allocate_port=False``: ZenML's own probe accepts a port another process listens on with
    ``SO_REUSEPORT``, and the server then dies while that process answers in its place.
    """
    from zenml.integrations.mlflow.services.mlflow_deployment import MLFlowDeploymentService

    client = Client()
    response = client.create_service(
        config=config, service_type=service_type, model_version_id=model_version_id
    )
    try:
        config.root_runtime_path = deployer.local_path
        service = MLFlowDeploymentService(uuid=response.id, config=config)
        service.endpoint.config.port = free_port(MODEL_SERVER_PORT_START)
        service.endpoint.config.allocate_port = False
        service.start(timeout=timeout_s)
    except Exception:
        client.delete_service(response.id)
        raise
    client.update_service(
        id=service.uuid,
        name=service.config.service_name,
        service_source=service.model_dump().get("type"),
        admin_state=service.admin_state,
        status=service.status.model_dump(),
        endpoint=service.endpoint.model_dump() if service.endpoint else None,
        prediction_url=service.get_prediction_url(),
        health_check_url=service.get_healthcheck_url(),
    )
    if not service.is_running:
        runtime = service.status.runtime_path
        _delete_server(str(service.uuid))
        raise DeploymentError(f"model server {service.uuid} did not start; see {runtime}")
    return service


def identify_server(service: Any) -> ServerProcess:
    """The process answering on ``service``'s port, checked to be the one its daemon started.

    Args:
        service: A running ZenML local daemon service (``MLFlowDeploymentService``).

    Raises:
        DeploymentError: If the port is answered by any other process, or the daemon is gone.
    """
    port = service.endpoint.status.port
    daemon_pid = service.status.pid
    if not port or not daemon_pid:
        raise DeploymentError(f"model server {service.uuid} has no port or daemon process")
    try:
        return identify_listener(int(port), int(daemon_pid))
    except UnidentifiedServer as exc:
        raise DeploymentError(
            f"model server {service.uuid} is not the process answering: {exc}; the deployment "
            "is refused so that the gateway never routes to it"
        ) from exc


def _delete_server(service_id: str) -> None:
    try:
        _deployer().delete_model_server(UUID(service_id), force=True)
    except Exception as exc:  # noqa: BLE001 - best effort: never mask the deployment result
        logger.warning("Could not delete model server %s: %s", service_id, exc)


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
        return _record(active, table.previous, 0.0)
    green, worst = _start_and_check(target, registered, table, tolerance, timeout_s, workers)
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
    return _record(green, read_routes(model_name=model_name).previous, worst)


def _start_and_check(
    target: Any,
    registered: str,
    table: RouteTable,
    tolerance: float,
    timeout_s: int,
    workers: int,
) -> tuple[Route, float]:
    """Start a server for ``target``, health-check and smoke-test it; the routes are untouched.

    Returns:
        The new route (with a fresh deployment id) and the smoke test's largest difference.

    Raises:
        DeploymentError: If a check fails; the new server is deleted unless already routed.
    """
    bundle: ModelBundle = target.get_artifact("classifier").load()
    report: EvaluationReport = target.get_artifact("evaluation_report").load()
    service = _start_server(target, registered, timeout_s, workers)
    service_id = str(service.uuid)
    # A server the routing table still points at (e.g. the rollback target) is never deleted
    # because this deployment failed.
    routed = {
        r.service_id
        for t in read_serving().models.values()
        for r in (t.active, t.previous)
        if r is not None
    } | {r.service_id for r in (table.active, table.previous) if r is not None}
    try:
        url = service.get_prediction_url()
        health = service.get_healthcheck_url()
        if not url or not health:
            raise DeploymentError(f"model server {service_id} exposes no endpoint")
        health_check(health)
        server = identify_server(service)
        worst = smoke_test(url, report, tolerance, str(target.number))
        # Still the same process after the smoke test (it did not die and get replaced).
        if not still_running(server) or identify_server(service).pid != server.pid:
            raise DeploymentError(f"model server {service_id} changed process during its checks")
    except Exception:
        if service_id not in routed:
            _delete_server(service_id)
        raise
    green = Route(
        model_name=target.model.name,
        model_version=str(target.number),
        registered_version=registered,
        service_id=service_id,
        url=url,
        health_url=health,
        contract=bundle.contract.to_dict(),
        deployment_id=uuid4().hex,
        server_pid=server.pid,
        server_started_at=server.started_at,
        model_uri=str(service.config.model_uri),
    )
    # The hot path: the gateway scores this same model in process (falls back to the server).
    _configure_mlflow()
    return stage_model(green, report, tolerance), worst


def _configure_mlflow() -> None:
    """Point MLflow at the stack's tracking server and registry, as the model server does."""
    configure = getattr(Client().active_stack.experiment_tracker, "configure_mlflow", None)
    if callable(configure):
        configure()


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
        and _http(active.health_url, timeout=2.0)[0] == 200
    )


def _record(active: Route, previous: Route | None, worst: float) -> dict[str, Any]:
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
        _delete_server(service_id)
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
        restored, _ = _start_and_check(
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
    deployer = _deployer()
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


def restart_server(model_name: str) -> Route:
    """Bring a model's active server back after it crashed, and record its new process.

    What the supervisor (:mod:`serving.supervisor`) runs when the process recorded for a model's
    active route is gone: through the stack's model deployer, the server is stopped (its daemon
    may outlive the server it started) and started again on its port, health-checked and
    identified (:func:`identify_server`); then the route, same deployment id, records the new
    process, so the gateway routes to it again. Nothing is done when the recorded process still
    answers, or when another deployment replaced the route meanwhile.

    Args:
        model_name: The model whose active server to restart.

    Returns:
        The route as it now stands.

    Raises:
        DeploymentError: If the model is not served, its server no longer exists, or it does
            not come back healthy and identified.
    """
    route = read_routes(model_name=model_name).active
    if route is None:
        raise DeploymentError(f"model '{model_name}' is not served; nothing to restart")
    if check_listener(route.port, route.server) is None:
        return route
    deployer = _deployer()
    _ensure_venv_on_path()
    services = deployer.find_model_server(service_uuid=UUID(route.service_id))
    if not services:
        raise DeploymentError(
            f"the model server of {model_name} version {route.model_version} "
            f"({route.service_id}) no longer exists; deploy again"
        )
    deployer.stop_model_server(UUID(route.service_id), force=True)
    deployer.start_model_server(UUID(route.service_id))
    service = deployer.find_model_server(service_uuid=UUID(route.service_id))[0]
    # Normally the same port (fixed at deployment); the URLs are read back in case it moved.
    url, health = service.get_prediction_url(), service.get_healthcheck_url()
    if not url or not health:
        raise DeploymentError(f"model server {route.service_id} exposes no endpoint")
    health_check(health)
    server = identify_server(service)
    restarted = replace(
        route,
        url=url,
        health_url=health,
        server_pid=server.pid,
        server_started_at=server.started_at,
    )
    table = read_routes(model_name=model_name)
    if table.active is None or table.active.deployment_id != route.deployment_id:
        return table.active or restarted  # a deployment or stop came first: theirs stands
    write_routes(replace(table, active=restarted, updated_at=time.time()), model_name=model_name)
    logger.info(
        "Restarted the model server of %s version %s (PID %s)",
        model_name,
        route.model_version,
        server.pid,
    )
    return restarted
