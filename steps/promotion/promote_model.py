"""Promotion step: move the candidate to production if it beats the current production model.

This is the training pipeline's last step, so when it fails, the run fails after the candidate
was registered. It then undoes what the run did, so that a failed run leaves no model version
behind: the production pointer goes back to where it was, and the candidate is deleted from
the model registry and from ZenML. Its inputs are loaded inside the step, as in
``register_model``, so that an input that cannot be read is undone the same way. If the step
fails before its code runs, the next training run removes the candidate
(``steps/registry/rollback.py``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

import pandas as pd
from zenml import get_step_context, log_metadata, step
from zenml.artifacts.unmaterialized_artifact import UnmaterializedArtifact
from zenml.client import Client
from zenml.logger import get_logger

from release.production import current_production, registered_version, set_production
from steps.caching import NEVER_CACHE
from steps.registry.rollback import PROMOTION_KEY, undo_registration
from steps.stored_rows import split_rows
from tabular_classifier.errors import InputValidationError
from tabular_classifier.evaluation import EvaluationReport
from tabular_classifier.predictor import ModelBundle, Predictor
from tabular_classifier.promotion import PromotionPolicy, PromotionRecord, judge_candidate
from tabular_classifier.records import Registration
from tabular_classifier.splits import DataSplit

logger = get_logger(__name__)


@step(enable_cache=False, cache_policy=NEVER_CACHE)
def promote_model(
    registration: UnmaterializedArtifact,
    classifier: UnmaterializedArtifact,
    evaluation_report: UnmaterializedArtifact,
    raw_data: UnmaterializedArtifact,
    data_split: UnmaterializedArtifact,
    promotion_policy: PromotionPolicy,
) -> Annotated[PromotionRecord, "promotion_decision"]:
    """Compare candidate and production on rows neither trained on; promote the winner.

    See ``tabular_classifier.promotion`` for the rules (floors, degenerate guard, baseline
    margin, comparison set of at least ``min_comparison_rows`` rows).

    On promotion the candidate's ZenML model version moves to the ``production`` stage (the
    previous one is archived) and the MLflow registry alias ``champion`` moves to it
    (``previous_champion`` marks the one it replaced). Either way the decision and its numbers
    are logged as the candidate's model-version metadata under ``promotion``, before the
    production pointer moves: moving it is the step's last action.

    Args:
        registration: Output of ``register_model`` (a ``Registration``: model name and
            versions).
        classifier: The candidate (a ``ModelBundle``).
        evaluation_report: The candidate's test evaluation (an ``EvaluationReport``).
        raw_data: The ingested table (a ``pd.DataFrame``), unloaded: the test rows are read
            from its Parquet file a row group at a time (``steps/stored_rows.py``).
        data_split: Its split (a ``DataSplit``): the test rows are those both models are
            scored on.
        promotion_policy: The promotion policy, validated when the pipeline was compiled.

    Returns:
        The decision, the versions involved and the policy (the dashboard shows them as a
        table of each number against its floor or margin).

    Raises:
        Exception: Whatever failed, after the candidate's registration was undone.
    """
    candidate = _candidate()
    production = current_production(candidate.model.name) if candidate is not None else None
    try:
        bundle: ModelBundle = classifier.load()
        split: DataSplit = data_split.load()
        return _promote(
            registration.load(),
            bundle,
            evaluation_report.load(),
            split_rows(raw_data, split, ("test",), bundle.schema)["test"],
            promotion_policy,
        )
    except BaseException:
        if candidate is not None:
            _undo(candidate, production)
        raise


def _candidate() -> Any | None:
    """The model version this run created, found through ZenML's run link, not the files."""
    client = Client()
    links = client.list_model_version_pipeline_run_links(
        pipeline_run_id=get_step_context().pipeline_run.id
    ).items
    if not links:
        return None
    return client.get_model_version(None, links[0].model_version)


def _promote(
    registration: Registration,
    classifier: ModelBundle,
    evaluation_report: EvaluationReport,
    test_split: pd.DataFrame,
    policy: PromotionPolicy,
) -> PromotionRecord:
    model_name = registration.zenml_model
    candidate_version = registration.zenml_model_version
    production = current_production(model_name)
    incumbent: Predictor | None = None
    unreadable: str | None = None
    note = ""
    if production is not None and str(production.number) == str(candidate_version):
        production = None
    if production is not None:
        try:
            incumbent = Predictor(production.get_artifact("classifier").load())
        except Exception as exc:  # noqa: BLE001 - a damaged incumbent must not fail the run
            unreadable = f"{type(exc).__name__}: {exc}"
            logger.warning("Production model's classifier cannot be loaded: %s", unreadable)
    if production is not None and unreadable is not None:
        # Metrics recorded at production's registration came from other test rows: comparing
        # with them would be the biased comparison promotion exists to avoid. Keep production.
        decision = replace(
            judge_candidate(Predictor(classifier), evaluation_report, test_split, policy, None),
            promote=False,
            reason=(
                f"production version {production.number} cannot be loaded ({unreadable}), so "
                "the candidate cannot be compared with it; production is kept. If it is damaged "
                f"for good, archive it (zenml model version update {model_name} "
                f"{production.number} --stage archived) and train again: with no production "
                "version, the next candidate is judged on the policy's floors alone"
            ),
        )
    else:
        try:
            decision = judge_candidate(
                Predictor(classifier), evaluation_report, test_split, policy, incumbent
            )
        except (InputValidationError, KeyError) as exc:
            number = None if production is None else production.number
            note = f" (production version {number} cannot score these rows: {exc})"
            logger.warning("Production model cannot score the candidate's test rows: %s", exc)
            decision = judge_candidate(
                Predictor(classifier), evaluation_report, test_split, policy, None
            )
    record = PromotionRecord(
        decision=replace(decision, reason=decision.reason + note),
        model_name=model_name,
        candidate_version=str(candidate_version),
        production_version=None if production is None else str(production.number),
        policy=policy,
    )
    log_metadata(
        metadata={PROMOTION_KEY: record.to_dict()},
        model_name=model_name,
        model_version=str(candidate_version),
    )
    if decision.promote:
        set_production(model_name, str(candidate_version))
        logger.info(
            "Promoted %s version %s: %s", model_name, candidate_version, record.decision.reason
        )
    else:
        logger.info(
            "Kept %s version %s out of production: %s",
            model_name,
            candidate_version,
            record.decision.reason,
        )
    return record


def _undo(candidate: Any, production_before: Any | None) -> None:
    """Put production back where it was, then delete the candidate's registration."""
    model_name = candidate.model.name
    now = current_production(model_name)
    if (
        production_before is not None
        and now is not None
        and now.id == candidate.id
        and production_before.id != candidate.id
    ):
        try:
            set_production(model_name, str(production_before.number))
        except Exception as exc:  # noqa: BLE001 - the original error matters more
            logger.error(
                "Could not move production back to version %s of %s: %s",
                production_before.number,
                model_name,
                exc,
            )
    try:
        registry_version = registered_version(Client().get_model_version(model_name, candidate.id))
    except KeyError:
        return
    undo_registration(candidate, registry_version)
