"""A deployment's local copy of its model, which the gateway scores in process.

At deployment, after the model server passed its health check and smoke test,
:func:`stage_model` copies the MLflow model that server serves (the same model URI,
``models:/NAME/VERSION``, through ``mlflow.artifacts.download_artifacts``) into
``<serving state>/models/<deployment id>/``, writes the manifest the gateway checks
(:data:`serving.scorer.MANIFEST`), loads it exactly as the gateway will
(:func:`serving.scorer.load_route_scorer`) and replays the evaluation's smoke sample through it.
Only a copy that passes gets into the route (``Route.model_path``); otherwise the reason is
logged and the route has no local copy, so the gateway forwards to the model server.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
from dataclasses import replace
from pathlib import Path

import orjson

from serving.contract import parse_rows
from serving.routing import Route, state_dir
from serving.scorer import MANIFEST, ScorerUnavailable, load_route_scorer, manifest_for
from tabular_classifier.evaluation import EvaluationReport

logger = logging.getLogger(__name__)

MODELS_DIR = "models"
"""Directory under the serving state directory holding one model copy per deployment."""


def _smoke(route: Route, report: EvaluationReport, tolerance: float) -> float:
    """The largest difference between the in-process scorer and the recorded probabilities.

    Raises:
        ScorerUnavailable: If the copy cannot be loaded, or differs by more than ``tolerance``.
    """
    scorer = load_route_scorer(route)
    rows = parse_rows(orjson.dumps(report.smoke_request()), scorer.contract)
    got = scorer.score(rows)
    expected = report.smoke_probabilities
    if len(got) != len(expected):
        raise ScorerUnavailable(f"{len(got)} probabilities for {len(expected)} sample rows")
    worst = max((abs(float(g) - e) for g, e in zip(got, expected, strict=True)), default=0.0)
    if not math.isfinite(worst) or worst > tolerance:
        raise ScorerUnavailable(
            f"smoke test in process: probabilities differ from those recorded at evaluation "
            f"by up to {worst:.3g} (tolerance {tolerance})"
        )
    return worst


def stage_model(route: Route, report: EvaluationReport, tolerance: float) -> Route:
    """Copy, check and record ``route``'s model for in-process scoring (module docstring).

    ``models:/`` URIs resolve through MLflow's process-wide tracking and registry URIs, which
    the caller configures as the model server does (the stack's experiment tracker's
    ``configure_mlflow``); MLflow 3.17's ``download_artifacts`` ignores explicit
    ``tracking_uri``/``registry_uri`` arguments for ``models:/`` URIs (seen: "Registered Model
    ... not found").

    Args:
        route: The new deployment's route, with its ``model_uri`` and ``deployment_id``.
        report: The model version's evaluation report (its smoke sample).
        tolerance: Largest accepted absolute difference on the smoke sample's probabilities.

    Returns:
        ``route`` with ``model_path`` set, or unchanged (no local copy) when the copy cannot be
        made or fails a check; the deployment goes on either way, served through its server.
    """
    target = state_dir() / MODELS_DIR / route.deployment_id
    try:
        import mlflow

        local = Path(mlflow.artifacts.download_artifacts(route.model_uri, dst_path=str(target)))
        staged = replace(route, model_path=str(local))
        (local / MANIFEST).write_text(json.dumps(manifest_for(staged), indent=1))
        worst = _smoke(staged, report, tolerance)
    except Exception as exc:  # noqa: BLE001 - the model server path stays; log why
        shutil.rmtree(target, ignore_errors=True)
        logger.warning(
            "%s version %s will be served through its model server, not in process: %s",
            route.model_name,
            route.model_version,
            exc,
        )
        return route
    logger.info(
        "%s version %s: the gateway scores it in process from %s (smoke test %.3g)",
        route.model_name,
        route.model_version,
        local,
        worst,
    )
    return staged


def remove_staged(route: Route) -> None:
    """Delete ``route``'s local model copy, if it is one :func:`stage_model` made."""
    if not route.model_path:
        return
    root = (state_dir() / MODELS_DIR).resolve()
    path = Path(route.model_path).resolve()
    if root in path.parents:
        shutil.rmtree(root / path.relative_to(root).parts[0], ignore_errors=True)
