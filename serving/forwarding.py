"""Forwarding requests to a deployment's model server, for routes not scored in process.

:class:`ModelServers` sends the parsed rows to the active route's model server (MLflow's
``dataframe_split`` format) after checking that its port is answered by the process recorded at
deployment (:class:`serving.gateway_state.ServerIdentity`), and reports a server's health.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from serving.gateway_state import ServerIdentity
from serving.http_limits import Refused
from serving.routing import Route
from tabular_classifier.contract import ParsedRows, RowContract

UPSTREAM_TIMEOUT_S = 30.0
# What a 503 tells clients to wait before retrying, in seconds.
RETRY_AFTER_S = 2


class ModelServers:
    """The HTTP client to the model servers and their identity checks."""

    def __init__(self) -> None:
        self.identity = ServerIdentity()
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        """The HTTP client (open between :meth:`open` and :meth:`close`)."""
        if self._client is None:
            raise RuntimeError("the gateway's HTTP client is not open (app not started)")
        return self._client

    async def open(self) -> None:
        """Open the HTTP client."""
        self._client = httpx.AsyncClient(
            timeout=UPSTREAM_TIMEOUT_S,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
        )

    async def close(self) -> None:
        """Close the HTTP client."""
        if self._client is not None:
            await self._client.aclose()

    async def check(self, route: Route) -> None:
        """Refuse to forward to a model server the gateway cannot identify.

        Raises:
            Refused: 503 ``MODEL_SERVER_UNIDENTIFIED``.
        """
        problem = await self.identity.problem(route)
        if problem is not None:
            raise Refused(
                503,
                {
                    "error_code": "MODEL_SERVER_UNIDENTIFIED",
                    "message": f"model server for {route.model_name} version "
                    f"{route.model_version} cannot be identified ({problem}); the gateway "
                    "does not route to it",
                },
            )

    async def forward(
        self, route: Route, contract: RowContract, parsed: ParsedRows
    ) -> list[dict[str, Any]]:
        """Score ``parsed`` on ``route``'s model server; its predictions.

        Raises:
            Refused: 503 when it is unreachable; its 4xx, or 502, when it answers an error.
        """
        payload = {"dataframe_split": {"columns": contract.names, "data": parsed.json_rows()}}
        try:
            upstream = await self.client.post(
                route.url,
                content=orjson.dumps(payload),
                headers={"Content-Type": "application/json"},
            )
        except httpx.HTTPError as exc:
            self.identity.forget(route)
            raise Refused(
                503,
                {
                    "error_code": "UPSTREAM_UNAVAILABLE",
                    "message": f"model server for version {route.model_version} unreachable: {exc}",
                },
            ) from exc
        if upstream.status_code != 200:
            status = upstream.status_code if 400 <= upstream.status_code < 500 else 502
            raise Refused(
                status,
                {
                    "error_code": "UPSTREAM_ERROR",
                    "message": f"model server answered {upstream.status_code}: "
                    f"{upstream.text[:2000]}",
                },
            )
        predictions: list[dict[str, Any]] = orjson.loads(upstream.content)["predictions"]
        return predictions

    async def status(self, route: Route) -> str:
        """``ok``, or what is wrong with ``route``'s model server."""
        problem = await self.identity.problem(route)
        if problem is not None:
            return f"model server unidentified: {problem}"
        try:
            upstream = await self.client.get(route.health_url, timeout=2.0)
        except httpx.HTTPError:
            self.identity.forget(route)
            return "model server unreachable"
        return "ok" if upstream.status_code == 200 else "model server unreachable"
