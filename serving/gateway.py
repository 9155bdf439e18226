"""The prediction gateway: one stable address in front of blue-green model servers.

``POST /invocations`` (MLflow's request formats, see :mod:`serving.contract`) is validated
against the active model version's contract, forwarded to the active model server, and
answered with::

    {"model_version": "3",
     "predictions": [{"probability": 0.97, "label": "1", "model_version": "3"}, ...]}

Bad input gets 400/413/422 with a message naming the field or column; an unreachable model
server gets 503; the gateway itself never answers 500 for a request's content.

Other endpoints: ``GET /health`` (200 with the active version, 503 with no deployment),
``GET /version`` (the routing table), ``GET /metrics`` (Prometheus: request counts by status,
predictions by model version, request latency histogram).

Every prediction is appended to the prediction log with its request latency, which the
monitoring pipeline reads. Run with ``python -m serving.gateway --port 8765``; it binds to
127.0.0.1 unless ``--host`` says otherwise.
"""

from __future__ import annotations

import argparse
import logging
import os
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

from serving.contract import DEFAULT_MAX_ROWS, FeatureContract, RequestError, parse_rows
from serving.prediction_log import JsonlPredictionWriter, utc_now
from serving.routing import DEFAULT_HOST, ROUTE_FILE, RouteTable, read_routes

logger = logging.getLogger("serving.gateway")

UPSTREAM_TIMEOUT_S = 30.0
# Bodies above this are refused before being read (10,000 rows of 30 numbers is ~2.5 MB).
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
SERVICE_NAME = "tabular-gateway"
# Latency buckets in seconds, from 1 ms to 5 s.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class _Routes:
    """The routing table, re-read whenever ``route.json`` changes (one ``stat`` per request)."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._path = directory / ROUTE_FILE
        self._mtime_ns = -1
        self._table = RouteTable(active=None, previous=None, updated_at=0.0)
        self._contract: FeatureContract | None = None

    def current(self) -> tuple[RouteTable, FeatureContract | None]:
        try:
            mtime = self._path.stat().st_mtime_ns
        except FileNotFoundError:
            return self._table, self._contract
        if mtime != self._mtime_ns:
            self._table = read_routes(self._directory)
            active = self._table.active
            self._contract = None if active is None else FeatureContract.from_dict(active.contract)
            self._mtime_ns = mtime
        return self._table, self._contract


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
        "Rows predicted by model version",
        ["model_version"],
        registry=registry,
    )
    latency = Histogram(
        "gateway_request_latency_seconds",
        "Prediction request latency (seconds)",
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )
    clients: dict[str, httpx.AsyncClient] = {}

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
        return Response(orjson.dumps(body), status_code=status, media_type="application/json")

    @app.post("/invocations")
    async def invocations(request: Request) -> Response:
        try:
            return await _invocations(request)
        except Exception:  # noqa: BLE001 - counted and logged; the server stays up
            logger.exception("unexpected error while serving a request")
            return _error(500, {"error_code": "INTERNAL_ERROR", "message": "unexpected error"})

    async def _invocations(request: Request) -> Response:
        started = time.perf_counter()
        content_type = request.headers.get("content-type", "application/json")
        if not content_type.split(";")[0].strip().lower().endswith("json"):
            return _error(
                415,
                {
                    "error_code": "UNSUPPORTED_MEDIA_TYPE",
                    "message": f"content type '{content_type}' is not supported; send "
                    "application/json",
                    "field": "Content-Type",
                },
            )
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > max_body_bytes:
            return _error(
                413,
                {
                    "error_code": "PAYLOAD_TOO_LARGE",
                    "message": f"body of {length} bytes exceeds the limit of "
                    f"{max_body_bytes} bytes",
                    "field": None,
                },
            )
        table, contract = routes.current()
        route = table.active
        if route is None or contract is None:
            return _error(503, {"error_code": "NO_DEPLOYMENT", "message": "no model deployed"})
        try:
            rows = parse_rows(await request.body(), contract, max_rows)
        except RequestError as exc:
            return _error(exc.status, exc.to_json())
        columns = contract.columns
        payload = {"dataframe_split": {"columns": columns, "data": rows}}
        try:
            upstream = await clients["http"].post(
                route.url,
                content=orjson.dumps(payload),
                headers={"Content-Type": "application/json"},
            )
        except httpx.HTTPError as exc:
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
        elapsed = time.perf_counter() - started
        latency.observe(elapsed)
        requests_total.labels("200").inc()
        predictions_total.labels(route.model_version).inc(len(predictions))
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        now = utc_now()
        records = []
        for row, prediction in zip(rows, predictions, strict=True):
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
            )
            records.append(record)
        writer.write(records)
        return Response(
            orjson.dumps({"model_version": route.model_version, "predictions": predictions}),
            media_type="application/json",
            headers={"x-request-id": request_id},
        )

    @app.get("/health")
    async def health() -> JSONResponse:
        table, _ = routes.current()
        if table.active is None:
            return JSONResponse(
                {"service": SERVICE_NAME, "status": "no deployment"}, status_code=503
            )
        try:
            upstream = await clients["http"].get(table.active.health_url, timeout=2.0)
            up = upstream.status_code == 200
        except httpx.HTTPError:
            up = False
        return JSONResponse(
            {
                "service": SERVICE_NAME,
                "status": "ok" if up else "model server unreachable",
                "model_version": table.active.model_version,
            },
            status_code=200 if up else 503,
        )

    @app.get("/version")
    async def version() -> JSONResponse:
        table, _ = routes.current()
        return JSONResponse(table.to_dict())

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
