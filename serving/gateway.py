"""The prediction gateway: one stable address in front of blue-green model servers.

``POST /models/<name>/invocations`` serves model ``<name>``, and ``POST /invocations`` the
default model (:class:`serving.routing.ServingRoutes`; several models can be served at once).
The request (MLflow's request formats, see :mod:`serving.contract`) is validated against the
model's active version's contract, forwarded to its active model server, and answered with::

    {"model_version": "3",
     "predictions": [{"probability": 0.97, "label": "1", "model_version": "3",
                      "unknown_categories": 0}, ...],
     "unknown_categories": {"city": 1}}

``unknown_categories`` counts, per column, the values that were categories never seen in
training (scored as no category); each prediction carries its row's count.

Bad input gets 400/413/422 with a message naming the field or column (the row contract's
``kind`` and ``row`` too); a model not served gets 404 (``MODEL_NOT_FOUND``); an unreachable
model server, or one the gateway cannot identify as the process its deployment started
(:mod:`serving.identity`), gets 503 with ``Retry-After``; the gateway itself never answers 500
for a request's content. The body limit is enforced while the body streams (chunked or not),
values echoed in error bodies are cut to :func:`excerpt`, and ``X-Request-Id`` must match
:data:`REQUEST_ID_PATTERN` (else 400) before it is echoed or logged.

Other endpoints: ``GET /health`` and ``GET /models/<name>/health`` (200 with the model name,
version and deployment id; 503 with no deployment or an unreachable or unidentified server),
``GET /version`` (the routing tables), ``GET /metrics`` (Prometheus: request counts by status,
predictions by model name and version, request latency histogram).

Every prediction is appended to the prediction log with its request latency, which the
monitoring pipeline reads. Run with ``python -m serving.gateway --port 8765``; it binds to
127.0.0.1 unless ``--host`` says otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

from serving.contract import DEFAULT_MAX_ROWS, RequestError, parse_rows
from serving.identity import check_listener, still_running
from serving.prediction_log import JsonlPredictionWriter, utc_now
from serving.routing import DEFAULT_HOST, ROUTE_FILE, Route, ServingRoutes, read_serving
from tabular_classifier.contract import RowContract

logger = logging.getLogger("serving.gateway")

UPSTREAM_TIMEOUT_S = 30.0
# Bodies above this are refused: at once when Content-Length says so, else as soon as the
# streamed body (chunked or not) passes it; never read whole (10,000 rows of 30 numbers is
# ~2.5 MB).
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
# Bodies above this are parsed in a worker thread, so /health and small requests keep being
# answered while a large batch is parsed (a 1-row request is ~1 KB and stays on the loop).
THREAD_PARSE_BYTES = 256 * 1024
# Error bodies repeat values (column names, header values) as an excerpt of at most this many
# characters, plus an ellipsis and the original length.
EXCERPT_CHARS = 200
# An error message is never longer than this (after the excerpts above).
MAX_MESSAGE_CHARS = 2000
REQUEST_ID_HEADER = "X-Request-Id"
# A request id: 1-128 characters of A-Z a-z 0-9 . _ : - (UUIDs, ULIDs, trace ids fit).
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_LONG_RUN = re.compile(rf"[^\s'\"]{{{EXCERPT_CHARS + 1},}}")
SERVICE_NAME = "tabular-gateway"
# Seconds between full checks that a model server's port is answered by the recorded process.
IDENTITY_RECHECK_S = 5.0
# What a 503 tells clients to wait before retrying, in seconds.
RETRY_AFTER_S = 2
# Latency buckets in seconds, from 1 ms to 5 s.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def excerpt(value: str, limit: int = EXCERPT_CHARS) -> str:
    """A bounded excerpt of ``value`` for error bodies.

    Returns:
        ``value`` if at most ``limit`` characters, else its first ``limit`` characters, an
        ellipsis and the original length, e.g. ``"vvvv… (1000000 chars)"``.
    """
    if len(value) <= limit:
        return value
    return f"{value[:limit]}… ({len(value)} chars)"


def bound_message(message: str) -> str:
    """An error message with its echoed values bounded.

    Every run of more than :data:`EXCERPT_CHARS` characters without space or quote (an echoed
    value) is cut to an :func:`excerpt`, then the whole to :data:`MAX_MESSAGE_CHARS`.
    """
    return excerpt(_LONG_RUN.sub(lambda m: excerpt(m.group(0)), message), MAX_MESSAGE_CHARS)


def _bounded(body: dict[str, Any]) -> dict[str, Any]:
    """An error body with bounded strings.

    ``message`` is bounded by :func:`bound_message`, every other string (``field``, ...) by
    :func:`excerpt`.
    """
    return {
        key: (bound_message(value) if key == "message" else excerpt(value))
        if isinstance(value, str)
        else value
        for key, value in body.items()
    }


class _BodyTooLarge(Exception):
    """The streamed request body passed the limit; ``read`` bytes were read so far."""

    def __init__(self, read: int) -> None:
        super().__init__(read)
        self.read = read


async def read_body_bounded(request: Request, limit: int) -> bytes:
    """Read the request body chunk by chunk, stopping as soon as it passes ``limit`` bytes.

    Works the same with ``Content-Length`` and with chunked transfer encoding; at most
    ``limit`` bytes plus one chunk are ever held.

    Raises:
        _BodyTooLarge: When the body is longer than ``limit`` bytes.
    """
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _BodyTooLarge(len(body))
    return bytes(body)


def _check_route(route: Route) -> str | None:
    try:
        port = route.port
    except ValueError as exc:
        return str(exc)
    return check_listener(port, route.server)


class _Identity:
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


class _Routes:
    """The routing tables, re-read whenever ``route.json`` changes (one ``stat`` per request)."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._path = directory / ROUTE_FILE
        self._mtime_ns = -1
        self._serving = ServingRoutes(models={}, default_model=None)
        self._contracts: dict[str, RowContract] = {}

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
            self._mtime_ns = mtime
        return self._serving

    def active(self, model_name: str | None) -> tuple[Route | None, RowContract | None]:
        """The active route of ``model_name`` (default: the default model) and its contract."""
        route = self.current().table(model_name).active
        return route, None if route is None else self._contracts.get(route.model_name)


