"""What the gateway knows about its routes: tables, model server identity, in-process scorers.

:class:`RouteState` re-reads ``route.json`` when it changes (one ``stat`` per request);
:class:`ServerIdentity` tells whether a route's port is answered by the model server process its
deployment recorded (:mod:`serving.identity`).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from serving.identity import check_listener, still_running
from serving.routing import ROUTE_FILE, Route, ServingRoutes, read_serving
from serving.scorer import Scorers
from tabular_classifier.contract import RowContract

# Latency buckets in seconds, from 1 ms to 5 s.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# Seconds between full checks that a model server's port is answered by the recorded process.
IDENTITY_RECHECK_S = 5.0


def _check_route(route: Route) -> str | None:
    try:
        port = route.port
    except ValueError as exc:
        return str(exc)
    return check_listener(port, route.server)


class ServerIdentity:
    """Whether a route's port is answered by the model server process recorded at deployment.

    The full check (:func:`serving.identity.check_listener`: every listener on the port is that
    process) runs in a worker thread when a route is first used, every
    :data:`IDENTITY_RECHECK_S` seconds, and after any failed connection to it; in between, each
    request only checks that the process still runs with the same start time
    (:func:`serving.identity.still_running`, tens of microseconds).
    """

    def __init__(self) -> None:
        self._checked: dict[str, tuple[float, str | None]] = {}
        self._lock = asyncio.Lock()

    async def problem(self, route: Route) -> str | None:
        """Why the gateway must not route to ``route``, or ``None`` when it may."""
        key = f"{route.deployment_id}:{route.server_pid}"
        checked = self._checked.get(key)
        if checked is None or time.monotonic() - checked[0] > IDENTITY_RECHECK_S:
            async with self._lock:
                checked = self._checked.get(key)
                if checked is None or time.monotonic() - checked[0] > IDENTITY_RECHECK_S:
                    reason = await asyncio.to_thread(_check_route, route)
                    checked = (time.monotonic(), reason)
                    self._checked[key] = checked
            return checked[1]
        if checked[1] is None and not still_running(route.server):
            checked = (checked[0], f"model server process {route.server_pid} is no longer running")
            self._checked[key] = checked
        return checked[1]

    def forget(self, route: Route) -> None:
        """Check ``route`` in full again on its next use (after a failed connection)."""
        self._checked.pop(f"{route.deployment_id}:{route.server_pid}", None)


class RouteState:
    """The routing tables, re-read whenever ``route.json`` changes, and each route's scorer."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._path = directory / ROUTE_FILE
        self._mtime_ns = -1
        self._serving = ServingRoutes(models={}, default_model=None)
        self._contracts: dict[str, RowContract] = {}
        self.scorers = Scorers()

    def current(self) -> ServingRoutes:
        """Every model's routes, as of the last change of ``route.json``."""
        try:
            mtime = self._path.stat().st_mtime_ns
        except FileNotFoundError:
            return self._serving
        if mtime != self._mtime_ns:
            self._serving = read_serving(self._directory)
            actives = [t.active for t in self._serving.models.values() if t.active is not None]
            self._contracts = {
                route.model_name: RowContract.from_dict(route.contract) for route in actives
            }
            self.scorers.retain(actives)
            self._mtime_ns = mtime
        return self._serving

    def active(self, model_name: str | None) -> tuple[Route | None, RowContract | None]:
        """The active route of ``model_name`` (default: the default model) and its contract."""
        route = self.current().table(model_name).active
        return route, None if route is None else self._contracts.get(route.model_name)


class GatewayMetrics:
    """The gateway's Prometheus metrics, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "gateway_requests_total",
            "Prediction requests by HTTP status",
            ["status"],
            registry=self.registry,
        )
        self.predictions = Counter(
            "gateway_predictions_total",
            "Rows predicted by model name and version",
            ["model_name", "model_version"],
            registry=self.registry,
        )
        self.scoring = Counter(
            "gateway_scored_requests_total",
            "Answered prediction requests by where they were scored (in_process, model_server)",
            ["path"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "gateway_request_latency_seconds",
            "Prediction request latency (seconds)",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        # Label children looked up once each, on first use (a series appears in /metrics when
        # it first counts, as with labels()): ``labels()`` validates its arguments every call.
        self._children: dict[tuple[str, ...], Any] = {}

    def _child(self, metric: Counter, *labels: str) -> Any:
        key = (str(id(metric)), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def answered(self, route: Route, n_rows: int, latency_s: float, in_process: bool) -> None:
        """Count an answered (200) prediction request.

        Args:
            route: The route that answered (its model name and version label the rows).
            n_rows: Rows predicted.
            latency_s: The request's latency, in seconds.
            in_process: Whether the gateway scored it (else a model server did).
        """
        self.latency.observe(latency_s)
        self._child(self.requests, "200").inc()
        self._child(self.predictions, route.model_name, route.model_version).inc(n_rows)
        self._child(self.scoring, "in_process" if in_process else "model_server").inc()
