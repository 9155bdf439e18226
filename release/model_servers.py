"""Model servers through the active stack's model deployer: start, check, identify, restart.

A new server for a model version is started beside the running ones (ZenML's MLflow deployer
locally: a real local HTTP server), on a port nothing else is bound to; it must answer its
health URL with 200, be the very process its daemon started, and pass the smoke test (the
evaluation's fixed sample gets the probabilities recorded at evaluation time, to within a
tolerance). A server that fails a check is deleted unless a route still points at it.
:func:`restart_server` is what the supervisor runs when a routed server crashed.
The blue-green switch built on these is :mod:`release.switching`; rollback is
:mod:`release.rollback`.
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

from release.local_model import stage_model
from serving.identity import (
    ServerProcess,
    UnidentifiedServer,
    check_listener,
    free_port,
    identify_listener,
    still_running,
)
from serving.routing import Route, RouteTable, read_routes, read_serving, write_routes
from tabular_classifier.evaluation import EvaluationReport
from tabular_classifier.predictor import ModelBundle

logger = get_logger(__name__)

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


def http_call(url: str, body: bytes | None = None, timeout: float = 10.0) -> tuple[int, bytes]:
    """GET ``url`` (POST ``body`` as JSON if given): ``(status, body)``, never raising.

    An HTTP error gives its status and body; a connection failure gives ``(0, reason)``.
    ``timeout`` is in seconds.
    """
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
        status, body = http_call(url, timeout=2.0)
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
    status, body = http_call(prediction_url, json.dumps(payload).encode(), timeout=30.0)
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


def stack_deployer() -> Any:
    """The active stack's model deployer.

    Raises:
        DeploymentError: If the active stack has none.
    """
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
    deployer = stack_deployer()
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
        delete_server(str(service.uuid))
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


def delete_server(service_id: str) -> None:
    """Delete a model server through the stack's deployer; best effort, failures are logged."""
    try:
        stack_deployer().delete_model_server(UUID(service_id), force=True)
    except Exception as exc:  # noqa: BLE001 - best effort: never mask the deployment result
        logger.warning("Could not delete model server %s: %s", service_id, exc)


def start_and_check(
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
            delete_server(service_id)
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
    deployer = stack_deployer()
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
