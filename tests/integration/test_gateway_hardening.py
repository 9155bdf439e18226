"""HTTP hardening of the gateway, on a real gateway process in front of a real HTTP server.

The body limit holds while the body streams (chunked), error bodies stay small whatever is
echoed, and ``X-Request-Id`` is validated before it is echoed or logged.
"""

from __future__ import annotations

import http.client
import json
import select
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from serving.gateway import DEFAULT_MAX_BODY_BYTES, EXCERPT_CHARS, bound_message, excerpt
from serving.routing import stop_gateway
from tests.serving_fakes import (
    direct_connections,
    gateway_for,
    one_row,
    route_to,
    start_model_server,
)

MIB = 1024 * 1024


@dataclass
class Gateway:
    port: int
    pid: int
    log_dir: Path

    def post(
        self, body: bytes, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes, dict[str, str]]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(
                "POST",
                "/invocations",
                body=body,
                headers={"Content-Type": "application/json", **(headers or {})},
            )
            response = connection.getresponse()
            return response.status, response.read(), dict(response.getheaders())
        finally:
            connection.close()

    def logged(self) -> str:
        return "".join(p.read_text() for p in sorted(self.log_dir.glob("serving-*.jsonl")))

    def peak_rss_mib(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmHWM in /proc status")


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A gateway process (default limits) routing to a real HTTP model server."""
    with pytest.MonkeyPatch.context() as patch:
        direct_connections(patch)
        server = start_model_server()
        state = tmp_path_factory.mktemp("gateway_state")
        route = route_to(server, "hardening_model", "d" * 32)
        port, pid = gateway_for(route, state)
        try:
            yield Gateway(port=port, pid=pid, log_dir=state / "predictions")
        finally:
            stop_gateway(state)
            server.shutdown()
            server.server_close()


def test_excerpt_and_bound_message_cut_long_values() -> None:
    assert excerpt("short") == "short"
    cut = excerpt("v" * 1_000_000)
    assert cut == "v" * EXCERPT_CHARS + "… (1000000 chars)"
    message = bound_message("unknown columns: '" + "v" * 1_000_000 + "', 'y'")
    assert message == "unknown columns: '" + "v" * EXCERPT_CHARS + "… (1000000 chars)', 'y'"
    assert len(bound_message("a " * 10_000)) < 2100


def test_valid_request_is_served_and_its_request_id_logged(gateway: Gateway) -> None:
    status, body, headers = gateway.post(one_row(), {"X-Request-Id": "trace:abc-1.2_3"})
    assert status == 200, body
    assert json.loads(body)["predictions"][0]["probability"] == 0.25
    assert headers["x-request-id"] == "trace:abc-1.2_3"
    assert '"request_id":"trace:abc-1.2_3"' in gateway.logged()
    status, _, _ = gateway.post(one_row(), {"X-Request-Id": "a" * 128})
    assert status == 200


@pytest.mark.parametrize(
    "request_id", ["r" * 60_000, "a" * 129, "has space", "quote\"'", "ünïcode"]
)
def test_bad_request_id_is_400_naming_the_header_and_never_logged(
    gateway: Gateway, request_id: str
) -> None:
    before = gateway.logged()
    status, body, headers = gateway.post(
        one_row(), {"X-Request-Id": request_id.encode().decode("latin-1")}
    )
    assert status == 400
    assert len(body) < 4096
    error = json.loads(body)
    assert set(error) == {"error_code", "message", "field", "kind", "row"}
    assert error["field"] == "X-Request-Id"
    assert "X-Request-Id" in error["message"] and "1-128 characters" in error["message"]
    assert "x-request-id" not in headers
    assert gateway.logged() == before


def test_a_1mb_bad_value_gives_a_small_error_body(gateway: Gateway) -> None:
    big = "v" * 1_000_000
    for payload in (
        json.dumps({"dataframe_records": [{"x": 1.0, big: 1}]}).encode(),  # unknown column
        json.dumps({big: 1}).encode(),  # neither dataframe_split nor dataframe_records
        one_row(big),  # a string in a float column
    ):
        status, body, _ = gateway.post(payload)
        assert status in (400, 422)
        assert len(body) < 4096, body[:300]
        error = json.loads(body)
        assert "(1000000 chars)" in error["message"] or len(error["message"]) < 500
    status, body, _ = gateway.post(one_row(), {"Content-Type": "text/" + "p" * 100_000})
    assert status == 415 and len(body) < 4096
    assert set(json.loads(body)) == {"error_code", "message", "field", "kind", "row"}
    assert "(100005 chars)" in json.loads(body)["message"]


def _chunked_post(port: int, total: int, chunk: int) -> tuple[int, bytes, float, int]:
    """Stream ``total`` bytes as chunked JSON; return status, body, seconds, bytes sent."""
    started = time.perf_counter()
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sent = 0
    try:
        sock.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        piece = (b"[1.5]," * (chunk // 6 + 1))[:chunk]
        try:
            while sent < total:
                sock.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
                sent += len(piece)
                if select.select([sock], [], [], 0)[0]:
                    break  # the gateway answered before the body ended
            else:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, response.read(), time.perf_counter() - started, sent
    finally:
        sock.close()


def test_chunked_body_over_the_limit_is_413_without_reading_it_whole(gateway: Gateway) -> None:
    rss_before = gateway.peak_rss_mib()
    status, body, seconds, sent = _chunked_post(gateway.port, 50 * MIB, MIB)
    assert status == 413, body[:300]
    error = json.loads(body)
    assert error["error_code"] == "PAYLOAD_TOO_LARGE"
    assert f"limit of {DEFAULT_MAX_BODY_BYTES} bytes" in error["message"]
    assert "while streaming" in error["message"]
    # Answered once the limit (32 MiB) was passed, not after the whole 50 MiB.
    assert sent < 50 * MIB, f"sent {sent} bytes before the answer came"
    assert seconds < 30
    # The gateway held at most the limit plus a chunk, not the body and its parsed copies
    # (a 200 MiB chunked body used to cost 3 GB).
    assert gateway.peak_rss_mib() - rss_before < 200
    # And it still serves.
    assert gateway.post(one_row())[0] == 200


def test_health_names_the_whole_identity(gateway: Gateway) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    try:
        connection.request("GET", "/health")
        response = connection.getresponse()
        health = json.loads(response.read())
    finally:
        connection.close()
    assert response.status == 200
    assert (health["model_name"], health["model_version"], health["deployment_id"]) == (
        "hardening_model",
        "1",
        "d" * 32,
    )


def _metric(port: int, series: str) -> float:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/metrics")
        text = connection.getresponse().read().decode()
    finally:
        connection.close()
    values = [line.split()[-1] for line in text.splitlines() if line.startswith(series + " ")]
    return float(values[0]) if values else 0.0


def test_a_client_that_hangs_up_mid_body_is_not_a_server_error(gateway: Gateway) -> None:
    """Walkthrough: Content-Length 100,000, part of the body, then the socket closed was
    counted as a 500 and logged with a traceback; now it is counted under 499."""
    errors = 'gateway_requests_total{status="500"}'
    closed = 'gateway_requests_total{status="499"}'
    errors_before, closed_before = _metric(gateway.port, errors), _metric(gateway.port, closed)
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
            + b'{"dataframe_split": {"columns": ['
        )
        time.sleep(0.3)
    deadline = time.monotonic() + 10
    while _metric(gateway.port, closed) == closed_before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _metric(gateway.port, closed) == closed_before + 1
    assert _metric(gateway.port, errors) == errors_before
    assert gateway.post(one_row())[0] == 200


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/invocations", 405, "METHOD_NOT_ALLOWED"),
        ("POST", "/invocations/", 404, "NOT_FOUND"),
        ("POST", "/models//invocations", 404, "NOT_FOUND"),
        ("POST", "/predict", 404, "NOT_FOUND"),
    ],
)
def test_unknown_paths_and_methods_answer_in_the_error_format(
    gateway: Gateway, method: str, path: str, status: int, code: str
) -> None:
    """Walkthrough: these gave FastAPI's {"detail": ...} or a 307 redirect."""
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    try:
        connection.request(method, path, body=one_row() if method == "POST" else None)
        response = connection.getresponse()
        body = json.loads(response.read())
        allow = response.getheader("allow")
    finally:
        connection.close()
    assert response.status == status
    assert set(body) == {"error_code", "message", "field", "kind", "row"}
    assert body["error_code"] == code and body["message"].startswith(f"{method} {path}: ")
    if status == 405:
        assert allow == "POST"