def create_app(
    state: Path,
    log_dir: Path,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> FastAPI:
    """Build the gateway application.

    Args:
        state: The serving state directory holding ``route.json``.
        log_dir: Where the prediction log is written.
        max_rows: Largest batch accepted per request, in rows.
        max_body_bytes: Largest request body accepted, in bytes.

    Returns:
        The FastAPI app.
    """
    routes = _Routes(state)
    writer = JsonlPredictionWriter(log_dir)
    registry = CollectorRegistry()
    requests_total = Counter(
        "gateway_requests_total",
        "Prediction requests by HTTP status",
        ["status"],
        registry=registry,
    )
    predictions_total = Counter(
        "gateway_predictions_total",
        "Rows predicted by model name and version",
        ["model_name", "model_version"],
        registry=registry,
    )
    latency = Histogram(
        "gateway_request_latency_seconds",
        "Prediction request latency (seconds)",
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )
    clients: dict[str, httpx.AsyncClient] = {}
    identity = _Identity()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        clients["http"] = httpx.AsyncClient(
            timeout=UPSTREAM_TIMEOUT_S,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
        )
        yield
        await clients["http"].aclose()
        writer.close()

    app = FastAPI(title="tabular-mlops prediction gateway", lifespan=lifespan)

    def _error(status: int, body: dict[str, Any]) -> Response:
        requests_total.labels(str(status)).inc()
        # Every error body has the same five keys (README, "The serving contract").
        body = {"field": None, "kind": None, "row": None, **body}
        return Response(
            orjson.dumps(_bounded(body)),
            status_code=status,
            media_type="application/json",
            headers={"Retry-After": str(RETRY_AFTER_S)} if status == 503 else None,
        )

    def _too_large(detail: str) -> Response:
        return _error(
            413,
            {
                "error_code": "PAYLOAD_TOO_LARGE",
                "message": f"body {detail} exceeds the limit of {max_body_bytes} bytes",
                "field": None,
            },
        )

    @app.post("/invocations")
    async def invocations(request: Request) -> Response:
        return await _guarded(request, None)

    @app.post("/models/{model_name}/invocations")
    async def model_invocations(request: Request, model_name: str) -> Response:
        return await _guarded(request, model_name)

    async def _guarded(request: Request, model_name: str | None) -> Response:
        try:
            return await _invocations(request, model_name)
        except Exception:  # noqa: BLE001 - counted and logged; the server stays up
            logger.exception("unexpected error while serving a request")
            return _error(500, {"error_code": "INTERNAL_ERROR", "message": "unexpected error"})

    def _not_served(model_name: str | None) -> Response:
        if model_name is None:
            return _error(503, {"error_code": "NO_DEPLOYMENT", "message": "no model deployed"})
        served = routes.current().served()
        return _error(
            404,
            {
                "error_code": "MODEL_NOT_FOUND",
                "message": f"model '{excerpt(model_name, 100)}' is not served here; served: "
                + (", ".join(served) or "none"),
                "field": "model_name",
            },
        )

    async def _invocations(request: Request, model_name: str | None) -> Response:
        started = time.perf_counter()
        request_id = request.headers.get(REQUEST_ID_HEADER)
        if request_id is not None and not REQUEST_ID_PATTERN.fullmatch(request_id):
            return _error(
                400,
                {
                    "error_code": "BAD_REQUEST",
                    "message": f"header '{REQUEST_ID_HEADER}' must be 1-128 characters of "
                    f"A-Z a-z 0-9 . _ : -, got {len(request_id)} characters: "
                    f"{excerpt(request_id, 40)!r}",
                    "field": REQUEST_ID_HEADER,
                },
            )
        content_type = request.headers.get("content-type", "application/json")
        if not content_type.split(";")[0].strip().lower().endswith("json"):
            return _error(
                415,
                {
                    "error_code": "UNSUPPORTED_MEDIA_TYPE",
                    "message": f"content type '{excerpt(content_type)}' is not supported; send "
                    "application/json",
                    "field": "Content-Type",
                },
            )
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > max_body_bytes:
            return _too_large(f"of {excerpt(length, 20)} bytes")
        route, contract = routes.active(model_name)
        if route is None or contract is None:
            return _not_served(model_name)
        problem = await identity.problem(route)
        if problem is not None:
            return _error(
                503,
                {
                    "error_code": "MODEL_SERVER_UNIDENTIFIED",
                    "message": f"model server for {route.model_name} version "
                    f"{route.model_version} cannot be identified ({problem}); the gateway "
                    "does not route to it",
                },
            )
        try:
            body = await read_body_bounded(request, max_body_bytes)
        except _BodyTooLarge as exc:
            return _too_large(f"passed {exc.read} bytes while streaming, which")
        try:
            if len(body) > THREAD_PARSE_BYTES:
                parsed = await asyncio.to_thread(parse_rows, body, contract, max_rows)
            else:
                parsed = parse_rows(body, contract, max_rows)
        except RequestError as exc:
            return _error(exc.status, exc.to_json())
        columns = contract.names
        rows = parsed.json_rows()
        payload = {"dataframe_split": {"columns": columns, "data": rows}}
        try:
            upstream = await clients["http"].post(
                route.url,
                content=orjson.dumps(payload),
                headers={"Content-Type": "application/json"},
            )
        except httpx.HTTPError as exc:
            identity.forget(route)
            return _error(
                503,
                {
                    "error_code": "UPSTREAM_UNAVAILABLE",
                    "message": f"model server for version {route.model_version} unreachable: {exc}",
                },
            )
        if upstream.status_code != 200:
            status = upstream.status_code if 400 <= upstream.status_code < 500 else 502
            return _error(
                status,
                {
                    "error_code": "UPSTREAM_ERROR",
                    "message": f"model server answered {upstream.status_code}: "
                    f"{upstream.text[:2000]}",
                },
            )
        predictions = orjson.loads(upstream.content)["predictions"]
        unknown_per_row = parsed.unknown_per_row().tolist()
        elapsed = time.perf_counter() - started
        latency.observe(elapsed)
        requests_total.labels("200").inc()
        predictions_total.labels(route.model_name, route.model_version).inc(len(predictions))
        request_id = request_id or uuid.uuid4().hex
        now = utc_now()
        records = []
        for row, prediction, unknown in zip(rows, predictions, unknown_per_row, strict=True):
            prediction["unknown_categories"] = unknown
            record = dict(zip(columns, row, strict=True))
            record.update(
                prediction_id=uuid.uuid4().hex,
                request_id=request_id,
                timestamp=now,
                source="serving",
                model_name=route.model_name,
                model_version=str(prediction.get("model_version", route.model_version)),
                probability=prediction["probability"],
                label=prediction["label"],
                latency_ms=elapsed * 1000.0,
                unknown_categories=unknown,
            )
            records.append(record)
        writer.write(records)
        return Response(
            orjson.dumps(
                {
                    "model_version": route.model_version,
                    "predictions": predictions,
                    "unknown_categories": parsed.unknown_categories(),
                }
            ),
            media_type="application/json",
            headers={"x-request-id": request_id},
        )

    @app.get("/health")
    async def health() -> JSONResponse:
        return await _health(None)

    @app.get("/models/{model_name}/health")
    async def model_health(model_name: str) -> JSONResponse:
        return await _health(model_name)

    async def _health(model_name: str | None) -> JSONResponse:
        route, _ = routes.active(model_name)
        if route is None:
            return JSONResponse(
                {
                    "service": SERVICE_NAME,
                    "status": "no deployment" if model_name is None else "model not served",
                },
                status_code=503 if model_name is None else 404,
            )
        problem = await identity.problem(route)
        up = False
        if problem is None:
            try:
                upstream = await clients["http"].get(route.health_url, timeout=2.0)
                up = upstream.status_code == 200
            except httpx.HTTPError:
                identity.forget(route)
        status = "ok" if up else "model server unreachable"
        if problem is not None:
            status = f"model server unidentified: {problem}"
        return JSONResponse(
            {
                "service": SERVICE_NAME,
                "status": status,
                "model_name": route.model_name,
                "model_version": route.model_version,
                "deployment_id": route.deployment_id,
            },
            status_code=200 if up else 503,
            headers=None if up else {"Retry-After": str(RETRY_AFTER_S)},
        )

    @app.get("/version")
    async def version() -> JSONResponse:
        return JSONResponse(routes.current().to_dict())

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app


def main(argv: list[str] | None = None) -> None:
    """Run the gateway with uvicorn (one worker; async I/O to the model servers)."""
    from serving.prediction_log import prediction_log_dir
    from serving.routing import gateway_port, state_dir

    parser = argparse.ArgumentParser(prog="python -m serving.gateway")
    parser.add_argument("--host", default=os.environ.get("TABULAR_GATEWAY_HOST", DEFAULT_HOST))
    parser.add_argument("--port", type=int, default=gateway_port())
    parser.add_argument("--state-dir", type=Path, default=None)
    parser.add_argument("--max-rows", type=int, default=DEFAULT_MAX_ROWS)
    parser.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES)
    args = parser.parse_args(argv)
    state = args.state_dir or state_dir()
    app = create_app(state, prediction_log_dir(state), args.max_rows, args.max_body_bytes)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
