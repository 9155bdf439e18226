"""Rollback returns to the version that was production before, never to one promotion refused.

The history logic is tested on real routing tables; the whole ``rollback()`` runs in a child
process against a fresh local ZenML store (real model versions, promotion metadata and
production stage), a real gateway process and a real HTTP model server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from release.blue_green import DeploymentError, history_after_rollback, rollback_target
from scripts.ports import free_port
from serving.routing import HistoryEntry, Route, RouteTable

REPO = Path(__file__).resolve().parents[2]


def _route(version: str, model: str = "m", deployment_id: str | None = None) -> Route:
    return Route(
        model_name=model,
        model_version=version,
        registered_version=version,
        service_id=f"00000000-0000-0000-0000-00000000000{version}",
        url="http://127.0.0.1:9/invocations",
        health_url="http://127.0.0.1:9/ping",
        contract={"features": [], "ignored_columns": [], "na_values": []},
        deployment_id=deployment_id or f"d{version}",
    )


def _entry(
    version: str, production: bool, promoted: bool | None, model: str = "m", at: float = 0.0
) -> HistoryEntry:
    return HistoryEntry(
        model_name=model,
        model_version=version,
        deployment_id=f"d{version}",
        deployed_at=at,
        production=production,
        promoted=promoted,
    )


def test_two_rollbacks_after_an_unpromoted_deploy_never_reach_it() -> None:
    # v2 production and served; v4 (refused by promotion) deployed explicitly.
    history = (_entry("2", True, True, at=1.0), _entry("4", False, False, at=2.0))
    table = RouteTable(active=_route("4"), previous=_route("2"), updated_at=2.0, history=history)
    target = rollback_target(table)
    assert (target.model_version, target.deployment_id) == ("2", "d2")
    after = history_after_rollback(history, _route("4"), _route("2"), True, 3.0)
    assert [(e.model_version, e.rolled_back_at, e.via) for e in after] == [
        ("2", None, "deploy"),
        ("4", 3.0, "deploy"),
        ("2", None, "rollback"),
    ]
    second = RouteTable(active=_route("2"), previous=_route("4"), updated_at=3.0, history=after)
    with pytest.raises(DeploymentError, match="no earlier production version of 'm'"):
        rollback_target(second)


def test_rollback_goes_back_in_order_and_never_forward() -> None:
    history = (
        _entry("1", True, True, at=1.0),
        _entry("2", True, True, at=2.0),
        _entry("3", True, True, at=3.0),
    )
    table = RouteTable(active=_route("3"), previous=_route("2"), updated_at=3.0, history=history)
    assert rollback_target(table).model_version == "2"
    history = history_after_rollback(history, _route("3"), _route("2"), True, 4.0)
    table = RouteTable(active=_route("2"), previous=_route("3"), updated_at=4.0, history=history)
    # Not forward to 3 (rolled back from), but back to 1.
    assert rollback_target(table).model_version == "1"
    history = history_after_rollback(history, _route("2"), _route("1"), True, 5.0)
    table = RouteTable(active=_route("1"), previous=_route("2"), updated_at=5.0, history=history)
    with pytest.raises(DeploymentError, match="nothing to roll back to"):
        rollback_target(table)


def test_other_models_and_versions_without_a_promotion_record() -> None:
    # card_classifier v1 is not a rollback target of breast_cancer_classifier, even with the
    # same version number; a version with no promotion record but production is one.
    history = (
        _entry("1", True, None, model="breast", at=1.0),
        _entry("1", True, True, model="card", at=2.0),
        _entry("5", True, True, model="card", at=3.0),
        _entry("2", True, True, model="breast", at=4.0),
    )
    table = RouteTable(
        active=_route("2", model="breast"), previous=None, updated_at=4.0, history=history
    )
    target = rollback_target(table)
    assert (target.model_name, target.model_version) == ("breast", "1")
    nothing = RouteTable(active=None, previous=None, updated_at=0.0, history=history)
    with pytest.raises(DeploymentError, match="no deployment is active"):
        rollback_target(nothing)


SCRIPT = """
import json, os, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import pandas as pd
from zenml import log_metadata
from zenml.client import Client
from zenml.enums import ModelStages
from release.blue_green import DeploymentError, rollback
from release.production import ProductionRefused, set_production
from serving.identity import process_of
from serving.routing import HistoryEntry, Route, RouteTable, read_routes, stop_gateway, write_routes
from tabular_classifier.contract import RowContract

