"""The prediction gateway: one stable address in front of blue-green model servers.

``POST /models/<name>/invocations`` serves model ``<name>``, and ``POST /invocations`` the
default model (:class:`serving.routing.ServingRoutes`; several models can be served at once).
The request (MLflow's request formats, see :mod:`serving.contract`) is parsed once against the
model's active version's contract and scored in this process by that deployment's own model
(:mod:`serving.scorer`: the MLflow model the deployer's server serves, copied and checked at
deployment, run by the NumPy scorer of :mod:`tabular_classifier.scoring`, no torch). A deployment
without a usable local copy (an older route, a bundle that fails its checks, a network the NumPy
scorer cannot reproduce) is forwarded to its model server instead, as the gateway did before.
Either way the answer is::

    {"model_version": "3",
     "predictions": [{"probability": 0.97, "label": "1", "model_version": "3",
                      "unknown_categories": 0}, ...],
     "unknown_categories": {"city": 1}}

``unknown_categories`` counts, per column, the values that were categories never seen in
training (scored as no category); each prediction carries its row's count.

Bad input gets 400/413/422 with a message naming the field or column (the row contract's
``kind`` and ``row`` too); a model not served gets 404 (``MODEL_NOT_FOUND``); when requests
are forwarded, an unreachable model server, or one the gateway cannot identify as the process
its deployment started (:mod:`serving.identity`), gets 503 with ``Retry-After``. A route scored
in process keeps being served while its model server is down or being restarted by the
supervisor (the model server is then the deployment's checked reference and the fallback); the
gateway itself never answers 500 for a request's content. The body limit is enforced while
the body streams (chunked or not), values echoed in error bodies are cut to :func:`excerpt`,
and ``X-Request-Id`` must match :data:`REQUEST_ID_PATTERN` (else 400) before it is echoed or
logged (:mod:`serving.http_limits`). Unknown paths and methods get 404 and 405 in the same
error format; a client that hangs up before its body arrived is counted under 499, not 500.

Other endpoints: ``GET /health`` and ``GET /models/<name>/health`` (200 with the model name,
version, deployment id, ``scoring`` (``in_process`` or ``model_server``) and ``model_server``
(``ok`` or what is wrong with it); 503 with no deployment, or when a forwarded route's server is
unreachable or unidentified),
``GET /version`` (the routing tables), ``GET /metrics`` (Prometheus: request counts by status,
predictions by model name and version, request latency histogram).

Every prediction is appended to the prediction log with its request latency, which the
monitoring pipeline reads. Run with ``python -m serving.gateway --port 8765``; it binds to
127.0.0.1 unless ``--host`` says otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import numpy as np
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    generate_latest,
)
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Route as HttpRoute

from serving.answer import forwarded_answer, request_meta, scored_answer
from serving.contract import DEFAULT_MAX_ROWS, RequestError, RequestRows, parse_request
from serving.forwarding import RETRY_AFTER_S, ModelServers
from serving.gateway_state import GatewayMetrics, RouteState
from serving.http_limits import (
    EXCERPT_CHARS,
    REQUEST_ID_HEADER,
    REQUEST_ID_PATTERN,
    BodyTooLarge,
    Refused,
    bound_message,
    error_response,
    excerpt,
    http_error,
    read_body_bounded,
)
from serving.prediction_log import JsonlPredictionWriter, uuid4_hex
from serving.routing import DEFAULT_HOST, Route
from tabular_classifier.contract import RowContract
from tabular_classifier.errors import InputValidationError
from tabular_classifier.scoring import NumpyScorer

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "EXCERPT_CHARS",
    "Gateway",
    "bound_message",
    "create_app",
    "excerpt",
    "main",
]

logger = logging.getLogger("serving.gateway")

# Bodies above this are refused: at once when Content-Length says so, else as soon as the
# streamed body (chunked or not) passes it; never read whole (10,000 rows of 30 numbers is
# ~2.5 MB).
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
# Bodies above this are parsed (and scored) in a worker thread, so /health and small requests
# keep being answered while a large batch is worked on (a 1-row request is ~1 KB and stays on
# the loop).
THREAD_PARSE_BYTES = 256 * 1024
SERVICE_NAME = "tabular-gateway"
CLIENT_CLOSED = 499
"""Status counted for a request whose client disconnected before sending its whole body."""
GC_THRESHOLD0 = 10_000
"""The gateway's first-generation garbage-collection threshold (:func:`tune_gc`)."""


