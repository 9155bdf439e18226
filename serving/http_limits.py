"""Bounds the gateway keeps on what it reads and echoes: body size, error excerpts, request ids.

- The body limit holds while the body streams, chunked or not (:func:`read_body_bounded`).
- Values echoed in error bodies are cut to an :func:`excerpt`; whole messages are bounded by
  :func:`bound_message`.
- ``X-Request-Id`` must match :data:`REQUEST_ID_PATTERN` before it is echoed or logged.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from fastapi import Request, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

# Error bodies repeat values (column names, header values) as an excerpt of at most this many
# characters, plus an ellipsis and the original length.
EXCERPT_CHARS = 200
# An error message is never longer than this (after the excerpts above).
MAX_MESSAGE_CHARS = 2000
REQUEST_ID_HEADER = "X-Request-Id"
# A request id: 1-128 characters of A-Z a-z 0-9 . _ : - (UUIDs, ULIDs, trace ids fit).
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_LONG_RUN = re.compile(rf"[^\s'\"]{{{EXCERPT_CHARS + 1},}}")


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


def bounded(body: dict[str, Any]) -> dict[str, Any]:
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


class Refused(Exception):
    """A request the gateway answers with an error: ``status`` and the error body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


class BodyTooLarge(Exception):
    """The streamed request body passed the limit; ``read`` bytes were read so far."""

    def __init__(self, read: int) -> None:
        super().__init__(read)
        self.read = read


async def read_body_bounded(request: Request, limit: int) -> bytes:
    """Read the request body chunk by chunk, stopping as soon as it passes ``limit`` bytes.

    Works the same with ``Content-Length`` and with chunked transfer encoding; at most
    ``limit`` bytes plus one chunk are ever held.

    Raises:
        BodyTooLarge: When the body is longer than ``limit`` bytes.
    """
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge(len(body))
    return bytes(body)


def error_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response:
    """A JSON error response with the five keys every gateway error has (README).

    Args:
        status: The HTTP status.
        body: ``error_code`` and ``message``, and ``field``, ``kind``, ``row`` where known
            (``None`` otherwise); its values are cut by :func:`bounded`.
        headers: Extra response headers (``Retry-After``, ``Allow``).
    """
    body = {"field": None, "kind": None, "row": None, **body}
    return Response(
        orjson.dumps(bounded(body)),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


async def http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths (404) and methods (405) in the gateway's five-key error format.

    Registered for Starlette's ``HTTPException``, which routing raises; the prediction
    handlers answer their own errors (``serving.gateway.Gateway.error``).

    Returns:
        A JSON response with ``error_code`` (``NOT_FOUND``, ``METHOD_NOT_ALLOWED`` or
        ``HTTP_ERROR``), ``message`` (naming the method and an excerpt of the path), ``field``,
        ``kind`` and ``row``; a 405 keeps its ``Allow`` header.
    """
    status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
    codes = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
    detail = (
        "no such endpoint; POST /invocations or /models/<name>/invocations, GET /health, "
        "/models/<name>/health, /version, /metrics"
        if status == 404
        else str(getattr(exc, "detail", "error"))
    )
    message = f"{request.method} {excerpt(request.url.path, 100)}: {detail}"
    return error_response(
        status,
        {"error_code": codes.get(status, "HTTP_ERROR"), "message": message},
        getattr(exc, "headers", None),
    )
