"""In-process scoring for the gateway: a deployment's own model, loaded without torch.

At deployment (``release.local_model.stage_model``) the MLflow model the deployer's model server
serves (``models:/NAME/VERSION``) is copied to the serving state directory, a manifest
(:data:`MANIFEST`) naming the deployment is written beside it, and the copy is smoke-tested with
:class:`tabular_classifier.scoring.NumpyScorer`; its path goes in the route
(``Route.model_path``). The gateway then loads it here (:class:`Scorers`) and scores requests
in its own process: one parse, no second HTTP hop, no pandas DataFrame, no torch.

Before a copy is used, :func:`load_route_scorer` checks that it is this route's model: the
manifest's model name, version, registry version, model URI and deployment id, the MLflow
model's own ``model_version`` (what the model server reports), and the bundle's row contract
must all equal the route's. Anything missing or different, a bundle that fails its checksums,
or a network the NumPy scorer cannot reproduce, and the gateway logs why and forwards that
route's requests to its model server, as before.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

import yaml

from serving.routing import Route
from tabular_classifier.scoring import NumpyScorer

logger = logging.getLogger("serving.scorer")

MANIFEST = "deployment.json"
"""The manifest written into a staged model directory: which deployment it belongs to."""
MANIFEST_KEYS = ("model_name", "model_version", "registered_version", "model_uri", "deployment_id")
"""The route fields the manifest records, and :func:`load_route_scorer` compares."""
BUNDLE_ARTIFACT = "bundle"
"""The pyfunc artifact holding the bundle (``serving.pyfunc_model.BUNDLE_ARTIFACT``)."""


class ScorerUnavailable(Exception):
    """A route's model cannot be scored in process; the message says why."""


def manifest_for(route: Route) -> dict[str, str]:
    """The manifest of ``route``'s staged model: :data:`MANIFEST_KEYS` from the route."""
    return {key: str(getattr(route, key)) for key in MANIFEST_KEYS}


def bundle_directory(model_path: Path) -> tuple[Path, str]:
    """The bundle directory inside a local MLflow model, and the model version it reports.

    Read from the model's ``MLmodel`` file (the pyfunc flavor's ``artifacts`` and ``config``,
    as ``serving.mlflow_model`` writes them), without importing MLflow.

    Raises:
        ScorerUnavailable: If ``MLmodel`` is missing or has no bundle artifact or version.
    """
    mlmodel = model_path / "MLmodel"
    try:
        flavor = yaml.safe_load(mlmodel.read_text())["flavors"]["python_function"]
        relative = flavor["artifacts"][BUNDLE_ARTIFACT]["path"]
        version = str(flavor["config"]["model_version"])
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise ScorerUnavailable(f"{mlmodel}: no bundle artifact or version: {exc!r}") from exc
    bundle = (model_path / relative).resolve()
    if model_path.resolve() not in bundle.parents:
        raise ScorerUnavailable(f"{mlmodel}: bundle path {relative!r} leaves the model directory")
    return bundle, version


def load_route_scorer(route: Route) -> NumpyScorer:
    """Load and check ``route``'s staged model (see the module docstring).

    Raises:
        ScorerUnavailable: Naming why the route's model cannot be scored in process.
    """
    if not route.model_path:
        raise ScorerUnavailable("the route records no local copy of its model")
    root = Path(route.model_path)
    try:
        manifest = json.loads((root / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise ScorerUnavailable(f"{root / MANIFEST}: cannot be read: {exc}") from exc
    expected = manifest_for(route)
    differs = [key for key in MANIFEST_KEYS if str(manifest.get(key)) != expected[key]]
    if differs:
        raise ScorerUnavailable(
            f"{root / MANIFEST}: {', '.join(differs)} differ from the route's "
            f"({', '.join(f'{k}={manifest.get(k)!r}' for k in differs)})"
        )
    bundle, version = bundle_directory(root)
    if version != route.model_version:
        raise ScorerUnavailable(
            f"{root}: the MLflow model reports version {version}, the route {route.model_version}"
        )
    try:
        scorer = NumpyScorer.from_directory(bundle)
    except (OSError, ValueError) as exc:  # UnsupportedBundle is a ValueError
        raise ScorerUnavailable(f"{bundle}: {exc}") from exc
    if scorer.contract.to_dict() != route.contract:
        raise ScorerUnavailable(f"{bundle}: its row contract differs from the route's")
    return scorer


class Scorers:
    """The gateway's in-process scorers, one per deployment, loaded once each.

    :meth:`get` returns a route's scorer, or ``None`` when it cannot have one (the reason is
    logged once per deployment); that route is then served through its model server.
    """

    def __init__(self) -> None:
        self._scorers: dict[str, NumpyScorer | None] = {}
        self._reasons: dict[str, str] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(route: Route) -> str:
        return f"{route.deployment_id}:{route.model_path}"

    def loaded(self, route: Route) -> bool:
        """Whether :meth:`get` has already decided for ``route`` (then it costs a dict lookup)."""
        return self._key(route) in self._scorers

    def get(self, route: Route) -> NumpyScorer | None:
        """``route``'s scorer (loaded on first use), or ``None`` to forward to its server."""
        key = self._key(route)
        if key in self._scorers:
            return self._scorers[key]
        with self._lock:
            if key not in self._scorers:
                try:
                    self._scorers[key] = load_route_scorer(route)
                    logger.info(
                        "%s version %s (deployment %s): scoring in process from %s",
                        route.model_name,
                        route.model_version,
                        route.deployment_id,
                        route.model_path,
                    )
                except Exception as exc:  # noqa: BLE001 - any failure: forward, and say why
                    self._scorers[key] = None
                    self._reasons[key] = str(exc)
                    logger.warning(
                        "%s version %s (deployment %s): forwarding to its model server, not "
                        "scoring in process: %s",
                        route.model_name,
                        route.model_version,
                        route.deployment_id,
                        exc,
                    )
            return self._scorers[key]

    def reason(self, route: Route) -> str | None:
        """Why ``route`` is not scored in process (after :meth:`get`), or ``None``."""
        return self._reasons.get(self._key(route))

    def retain(self, routes: list[Route]) -> None:
        """Forget the scorers of every deployment but ``routes``' (after ``route.json`` changed)."""
        keep = {self._key(route) for route in routes}
        with self._lock:
            for key in [k for k in self._scorers if k not in keep]:
                self._scorers.pop(key, None)
                self._reasons.pop(key, None)


def describe(route: Route, scorers: Scorers) -> dict[str, Any]:
    """How the gateway scores ``route``: ``{"scoring": "in_process" | "model_server", ...}``."""
    if scorers.get(route) is not None:
        return {"scoring": "in_process"}
    return {"scoring": "model_server", "in_process_unavailable": scorers.reason(route)}
