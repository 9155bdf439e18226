"""The jsonl_webhook alerter: JSON lines on disk, a POST to a real local HTTP server."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from zenml.enums import StackComponentType

from alerters.jsonl_webhook import JSONL_WEBHOOK_ALERTER_FLAVOR, read_alerts
from alerters.jsonl_webhook.alert_log import append_alert, encode_alert
from alerters.jsonl_webhook.alerters import JsonlWebhookAlerter, JsonlWebhookAlerterParameters
from alerters.jsonl_webhook.flavors import JsonlWebhookAlerterConfig, JsonlWebhookAlerterFlavor

# Every socket operation of these tests is bounded by this.
TIMEOUT_S = 2.0


@dataclass
class Webhook:
    """A local HTTP server that records POSTed JSON bodies and answers with ``status``."""

    url: str
    bodies: list[dict[str, Any]] = field(default_factory=list)
    status: int = 204


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers["Content-Length"])
            assert self.headers["Content-Type"] == "application/json"
            hook.bodies.append(json.loads(self.rfile.read(length)))
            self.send_response(hook.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.timeout = TIMEOUT_S
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    hook.url = f"http://127.0.0.1:{server.server_port}/hooks/T000/SECRET-TOKEN"
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=TIMEOUT_S)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # A proxy from the environment would intercept the POSTs to 127.0.0.1.
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)


def _alerter(**config: Any) -> JsonlWebhookAlerter:
    now = datetime.now(UTC)
    config.setdefault("timeout_s", TIMEOUT_S)
    return JsonlWebhookAlerter(
        name="test_alerter",
        id=uuid4(),
        config=JsonlWebhookAlerterConfig(**config),
        flavor=JSONL_WEBHOOK_ALERTER_FLAVOR,
        type=StackComponentType.ALERTER,
        user=None,
        created=now,
        updated=now,
    )


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


def test_flavor_is_an_alerter_with_its_config_and_component() -> None:
    flavor = JsonlWebhookAlerterFlavor()
    assert flavor.name == "jsonl_webhook"
    assert flavor.type == StackComponentType.ALERTER
    assert flavor.config_class is JsonlWebhookAlerterConfig
    assert flavor.implementation_class is JsonlWebhookAlerter
    assert flavor.config_schema["properties"]["webhook_url"]["sensitive"] is True
    config = JsonlWebhookAlerterConfig()
    assert (config.path, config.webhook_url, config.timeout_s) == (None, None, 5.0)
    with pytest.raises(ValueError):
        JsonlWebhookAlerterConfig(timeout_s=0)


def test_post_appends_one_json_line_per_alert(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "alerts.jsonl"
    alerter = _alerter(path=str(path))
    params = JsonlWebhookAlerterParameters(
        title="Drift detected", severity="critical", details={"psi": 0.31, "columns": ["a"]}
    )
    before = datetime.now(UTC)
    assert alerter.post("feature drift on 3 columns", params) is True
    assert alerter.post("second alert") is True

    lines = path.read_text().splitlines()
    assert len(lines) == 2
    first, second = read_alerts(path)
    assert first == json.loads(lines[0])
    assert datetime.fromisoformat(first["timestamp"]) >= before
    assert datetime.fromisoformat(first["timestamp"]).utcoffset() is not None
    assert {k: v for k, v in first.items() if k != "timestamp"} == {
        "severity": "critical",
        "title": "Drift detected",
        "message": "feature drift on 3 columns",
        "details": {"psi": 0.31, "columns": ["a"]},
        "pipeline": None,
        "run": None,
        "step": None,
    }
    assert (second["severity"], second["title"], second["details"]) == ("info", None, {})


def test_details_json_cannot_encode_do_not_cost_the_alert(tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    alerter = _alerter(path=str(path))
    when = datetime(2026, 1, 1, tzinfo=UTC)
    odd_values = JsonlWebhookAlerterParameters(details={"when": when, "where": tmp_path})
    odd_keys = JsonlWebhookAlerterParameters(details={"pairs": {(1, 2): 3}})
    assert alerter.post("odd values", odd_values) is True
    assert alerter.post("odd keys", odd_keys) is True
    values, keys = read_alerts(path)
    assert values["details"] == {"when": str(when), "where": str(tmp_path)}
    assert keys["message"] == "odd keys"
    assert keys["details"] == {"unencodable": "{'pairs': {(1, 2): 3}}"}


def test_default_path_is_in_the_zenml_config_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZENML_CONFIG_PATH", str(tmp_path / "zenml"))
    alerter = _alerter()
    assert alerter.alerts_path == (tmp_path / "zenml").resolve() / "alerts.jsonl"
    assert alerter.post("to the default file") is True
    assert read_alerts(alerter.alerts_path)[0]["message"] == "to the default file"


def test_post_sends_the_same_record_to_the_webhook(tmp_path: Path, webhook: Webhook) -> None:
    path = tmp_path / "alerts.jsonl"
    alerter = _alerter(path=str(path), webhook_url=webhook.url)
    params = JsonlWebhookAlerterParameters(title="t", severity="warning", details={"n": 1})
    assert alerter.post("over the wire", params) is True
    assert webhook.bodies == read_alerts(path)
    assert webhook.bodies[0]["severity"] == "warning"


@pytest.mark.parametrize("status", [404, 500, 302])
def test_webhook_error_answer_keeps_the_record_and_returns_false(
    tmp_path: Path, webhook: Webhook, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    webhook.status = status
    path = tmp_path / "alerts.jsonl"
    with caplog.at_level(logging.WARNING):
        assert _alerter(path=str(path), webhook_url=webhook.url).post("rejected") is False
    assert [a["message"] for a in read_alerts(path)] == ["rejected"]
    assert f"HTTP {status}" in caplog.text
    # The path and query of a webhook URL carry its token: never log them.
    assert "SECRET-TOKEN" not in caplog.text


def test_webhook_down_keeps_the_record_and_returns_false(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "alerts.jsonl"
    with caplog.at_level(logging.WARNING):
        assert _alerter(path=str(path), webhook_url=_closed_port_url()).post("nobody") is False
    assert [a["message"] for a in read_alerts(path)] == ["nobody"]
    assert "webhook delivery failed" in caplog.text
    assert "kept in" in caplog.text


def test_silent_webhook_times_out(tmp_path: Path) -> None:
    # A socket that listens but never answers: the connect succeeds, the reply never comes.
    path = tmp_path / "alerts.jsonl"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
        alerter = _alerter(path=str(path), webhook_url=url, timeout_s=0.3)
        start = time.monotonic()
        assert alerter.post("silence") is False
        assert time.monotonic() - start < TIMEOUT_S
    assert len(read_alerts(path)) == 1


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://127.0.0.1/x",
        "not a url",
        "http://127.0.0.1:notaport/SECRET-TOKEN",
        "http://127.0.0.1:9/SECRET TOKEN",
    ],
)
def test_unusable_webhook_url_fails_quietly_without_leaking_it(
    tmp_path: Path, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "alerts.jsonl"
    with caplog.at_level(logging.WARNING):
        assert _alerter(path=str(path), webhook_url=url).post("local only") is False
    assert len(read_alerts(path)) == 1
    assert "webhook delivery failed" in caplog.text
    assert "SECRET" not in caplog.text


def test_unwritable_path_does_not_raise(tmp_path: Path, webhook: Webhook) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    alerter = _alerter(path=str(blocker / "alerts.jsonl"), webhook_url=webhook.url)
    assert alerter.post("still delivered") is False
    assert [b["message"] for b in webhook.bodies] == ["still delivered"]


def test_ask_declines_without_blocking(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "alerts.jsonl"
    with caplog.at_level(logging.WARNING):
        assert _alerter(path=str(path)).ask("deploy?") is False
    assert "cannot ask for approval" in caplog.text
    assert not path.exists()


def test_concurrent_appends_never_interleave(tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    # Lines far longer than a pipe buffer, so that a split write would show.
    lines = [encode_alert({"writer": i, "blob": str(i) * 200_000}) for i in range(8)]
    threads = [threading.Thread(target=append_alert, args=(path, line)) for line in lines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIMEOUT_S * 5)
    alerts = read_alerts(path)
    assert sorted(a["writer"] for a in alerts) == list(range(8))
    assert all(a["blob"] == str(a["writer"]) * 200_000 for a in alerts)


def test_read_alerts_of_missing_file_is_empty_and_bad_line_is_named(tmp_path: Path) -> None:
    assert read_alerts(tmp_path / "none.jsonl") == []
    path = tmp_path / "bad.jsonl"
    path.write_text('{"ok": 1}\n\n[1, 2]\n')
    with pytest.raises(ValueError, match=r"bad\.jsonl:3: expected a JSON object"):
        read_alerts(path)
    path.write_text('{"ok": 1}\n{"trunc')
    with pytest.raises(ValueError, match=r"bad\.jsonl:2: not valid JSON"):
        read_alerts(path)


def test_alert_parameters_carry_title_severity_and_details_for_our_flavor(
    tmp_path: Path,
) -> None:
    from zenml.alerter.base_alerter import BaseAlerterStepParameters

    from alerters.parameters import alert_parameters

    alerter = _alerter(path=str(tmp_path / "alerts.jsonl"))
    params = alert_parameters(alerter, "Drift", "critical", {"kind": "drift", "columns": ["x"]})
    assert isinstance(params, JsonlWebhookAlerterParameters)
    assert (params.title, params.severity, params.details) == (
        "Drift",
        "critical",
        {"kind": "drift", "columns": ["x"]},
    )
    assert alerter.post("Drift\nbody", params)
    record = json.loads((tmp_path / "alerts.jsonl").read_text().splitlines()[-1])
    assert (record["title"], record["severity"], record["details"]["columns"]) == (
        "Drift",
        "critical",
        ["x"],
    )
    # Another flavor (slack, discord) gets ZenML's base parameters: the text carries the alert.
    alerter.flavor = "slack"
    other = alert_parameters(alerter, "Drift", "critical", {"kind": "drift"})
    assert type(other) is BaseAlerterStepParameters
