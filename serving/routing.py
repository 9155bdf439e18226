"""Blue-green routing state and the gateway process that applies it.

Clients always call one stable address, the gateway (``http://127.0.0.1:8765`` by default).
``route.json`` holds one :class:`RouteTable` per model (:class:`ServingRoutes`); the gateway
scores each request with the model's *active* deployment, in process from the deployment's
local copy of the model when it has one (:attr:`Route.model_path`), else by forwarding it to
that deployment's model server; the deployment pipeline starts a
new server beside the old one, checks it, and then rewrites that model's table atomically
(write to a temporary file, ``os.replace``). The previous server stays up and stays listed as
*previous*. Each table also keeps the model's production history that
``python -m release rollback`` reads (see :class:`HistoryEntry`). The gateway runs under a
supervisor (:mod:`serving.supervisor`) started by
:func:`serving.gateway_process.start_gateway`.

State lives in :func:`state_dir`: ``$TABULAR_SERVING_STATE`` if set, else ``serving/`` under the
ZenML global config directory (so each ZenML store has its own routing).
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from serving.identity import ServerProcess

DEFAULT_HOST = "127.0.0.1"
# Not 8000: ZenML's local model servers take free ports counting up from 8000.
DEFAULT_PORT = 8765
ROUTE_FILE = "route.json"
LOCK_FILE = "route.lock"
PID_FILE = "gateway.pid"
# The gateway process's own PID, written by its supervisor at each (re)start.
GATEWAY_CHILD_PID_FILE = "gateway.child.pid"
LOG_FILE = "gateway.log"


@dataclass(frozen=True)
class Route:
    """One deployed model server.

    Attributes:
        model_name: The ZenML / MLflow registered model name.
        model_version: The ZenML model version number, as a string.
        registered_version: The MLflow registry version.
        service_id: The ZenML service (model server) UUID, as a string.
        url: The server's prediction URL (``.../invocations``).
        health_url: The server's health URL (``.../ping``).
        contract: The model version's row contract (``RowContract.to_dict()``).
        deployment_id: A UUID4 hex made by each deployment; empty in a ``route.json`` written
            before deployments had one, which then never counts as "already deployed".
        server_pid: The PID of the process listening on the server's port, identified at
            deployment (:func:`serving.identity.identify_listener`); 0 in a route written
            before deployments recorded it, which the gateway never routes to.
        server_started_at: That process's start time, seconds since the epoch.
        model_uri: The MLflow model URI the model server serves (``models:/NAME/VERSION``);
            empty in a route written before it was recorded.
        model_path: A local copy of that same MLflow model (made and checked at deployment,
            :func:`release.local_model.stage_model`), which the gateway scores in process
            (:mod:`serving.scorer`); empty when there is none, and the gateway then forwards
            requests to the model server.
    """

    model_name: str
    model_version: str
    registered_version: str
    service_id: str
    url: str
    health_url: str
    contract: dict[str, Any]
    deployment_id: str = ""
    server_pid: int = 0
    server_started_at: float = 0.0
    model_uri: str = ""
    model_path: str = ""

    @property
    def server(self) -> ServerProcess:
        """The model server process recorded at deployment."""
        return ServerProcess(pid=self.server_pid, started_at=self.server_started_at)

    @property
    def port(self) -> int:
        """The model server's TCP port (from :attr:`url`).

        Raises:
            ValueError: If the URL names no port.
        """
        port = urllib.parse.urlsplit(self.url).port
        if port is None:
            raise ValueError(f"model server URL {self.url!r} names no port")
        return port

    @property
    def identity(self) -> tuple[str, str, str]:
        """``(model_name, model_version, deployment_id)``: what deployments are compared on.

        A version number alone names nothing: ``card_classifier`` v1 and
        ``breast_cancer_classifier`` v1 are different models.
        """
        return (self.model_name, self.model_version, self.deployment_id)


@dataclass(frozen=True)
class HistoryEntry:
    """One deployment in the production history kept in ``route.json``.

    Attributes:
        model_name: The ZenML model name.
        model_version: The ZenML model version number, as a string.
        deployment_id: The deployment's id (``Route.deployment_id``).
        deployed_at: When it started serving, seconds since the epoch (UTC).
        production: Whether it was ZenML's production version when it started serving
            (an explicit ``version`` deploy of another version is not).
        promoted: The version's promotion decision (its ``promotion`` metadata's ``promote``);
            ``None`` when it has none (e.g. set production by hand).
        via: ``"deploy"`` or ``"rollback"``.
        rolled_back_at: When a rollback moved away from this version, else ``None``.
    """

    model_name: str
    model_version: str
    deployment_id: str
    deployed_at: float
    production: bool
    promoted: bool | None
    via: str = "deploy"
    rolled_back_at: float | None = None

    @property
    def rollback_target(self) -> bool:
        """Whether a rollback may return to it.

        It was production, promotion did not refuse it, and no rollback moved away from it.
        """
        return self.production and self.promoted is not False and self.rolled_back_at is None


# Entries kept in route.json's history (oldest dropped first).
MAX_HISTORY = 200


@dataclass(frozen=True)
class RouteTable:
    """What the gateway routes to: the active server and the one kept for rollback.

    ``history`` is the production history, oldest first (see :class:`HistoryEntry`); the
    gateway ignores it, rollback reads it.
    """

    active: Route | None
    previous: Route | None
    updated_at: float
    history: tuple[HistoryEntry, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "active": None if self.active is None else asdict(self.active),
            "previous": None if self.previous is None else asdict(self.previous),
            "updated_at": self.updated_at,
            "history": [asdict(e) for e in self.history[-MAX_HISTORY:]],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RouteTable:
        """Inverse of :meth:`to_dict`; a file without ``history`` reads as an empty one."""
        return cls(
            active=Route(**data["active"]) if data.get("active") else None,
            previous=Route(**data["previous"]) if data.get("previous") else None,
            updated_at=float(data.get("updated_at", 0.0)),
            history=tuple(HistoryEntry(**e) for e in data.get("history") or ()),
        )


def zenml_config_directory() -> Path:
    """ZenML's global config directory, found as ZenML finds it, without importing ZenML.

    ``$ZENML_CONFIG_PATH`` (resolved) if set, else click's application directory for
    ``zenml`` (``zenml.utils.io_utils.get_global_config_directory``); importing ZenML costs
    seconds, which the gateway and ``python -m release status`` do not pay.
    """
    override = os.environ.get("ZENML_CONFIG_PATH")
    if override:
        return Path(override).resolve()
    import click

    return Path(click.get_app_dir("zenml"))


def state_dir() -> Path:
    """The serving state directory (created if missing); see the module docstring."""
    override = os.environ.get("TABULAR_SERVING_STATE")
    path = Path(override) if override else zenml_config_directory() / "serving"
    path.mkdir(parents=True, exist_ok=True)
    return path


def gateway_port() -> int:
    """The gateway's port: ``$TABULAR_GATEWAY_PORT`` or 8765.

    Raises:
        ValueError: If ``TABULAR_GATEWAY_PORT`` is not an integer in 1-65535 (naming it).
    """
    raw = os.environ.get("TABULAR_GATEWAY_PORT", str(DEFAULT_PORT))
    try:
        port = int(raw)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise ValueError(f"TABULAR_GATEWAY_PORT={raw!r} is not a port number (1-65535)")
    return port


def gateway_url(port: int | None = None) -> str:
    """The stable client address, e.g. ``http://127.0.0.1:8765``."""
    return f"http://{DEFAULT_HOST}:{port or gateway_port()}"


