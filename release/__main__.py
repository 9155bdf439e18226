"""``python -m release``: where each model is served, rollback, and the gateway process.

Commands (``python -m release --help``, ``python -m release COMMAND --help``); ``status``,
``rollback`` and ``stop`` take ``--model NAME`` (default: the gateway's default model):
    status           the stable endpoint, the active and previous versions, and health
    rollback         return to the version that was production before (see the README)
    gateway-start    start the gateway, under its supervisor, if it is not running
    restart-server   restart a model's crashed server (run by the supervisor)
    stop             stop the gateway and delete the model servers it routes to
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from serving.gateway_process import (
    gateway_alive,
    gateway_scoring,
    serving_port,
    start_gateway,
    stop_gateway,
)
from serving.routing import Route, RouteTable, gateway_url, read_serving, write_routes

# Each subcommand's one-line help (shown by ``--help``) and its longer description.
COMMANDS: dict[str, tuple[str, str]] = {
    "status": (
        "print the stable endpoint, the served and previous versions, health, and the newest "
        "production history entries (JSON)",
        "Print, as JSON: the gateway's endpoint, whether the gateway runs, whether the active "
        "model server answers its health check from the process recorded at deployment, the "
        "active and previous routes (model name, version, deployment id) and the newest "
        "production history entries. Reads route.json only, without importing ZenML (well "
        "under 2 s); --production also asks ZenML for the production version (seconds).",
    ),
    "rollback": (
        "return to the version that was production before the served one, and make it production",
        "Return to the version that was production before the served one, from the production "
        "history in route.json; a version promotion refused is never made production. A second "
        "rollback goes further back, never forward. See the README's rollback section.",
    ),
    "gateway-start": (
        "start the gateway and its supervisor on the stable address if it is not running "
        "(e.g. after the machine restarted)",
        "Start the gateway in the background under its supervisor, on 127.0.0.1 and "
        "$TABULAR_GATEWAY_PORT (default 8765), routing by the current route.json; does nothing "
        "if a gateway already answers. The supervisor restarts the gateway if it crashes, and a "
        "model server whose process is gone (restart-server). Deployments start it too.",
    ),
    "restart-server": (
        "restart a model's crashed server and record its new process (the supervisor runs it)",
        "Through the stack's model deployer, stop and start the active server of --model (or "
        "the default model), check its health and that the process answering is the one "
        "started, and record that process in route.json so the gateway routes to it again. "
        "Does nothing if the recorded process still answers. The gateway's supervisor runs "
        "this by itself when a model server dies.",
    ),
    "stop": (
        "stop the gateway and delete the model servers it routes to",
        "Stop the gateway and delete every model's active and previous servers; route.json then "
        "routes to nothing (the production histories are kept). With --model, only that "
        "model's servers and routes; the gateway keeps serving the others.",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser: one subcommand per :data:`COMMANDS` entry, each described."""
    parser = argparse.ArgumentParser(
        prog="python -m release",
        description=__doc__.split("\n")[0].replace("``", ""),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (summary, description) in COMMANDS.items():
        sub = commands.add_parser(name, help=summary, description=description)
        if name == "status":
            sub.add_argument(
                "--production",
                action="store_true",
                help="also ask ZenML for the model's production version (imports ZenML: slower)",
            )
        if name in MODEL_HELP:
            sub.add_argument("--model", default=None, help=MODEL_HELP[name])
    return parser


# What ``--model`` means for each command that takes it.
MODEL_HELP = {
    "status": "the model to describe in detail (default: the gateway's default model)",
    "rollback": "the model to roll back (default: the gateway's default model); the other "
    "models are not touched",
    "restart-server": "the model whose server to restart (default: the gateway's default model)",
    "stop": "stop only this model's servers and routes; the gateway keeps serving the others "
    "(default: stop the gateway and every model's servers)",
}


def main(argv: list[str] | None = None) -> int:
    """Run a command; exit code 0 on success, 1 on a deployment error, 2 on bad arguments."""
    args = build_parser().parse_args(argv)
    model = getattr(args, "model", None)
    try:
        if args.command == "rollback":
            # Imported only here and in stop: status and gateway-start never load ZenML.
            from release.blue_green import rollback

            table = rollback(model)
            active = table.active
            print(
                "now serving "
                + ("?" if active is None else f"{active.model_name} version {active.model_version}")
            )
        elif args.command == "gateway-start":
            started = start_gateway()
            print(f"gateway at {gateway_url()}" + ("" if started else " (already running)"))
            if not read_serving().served():
                print(
                    "nothing is deployed: the gateway answers 503 until the deployment "
                    "pipeline runs (see the README, 'Deployment and serving')"
                )
        elif args.command == "restart-server":
            from release.blue_green import restart_server

            route = restart_server(model or _default_model())
            print(f"{route.model_name} version {route.model_version}: PID {route.server_pid}")
        elif args.command == "stop":
            print(_stop(model))
        if args.command in ("rollback", "stop"):
            # One line said what changed; the whole status is a command away.
            print(
                "details: python -m release status" + ("" if model is None else f" --model {model}")
            )
        else:
            status = _status(model, production=getattr(args, "production", False))
            print(json.dumps(status, indent=1))
    except (RuntimeError, ValueError) as exc:
        # DeploymentError is a RuntimeError; so are a gateway that could not start (port taken,
        # no answer); ValueError: a bad TABULAR_GATEWAY_PORT. All are the user's to fix, and a
        # traceback would hide that.
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader closed the pipe (`release status | head`): stop quietly, as Unix tools do,
        # and keep Python from reporting the failed flush of stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return 0


def _default_model() -> str:
    """The gateway's default model.

    Raises:
        ValueError: If no model is served.
    """
    default = read_serving().default_model
    if default is None:
        raise ValueError("no model is served")
    return default


def _status(model: str | None, production: bool) -> dict[str, Any]:
    """The status JSON: one model in detail (default: the default model), every model in brief.

    Raises:
        ValueError: If ``model`` is given and route.json has never routed it.
    """
    serving = read_serving()
    if model is not None and model not in serving.models:
        known = ", ".join(sorted(serving.models)) or "none"
        raise ValueError(f"model '{model}' has never been deployed here; known: {known}")
    table = serving.table(model)
    routes = table.to_dict()
    for key in ("active", "previous"):
        if routes[key] is not None:
            contract = routes[key].pop("contract")
            routes[key]["columns"] = len(contract["features"])  # RowContract.to_dict()
    history = routes.pop("history")
    port = serving_port()  # the running gateway's, whatever this shell's TABULAR_GATEWAY_PORT
    base = gateway_url(port)
    return {
        "endpoint": f"{base}/invocations"
        if model is None
        else f"{base}/models/{model}/invocations",
        "gateway_running": gateway_alive(port),
        "default_model": serving.default_model,
        "active_server_healthy": table.active is not None and _healthy(table.active),
        # The previous server is kept for an instant rollback; a dead one is flagged here
        # (rollback then restarts it or redeploys that version).
        "previous_server_healthy": None if table.previous is None else _healthy(table.previous),
        "scoring": _scoring(table.active, port),
        **({"production_version": _production_version(table)} if production else {}),
        **routes,
        # The newest entries of the production history that rollback reads.
        "production_history": history[-10:],
        "models": {
            # A stopped model keeps only its production history (for later rollbacks): it is
            # listed as not served, with no endpoint.
            name: {
                "served": t.active is not None,
                "endpoint": None if t.active is None else f"{base}/models/{name}/invocations",
                "active_version": None if t.active is None else t.active.model_version,
                "deployment_id": None if t.active is None else t.active.deployment_id,
                "active_server_healthy": t.active is not None and _healthy(t.active),
                "scoring": _scoring(t.active, port),
            }
            for name, t in sorted(serving.models.items())
        },
    }


def _scoring(route: Route | None, port: int) -> str | None:
    """How the gateway scores ``route``: ``in_process``, ``model_server``, or ``None``.

    Asked of the running gateway (``/models/<name>/health``), which alone knows whether it
    could load the route's local copy; ``None`` when nothing is served or the gateway does not
    answer for that deployment. No model is loaded here (status stays free of torch).
    """
    if route is None:
        return None
    return gateway_scoring(route.model_name, route.deployment_id, port)


def _healthy(route: Route, attempts: int = 2) -> bool:
    """Whether the route's port is answered by its recorded process alone, with 200 on health.

    A failed check is tried once more after 0.5 s, the second time with 5 s to answer: a
    server that is merely slow for a moment on a busy machine (2 s was seen to lapse in CI
    while other servers stopped) is not reported unhealthy. A healthy server answers the first
    check in milliseconds, so ``status`` stays fast.
    """
    import time
    import urllib.request

    from serving.identity import check_listener

    for attempt in range(attempts):
        if attempt:
            time.sleep(0.5)
        if check_listener(route.port, route.server) is not None:
            continue
        try:
            with urllib.request.urlopen(  # noqa: S310
                route.health_url, timeout=2.0 if attempt == 0 else 5.0
            ) as response:
                if response.status == 200:
                    return True
        except OSError:
            continue
    return False


def _production_version(table: RouteTable) -> str | None:
    """The ZenML production version (may differ from the served one after an explicit deploy)."""
    from release.production import current_production

    route = table.active or table.previous
    # After `stop` nothing is routed, but the history still names the model last served.
    name = (
        route.model_name
        if route is not None
        else next((entry.model_name for entry in reversed(table.history)), None)
    )
    if name is None:
        return None
    production = current_production(name)
    return None if production is None else str(production.number)


def _stop(model: str | None) -> str:
    """Stop one model (its servers and routes) or, with ``model=None``, everything.

    Returns:
        One line saying what was stopped, e.g. ``stopped the gateway and 2 model servers of 1
        model (tabular_classifier)`` or ``stopped 2 model servers of 'iris'; the gateway still
        serves: tabular_classifier``.

    Raises:
        ValueError: If ``model`` is given and is not served.
    """
    import time
    from uuid import UUID

    serving = read_serving()
    if model is not None and model not in serving.served():
        served = ", ".join(serving.served()) or "none"
        raise ValueError(f"model '{model}' is not served; served: {served}")
    from zenml.client import Client

    from release.local_model import remove_staged

    names = [model] if model is not None else sorted(serving.models)
    if model is None:
        stop_gateway()
    deployer = Client().active_stack.model_deployer
    servers = 0
    for name in names:
        table = serving.models[name]
        # Not served any more: say so first, so that neither the gateway nor its supervisor
        # (which would restart a server it sees gone) uses the servers deleted next; a later
        # deploy starts from scratch. The production history is kept for later rollbacks.
        write_routes(
            RouteTable(active=None, previous=None, updated_at=time.time(), history=table.history),
            model_name=name,
        )
        for route in (table.active, table.previous):
            if route is not None:
                servers += 1
                remove_staged(route)
            if route is not None and deployer is not None:
                try:
                    deployer.delete_model_server(UUID(route.service_id), force=True)
                except Exception as exc:  # noqa: BLE001 - keep stopping the rest
                    print(f"warning: could not delete model server {route.service_id}: {exc}")
    counted = f"{servers} model server{'' if servers == 1 else 's'}"
    if model is None:
        names = serving.served()
        models = f"{len(names)} model{'' if len(names) == 1 else 's'}"
        return f"stopped the gateway and {counted} of {models} ({', '.join(names) or 'none'})"
    still = ", ".join(name for name in serving.served() if name != model) or "no other model"
    return f"stopped {counted} of '{model}'; the gateway still serves: {still}"


if __name__ == "__main__":
    raise SystemExit(main())
