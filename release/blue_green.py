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
from typing import Any
from uuid import UUID

from zenml.client import Client
from zenml.logger import get_logger

from release.production import current_production, registered_version, set_production
from serving.contract import FeatureContract
from serving.routing import Route, RouteTable, read_routes, start_gateway, write_routes
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
    frame = report.smoke_frame()
    payload = {
        "dataframe_split": {
            "columns": list(frame.columns),
            "data": frame.astype(object).where(frame.notna(), None).to_numpy().tolist(),
        }
    }
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
    """Register a new service in ZenML and start it through the deployer.

    ``BaseModelDeployer.deploy_model`` is not used: in ZenML 0.98 it first looks for "an
    existing server with the same config", but the store ignores the config filter, so it
    hands back whichever MLflow server of this flavor is newest; a second version could never
    run beside the first. These are the same calls ``deploy_model`` makes, minus that lookup.
    """
    client = Client()
    response = client.create_service(
        config=config, service_type=service_type, model_version_id=model_version_id
    )
    try:
        service = deployer.perform_deploy_model(id=response.id, config=config, timeout=timeout_s)
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
        ``{"model_version", "registered_version", "service_id", "url", "previous_version",
        "smoke_max_abs_diff", "gateway"}``.

    Raises:
        DeploymentError: If the version cannot be deployed; the running version keeps serving.
    """
    target = resolve_model_version(model_name, version)
    registered = registered_version(target)
    if registered is None:
        raise DeploymentError(
            f"model '{model_name}' version {target.number} has no registry version recorded; "
            "it was not created by register_model"
        )
    bundle: ModelBundle = target.get_artifact("classifier").load()
    report: EvaluationReport = target.get_artifact("evaluation_report").load()
    if tolerance < 0:
        raise DeploymentError(f"smoke_test_tolerance must be >= 0, got {tolerance}")
    table = read_routes()
    active = table.active
    if (
        active is not None
        and active.model_version == str(target.number)
        and _http(active.health_url, timeout=2.0)[0] == 200
    ):
        logger.info("Version %s is already active and healthy; nothing to do", target.number)
        start_gateway()
        return _record(active, table.previous, 0.0)
    service = _start_server(target, registered, timeout_s, workers)
    service_id = str(service.uuid)
    # A server the routing table still points at (e.g. the rollback target) is never deleted
    # because this deployment failed.
    routed = {r.service_id for r in (table.active, table.previous) if r is not None}
    try:
        url = service.get_prediction_url()
        health = service.get_healthcheck_url()
        if not url or not health:
            raise DeploymentError(f"model server {service_id} exposes no endpoint")
        health_check(health)
        worst = smoke_test(url, report, tolerance, str(target.number))
    except Exception:
        if service_id not in routed:
            _delete_server(service_id)
        raise
    green = Route(
        model_name=model_name,
        model_version=str(target.number),
        registered_version=registered,
        service_id=service_id,
        url=url,
        health_url=health,
        contract=FeatureContract.from_schema(bundle.schema).to_dict(),
    )
    switch(green)
    return _record(green, read_routes().previous, worst)


def _record(active: Route, previous: Route | None, worst: float) -> dict[str, Any]:
    from serving.routing import gateway_url

    return {
        "model_version": active.model_version,
        "registered_version": active.registered_version,
        "service_id": active.service_id,
        "url": active.url,
        "previous_version": None if previous is None else previous.model_version,
        "smoke_max_abs_diff": worst,
        "gateway": gateway_url(),
    }


def switch(green: Route) -> RouteTable:
    """Point the gateway at ``green``; keep the old active server as previous; retire others.

    Returns:
        The new routing table.
    """
    old = read_routes()
    keep_previous: Route | None
    if old.active is not None and old.active.service_id != green.service_id:
        keep_previous = old.active
    else:
        keep_previous = old.previous
    table = RouteTable(active=green, previous=keep_previous, updated_at=time.time())
    write_routes(table)
    start_gateway()
    retired = {
        r.service_id
        for r in (old.active, old.previous)
        if r is not None
        and r.service_id not in {green.service_id, getattr(keep_previous, "service_id", None)}
    }
    for service_id in retired:
        _delete_server(service_id)
    logger.info(
        "Gateway now routes to version %s%s",
        green.model_version,
        ""
        if keep_previous is None
        else f"; version {keep_previous.model_version} kept for rollback",
    )
    return table


def rollback() -> RouteTable:
    """Route traffic back to the previous version and make it production again.

    The previous server is restarted if it was stopped and must pass a health check before
    traffic moves. Afterwards the two versions have swapped places: a second rollback rolls
    forward again.

    Returns:
        The new routing table.

    Raises:
        DeploymentError: If there is no previous version or it cannot be brought up.
    """
    table = read_routes()
    if table.previous is None or table.active is None:
        raise DeploymentError("nothing to roll back to: no previous deployment is recorded")
    previous = table.previous
    deployer = _deployer()
    services = deployer.find_model_server(service_uuid=UUID(previous.service_id))
    if not services:
        raise DeploymentError(
            f"the model server of version {previous.model_version} ({previous.service_id}) no "
            "longer exists; redeploy that version with the deployment pipeline instead"
        )
    if not services[0].is_running:
        deployer.start_model_server(UUID(previous.service_id))
    health_check(previous.health_url)
    new_table = RouteTable(active=previous, previous=table.active, updated_at=time.time())
    write_routes(new_table)
    start_gateway()
    set_production(previous.model_name, previous.model_version)
    logger.info("Rolled back to version %s", previous.model_version)
    return new_table
