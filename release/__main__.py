"""``python -m release``: where the model is served, rollback, and the gateway process.

Commands:
    status           the stable endpoint, the active and previous versions, and health
    rollback         route traffic back to the previous version (and make it production)
    gateway-start    start the gateway if it is not running
    stop             stop the gateway and delete the model servers it routes to
"""

from __future__ import annotations

import argparse
import json
import sys

from release.blue_green import DeploymentError, rollback
from serving.routing import (
    RouteTable,
    gateway_alive,
    gateway_url,
    read_routes,
    start_gateway,
    stop_gateway,
    write_routes,
)


def main(argv: list[str] | None = None) -> int:
    """Run a command; exit code 0 on success, 1 on a deployment error."""
    parser = argparse.ArgumentParser(prog="python -m release", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["status", "rollback", "gateway-start", "stop"])
    args = parser.parse_args(argv)
    try:
        if args.command == "rollback":
            table = rollback()
            print(f"now serving version {table.active.model_version if table.active else '?'}")
        elif args.command == "gateway-start":
            start_gateway()
            print(f"gateway at {gateway_url()}")
        elif args.command == "stop":
            _stop_all()
        table = read_routes()
        routes = table.to_dict()
        for key in ("active", "previous"):
            if routes[key] is not None:
                contract = routes[key].pop("contract")
                routes[key]["columns"] = len(contract["numeric"]) + len(contract["categorical"])
        status = {
            "endpoint": f"{gateway_url()}/invocations",
            "gateway_running": gateway_alive(),
            "active_server_healthy": table.active is not None and _healthy(table.active.health_url),
            "production_version": _production_version(table),
            **routes,
        }
        print(json.dumps(status, indent=1))
    except DeploymentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _healthy(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2.0) as response:  # noqa: S310 - loopback
            return bool(response.status == 200)
    except OSError:
        return False


def _production_version(table: RouteTable) -> str | None:
    """The ZenML production version (may differ from the served one after an explicit deploy)."""
    from release.production import current_production

    route = table.active or table.previous
    if route is None:
        return None
    production = current_production(route.model_name)
    return None if production is None else str(production.number)


def _stop_all() -> None:
    import time
    from uuid import UUID

    from zenml.client import Client

    stop_gateway()
    table = read_routes()
    deployer = Client().active_stack.model_deployer
    for route in (table.active, table.previous):
        if route is not None and deployer is not None:
            try:
                deployer.delete_model_server(UUID(route.service_id), force=True)
            except Exception as exc:  # noqa: BLE001 - keep stopping the rest
                print(f"warning: could not delete model server {route.service_id}: {exc}")
    # Nothing is served any more: say so, so that a later deploy starts from scratch.
    write_routes(RouteTable(active=None, previous=None, updated_at=time.time()))


if __name__ == "__main__":
    raise SystemExit(main())