class Ping(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *args):
        pass


def run():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Ping)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    contract = RowContract.infer(pd.DataFrame({"x": [1.0, 2.0]}), ["x"], []).to_dict()

    client = Client()
    client.create_model(name="m")
    for _ in range(4):
        client.create_model_version(model_name_or_id="m")
    for number, promote in (("1", True), ("2", True), ("3", False), ("4", False)):
        log_metadata(
            metadata={"promotion": {"promote": promote}}, model_name="m", model_version=number
        )
    set_production("m", "2")
    out = {}
    try:
        set_production("m", "4")
    except ProductionRefused as exc:
        out["refused"] = str(exc)
    production = client.get_model_version("m", ModelStages.PRODUCTION)
    out["production_after_refusal"] = str(production.number)

    def route(v):
        # The kept server runs in this process: the identity check finds it listening.
        here = process_of(os.getpid())
        return Route("m", v, v, "00000000-0000-0000-0000-00000000000" + v, base + "/invocations",
                     base + "/ping", contract, "d" + v, here.pid, here.started_at)

    history = (
        HistoryEntry("m", "2", "d2", 1.0, production=True, promoted=True),
        HistoryEntry("m", "4", "d4", 2.0, production=False, promoted=False),
    )
    table = RouteTable(active=route("4"), previous=route("2"), updated_at=2.0, history=history)
    write_routes(table)
    # A second model served beside "m": rolling back "m" must leave it alone.
    other_route = Route(**{**route("1").__dict__, "model_name": "n", "deployment_id": "dn1"})
    kept = (HistoryEntry("n", "1", "dn1", 0.5, production=True, promoted=True),)
    other = RouteTable(active=other_route, previous=None, updated_at=1.0, history=kept)
    write_routes(other)
    try:
        table = rollback()
        out["first"] = [table.active.model_version, table.previous.model_version]
        production = client.get_model_version("m", ModelStages.PRODUCTION)
        out["production_after_first"] = str(production.number)
        try:
            rollback()
            out["second"] = "rolled back"
        except DeploymentError as exc:
            out["second"] = str(exc)
        out["served_after_second"] = read_routes().active.model_version
        out["production_after_second"] = str(
            client.get_model_version("m", ModelStages.PRODUCTION).number
        )
        out["stage_of_4"] = str(client.get_model_version("m", "4").stage)
        out["history"] = [[e.model_version, e.via, e.rolled_back_at is not None]
                          for e in read_routes().history]
        out["other_untouched"] = read_routes(model_name="n") == other
        try:
            rollback("n")
        except DeploymentError as exc:
            out["other_rollback"] = str(exc)
    finally:
        stop_gateway()
        server.shutdown()
    print("RESULT " + json.dumps(out))


run()
"""


def test_rollback_twice_with_zenml_never_makes_the_unpromoted_version_production(
    tmp_path: Path,
) -> None:
    script = tmp_path / "rollback_twice.py"
    script.write_text(textwrap.dedent(SCRIPT))
    env = {
        **os.environ,
        "ZENML_CONFIG_PATH": str(tmp_path / "zenml"),
        "ZENML_ANALYTICS_OPT_IN": "false",
        "ZENML_ENABLE_REPO_INIT_WARNINGS": "false",
        "TABULAR_SERVING_STATE": str(tmp_path / "serving"),
        "TABULAR_GATEWAY_PORT": str(free_port()),
        "PYTHONPATH": str(REPO),
        "no_proxy": "127.0.0.1,localhost",
    }
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert result.returncode == 0 and lines, result.stdout[-3000:] + result.stderr[-3000:]
    out = json.loads(lines[-1].removeprefix("RESULT "))
    assert "version 4 was refused by promotion" in out["refused"]
    assert out["production_after_refusal"] == "2"
    assert out["first"] == ["2", "4"]
    assert out["production_after_first"] == "2"
    assert "nothing to roll back to" in out["second"]
    assert out["served_after_second"] == "2"
    assert out["production_after_second"] == "2"
    assert "production" not in out["stage_of_4"].lower()
    assert out["other_untouched"] is True
    assert "nothing to roll back to" in out["other_rollback"]
    assert "version of 'n'" in out["other_rollback"]
    assert out["history"] == [
        ["2", "deploy", False],
        ["4", "deploy", True],
        ["2", "rollback", False],
    ]