def _parse_and_score(
    body: bytes, contract: RowContract, max_rows: int, scorer: NumpyScorer | None
) -> tuple[RequestRows, np.ndarray | None]:
    """Parse a body and, with a scorer, score it: (rows, float64 (n_rows,) probabilities).

    Raises:
        RequestError: As :func:`serving.contract.parse_request`; 422 ``unscorable`` for a row
            the model gives no finite output.
    """
    request = parse_request(body, contract, max_rows)
    if scorer is None:
        return request, None
    try:
        return request, scorer.score(request.parsed)
    except InputValidationError as exc:
        row = exc.row if isinstance(exc.row, int) else None
        raise RequestError(422, str(exc), exc.column, exc.kind, row) from exc


class Gateway:
    """The gateway's state and request handlers (:func:`create_app` wires them to FastAPI).

    Args:
        state: The serving state directory holding ``route.json``.
        log_dir: Where the prediction log is written.
        max_rows: Largest batch accepted per request, in rows.
        max_body_bytes: Largest request body accepted, in bytes.
    """

    def __init__(self, state: Path, log_dir: Path, max_rows: int, max_body_bytes: int) -> None:
        self.routes = RouteState(state)
        self.writer = JsonlPredictionWriter(log_dir)
        self.metrics = GatewayMetrics()
        self.servers = ModelServers()
        self.max_rows = max_rows
        self.max_body_bytes = max_body_bytes

    async def open(self) -> None:
        """Open the HTTP client to the model servers."""
        await self.servers.open()

    async def close(self) -> None:
        """Close the HTTP client and the prediction log."""
        await self.servers.close()
        self.writer.close()

    def error(self, status: int, body: dict[str, Any]) -> Response:
        """An error response; every error body has the same five keys (README)."""
        self.metrics.requests.labels(str(status)).inc()
        return error_response(
            status, body, {"Retry-After": str(RETRY_AFTER_S)} if status == 503 else None
        )

    def _too_large(self, detail: str) -> Refused:
        return Refused(
            413,
            {
                "error_code": "PAYLOAD_TOO_LARGE",
                "message": f"body {detail} exceeds the limit of {self.max_body_bytes} bytes",
            },
        )

    def _not_served(self, model_name: str | None) -> Refused:
        if model_name is None:
            return Refused(503, {"error_code": "NO_DEPLOYMENT", "message": "no model deployed"})
        served = self.routes.current().served()
        return Refused(
            404,
            {
                "error_code": "MODEL_NOT_FOUND",
                "message": f"model '{excerpt(model_name, 100)}' is not served here; served: "
                + (", ".join(served) or "none"),
                "field": "model_name",
            },
        )

    async def scorer(self, route: Route) -> NumpyScorer | None:
        """``route``'s in-process scorer (first loaded in a worker thread), or ``None``."""
        if self.routes.scorers.loaded(route):
            return self.routes.scorers.get(route)
        return await asyncio.to_thread(self.routes.scorers.get, route)

    async def invocations(self, request: Request, model_name: str | None) -> Response:
        """``POST /invocations`` and ``POST /models/<name>/invocations``; never raises."""
        try:
            return await self._invocations(request, model_name)
        except Refused as refused:
            return self.error(refused.status, refused.body)
        except RequestError as exc:
            return self.error(exc.status, exc.to_json())
        except ClientDisconnect:
            # The client went away before its body arrived: nobody reads an answer, and it is
            # not a server error. Counted under 499 (nginx's "client closed request"), so 5xx
            # alerts stay about the gateway.
            return self.error(
                CLIENT_CLOSED,
                {
                    "error_code": "CLIENT_CLOSED_REQUEST",
                    "message": "the client closed the connection",
                },
            )
        except Exception:  # noqa: BLE001 - counted and logged; the server stays up
            logger.exception("unexpected error while serving a request")
            return self.error(500, {"error_code": "INTERNAL_ERROR", "message": "unexpected error"})

    def _check_headers(self, request: Request) -> str | None:
        """The request id, after the header checks (request id, content type and length).

        Raises:
            Refused: 400, 415 or 413.
        """
        request_id = request.headers.get(REQUEST_ID_HEADER)
        if request_id is not None and not REQUEST_ID_PATTERN.fullmatch(request_id):
            raise Refused(
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
            raise Refused(
                415,
                {
                    "error_code": "UNSUPPORTED_MEDIA_TYPE",
                    "message": f"content type '{excerpt(content_type)}' is not supported; send "
                    "application/json",
                    "field": "Content-Type",
                },
            )
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            raise self._too_large(f"of {excerpt(length, 20)} bytes")
        return request_id

    async def _invocations(self, request: Request, model_name: str | None) -> Response:
        started = time.perf_counter()
        request_id = self._check_headers(request)
        route, contract = self.routes.active(model_name)
        if route is None or contract is None:
            raise self._not_served(model_name)
        scorer = await self.scorer(route)
        if scorer is None:
            await self.servers.check(route)
        try:
            body = await read_body_bounded(request, self.max_body_bytes)
        except BodyTooLarge as exc:
            raise self._too_large(f"passed {exc.read} bytes while streaming, which") from exc
        if len(body) > THREAD_PARSE_BYTES:
            work = asyncio.to_thread(_parse_and_score, body, contract, self.max_rows, scorer)
            request_rows, probabilities = await work
        else:
            request_rows, probabilities = _parse_and_score(body, contract, self.max_rows, scorer)
        parsed = request_rows.parsed
        request_id = request_id or uuid4_hex()
        if probabilities is None:
            predictions = await self.servers.forward(route, contract, parsed)
            elapsed = time.perf_counter() - started
            meta = request_meta(request_id, route.model_name, elapsed)
            answer = forwarded_answer(route, parsed, predictions, meta)
        else:
            assert scorer is not None
            elapsed = time.perf_counter() - started
            meta = request_meta(request_id, route.model_name, elapsed)
            answer = scored_answer(
                route, parsed, probabilities, scorer, meta, request_rows.verbatim
            )
        # One os.write of every line before the answer is sent (README, "prediction log").
        self.writer.write_lines(answer.lines)
        self.metrics.answered(route, parsed.n_rows, elapsed, scorer is not None)
        return Response(
            answer.body, media_type="application/json", headers={"x-request-id": request_id}
        )

    async def health(self, model_name: str | None) -> JSONResponse:
        """``GET /health`` and ``GET /models/<name>/health``."""
        route, _ = self.routes.active(model_name)
        if route is None:
            return JSONResponse(
                {
                    "service": SERVICE_NAME,
                    "status": "no deployment" if model_name is None else "model not served",
                },
                status_code=503 if model_name is None else 404,
            )
        scorer = await self.scorer(route)
        server = await self.servers.status(route)
        # A route scored in process answers predictions whatever its model server's state.
        up = scorer is not None or server == "ok"
        return JSONResponse(
            {
                "service": SERVICE_NAME,
                "status": "ok" if up else server,
                "model_name": route.model_name,
                "model_version": route.model_version,
                "deployment_id": route.deployment_id,
                "scoring": "model_server" if scorer is None else "in_process",
                "model_server": server,
            },
            status_code=200 if up else 503,
            headers=None if up else {"Retry-After": str(RETRY_AFTER_S)},
        )


def create_app(
    state: Path,
    log_dir: Path,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> FastAPI:
    """Build the gateway application (a :class:`Gateway` behind FastAPI routes).

    Args:
        state: The serving state directory holding ``route.json``.
        log_dir: Where the prediction log is written.
        max_rows: Largest batch accepted per request, in rows.
        max_body_bytes: Largest request body accepted, in bytes.

    Returns:
        The FastAPI app.
    """
    gateway = Gateway(state, log_dir, max_rows, max_body_bytes)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await gateway.open()
        yield
        await gateway.close()

    app = FastAPI(title="tabular-mlops prediction gateway", lifespan=lifespan)
    app.state.gateway = gateway
    # /invocations/ is a 404 in the error format below, not a 307 to /invocations: a redirected
    # POST is resent by few clients.
    app.router.redirect_slashes = False

    app.add_exception_handler(StarletteHTTPException, http_error)

    async def invocations(request: Request) -> Response:
        return await gateway.invocations(request, None)

    async def model_invocations(request: Request) -> Response:
        return await gateway.invocations(request, request.path_params["model_name"])

    async def health() -> JSONResponse:
        return await gateway.health(None)

    async def model_health(model_name: str) -> JSONResponse:
        return await gateway.health(model_name)

    async def version() -> JSONResponse:
        return JSONResponse(gateway.routes.current().to_dict())

    async def metrics() -> Response:
        return Response(generate_latest(gateway.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    # The prediction endpoints are plain Starlette routes, matched first: FastAPI's dependency
    # and parameter machinery cost about 40 µs of a one-row request's ~200 µs in the app, and
    # these handlers read the raw body themselves (serving.http_limits, serving.contract).
    # First in the list, ahead of FastAPI's /openapi.json and /docs routes.
    app.router.routes[:0] = [
        HttpRoute("/invocations", invocations, methods=["POST"]),
        HttpRoute("/models/{model_name}/invocations", model_invocations, methods=["POST"]),
    ]
    app.get("/health")(health)
    app.get("/models/{model_name}/health")(model_health)
    app.get("/version")(version)
    app.get("/metrics")(metrics)
    return app


def tune_gc() -> None:
    """Spare the serving process the garbage collections its requests used to trigger.

    Measured on 1,000-row requests (2 busy cores, ``gc.callbacks``): with CPython's defaults,
    the collector ran about 3 times per request, and every ~90 requests a full collection of
    the whole heap (FastAPI, pydantic, NumPy...: about 150 ms each), about 3 ms per request in
    all. Two settings of the standard ``gc`` module:

    * :func:`gc.freeze` after start-up moves every object that exists then to the permanent
      generation, which "will be ignored in all the future collections" (its documentation):
      full collections then scan only what serving created since;
    * a first-generation threshold of :data:`GC_THRESHOLD0` container allocations instead of
      CPython's 700: a request's rows are freed by reference counting when it ends, so
      collections become rare (none in 600 requests of 1,000 rows); reference cycles are
      still collected, later.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD0, *gc.get_threshold()[1:])


def main(argv: list[str] | None = None) -> None:
    """Run the gateway with uvicorn (one worker; async I/O to the model servers)."""
    from serving.prediction_log import prediction_log_dir
    from serving.routing import gateway_port, state_dir

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    parser = argparse.ArgumentParser(prog="python -m serving.gateway")
    parser.add_argument("--host", default=os.environ.get("TABULAR_GATEWAY_HOST", DEFAULT_HOST))
    parser.add_argument("--port", type=int, default=gateway_port())
    parser.add_argument("--state-dir", type=Path, default=None)
    parser.add_argument("--max-rows", type=int, default=DEFAULT_MAX_ROWS)
    parser.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES)
    args = parser.parse_args(argv)
    state = args.state_dir or state_dir()
    app = create_app(state, prediction_log_dir(state), args.max_rows, args.max_body_bytes)
    tune_gc()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