@dataclass(frozen=True)
class ServingRoutes:
    """Every model behind the gateway: one :class:`RouteTable` per model name.

    ``route.json`` holds ``{"default_model": NAME, "models": {NAME: RouteTable.to_dict()}}``.
    ``POST /models/NAME/invocations`` serves model NAME; ``POST /invocations`` serves
    ``default_model``: the first model deployed, until it stops being served (then another
    served model, by name).

    Attributes:
        models: Each model's routing table (active, previous, production history).
        default_model: The model ``/invocations`` serves, or ``None`` when none is served.
    """

    models: dict[str, RouteTable]
    default_model: str | None

    def table(self, model_name: str | None = None) -> RouteTable:
        """The named model's table; empty if it has none.

        Default: the default model's, or with none served (after ``stop``), the only model's
        if there is one, so that its production history stays in view.
        """
        name = model_name or self.default_model
        if name is None and len(self.models) == 1:
            name = next(iter(self.models))
        empty = RouteTable(active=None, previous=None, updated_at=0.0)
        return self.models.get(name, empty) if name is not None else empty

    def served(self) -> list[str]:
        """The names of the models with an active route, sorted."""
        return sorted(name for name, table in self.models.items() if table.active is not None)

    def with_table(self, model_name: str, table: RouteTable) -> ServingRoutes:
        """A copy with ``model_name``'s table replaced.

        The default model is kept if it is still served, else it becomes ``model_name`` when
        that is served, else the first served model by name.
        """
        models = {**self.models, model_name: table}
        served = sorted(name for name, t in models.items() if t.active is not None)
        default = self.default_model
        if default not in served:
            default = model_name if table.active is not None else next(iter(served), None)
        return ServingRoutes(models=models, default_model=default)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (the ``route.json`` layout)."""
        return {
            "default_model": self.default_model,
            "models": {name: table.to_dict() for name, table in sorted(self.models.items())},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ServingRoutes:
        """Inverse of :meth:`to_dict`.

        A one-model ``route.json`` from before several models (``active``, ``previous`` and
        ``history`` at the top) reads as that model alone.
        """
        if "models" not in data:
            table = RouteTable.from_dict(data)
            name = _model_of(table)
            if name is None:
                return cls(models={}, default_model=None)
            return cls(models={name: table}, default_model=name if table.active else None)
        return cls(
            models={name: RouteTable.from_dict(t) for name, t in data["models"].items()},
            default_model=data.get("default_model"),
        )


def _model_of(table: RouteTable) -> str | None:
    """The model a table belongs to (its active, previous or newest history entry's name)."""
    for route in (table.active, table.previous):
        if route is not None:
            return route.model_name
    return table.history[-1].model_name if table.history else None


def read_serving(directory: Path | None = None) -> ServingRoutes:
    """Read ``route.json`` whole; no models if there is none yet."""
    path = (directory or state_dir()) / ROUTE_FILE
    if not path.is_file():
        return ServingRoutes(models={}, default_model=None)
    return ServingRoutes.from_dict(json.loads(path.read_text()))


def read_routes(directory: Path | None = None, model_name: str | None = None) -> RouteTable:
    """One model's routing table from ``route.json`` (default: the default model's).

    Returns an empty table if the model has none yet.
    """
    return read_serving(directory).table(model_name)


def write_routes(
    table: RouteTable, directory: Path | None = None, model_name: str | None = None
) -> None:
    """Replace one model's table in ``route.json``, atomically; the other models' stay as they are.

    Readers see the old file or the new one, never half (temporary file, ``os.replace``); two
    writers take turns (an exclusive ``flock`` on ``route.lock``), so two models deployed at once
    both keep their routes.

    Args:
        table: The model's new routing table.
        directory: The state directory (default :func:`state_dir`).
        model_name: The model it belongs to; default: the model its routes or history name.

    Raises:
        ValueError: If ``model_name`` is not given and the table names no model.
    """
    name = model_name or _model_of(table)
    if name is None:
        raise ValueError("a routing table that names no model needs model_name")
    directory = directory or state_dir()
    target = directory / ROUTE_FILE
    with open(directory / LOCK_FILE, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        serving = read_serving(directory).with_table(name, table)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".route-", suffix=".json")
        with os.fdopen(fd, "w") as handle:
            json.dump(serving.to_dict(), handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)


# Moved to serving.gateway_process; still importable from here (PEP 562: imported on first use,
# since serving.gateway_process itself imports this module).
_MOVED = {
    "gateway_alive",
    "check_gateway_port",
    "running_supervisor",
    "start_gateway",
    "stop_gateway",
}


def __getattr__(name: str) -> Any:
    """The gateway-process functions, from :mod:`serving.gateway_process`."""
    if name in _MOVED:
        import serving.gateway_process

        return getattr(serving.gateway_process, name)
    raise AttributeError(f"module 'serving.routing' has no attribute {name!r}")
