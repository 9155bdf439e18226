"""Materializer for the promotion decision (:class:`tabular_classifier.promotion.PromotionRecord`).

Layout under the artifact URI: ``decision.json`` (the record, JSON; the same dict is the
candidate model version's ``promotion`` metadata) and ``decision.md``, the dashboard's view: the
verdict, then each rule of the policy with the candidate's number, the threshold it had to
clear and whether it did.
"""

from __future__ import annotations

from typing import Any, ClassVar

from zenml.metadata.metadata_types import MetadataType

from materializers.json_record import JsonRecordMaterializer
from tabular_classifier.promotion import PromotionRecord

DECISION_JSON = "decision.json"
DECISION_MARKDOWN = "decision.md"


def _pass(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _stage(record: PromotionRecord) -> str:
    if record.decision.promote:
        return (
            f"Stage: version {record.candidate_version} is now the **production** stage of the "
            "ZenML model (MLflow registry alias `champion`)."
        )
    if record.production_version:
        return f"Stage: unchanged (version {record.production_version} stays production)."
    return "Stage: unchanged (no production version)."


def promotion_markdown(record: PromotionRecord) -> str:
    """The promotion decision as Markdown.

    Args:
        record: The decision, the versions and the policy.

    Returns:
        Markdown text: the verdict and reason; a table of the rules (accuracy floor, ROC AUC
        floor, margin over production) with the candidate's value, the threshold and whether
        it was met; and both models' test metrics side by side.
    """
    decision, policy = record.decision, record.policy
    candidate = decision.candidate_metrics
    verdict = "promoted to production" if decision.promote else "kept out of production"
    lines = [
        f"# Promotion: {record.model_name} version {record.candidate_version} {verdict}",
        "",
        f"Reason: {decision.reason}.",
        "",
        _stage(record),
        "",
        "| rule | candidate | threshold | met |",
        "|---|---|---|---|",
    ]
    accuracy, roc_auc = candidate.get("test_accuracy"), candidate.get("test_roc_auc")
    if accuracy is not None:
        lines.append(
            f"| test_accuracy >= min_accuracy | {accuracy:.4f} | {policy.min_accuracy:g} | "
            f"{_pass(accuracy >= policy.min_accuracy)} |"
        )
    if roc_auc is not None:
        lines.append(
            f"| test_roc_auc >= min_roc_auc | {roc_auc:.4f} | {policy.min_roc_auc:g} | "
            f"{_pass(roc_auc >= policy.min_roc_auc)} |"
        )
    lines.append(
        f"| not degenerate | {decision.degenerate or 'no'} | one class for < 99 % of rows, "
        f"recall and precision > 0 | {_pass(not decision.degenerate)} |"
    )
    baseline = (decision.baseline_metrics or {}).get(decision.metric)
    if policy.min_gain_over_baseline is not None:
        own = candidate.get(decision.metric)
        met = baseline is not None and own is not None
        bar_text = (
            "no baseline"
            if baseline is None
            else (f"{baseline:.4f} + {policy.min_gain_over_baseline:g}")
        )
        lines.append(
            f"| {decision.metric} >= baseline + min_gain_over_baseline | "
            f"{'' if own is None else f'{own:.4f}'} | {bar_text} | "
            f"{_pass(met and own >= baseline + policy.min_gain_over_baseline)} |"  # type: ignore[operator]
        )
    comparison = decision.comparison
    if comparison is not None:
        enough = comparison["rows"] >= policy.min_comparison_rows
        lines.append(
            f"| comparison rows >= min_comparison_rows | {comparison['rows']} | "
            f"{policy.min_comparison_rows} | {_pass(enough)} |"
        )
    if decision.production_value is None:
        lines.append(
            f"| {decision.metric} > production + min_improvement | "
            f"{decision.candidate_value:.4f} | no production version to beat | yes |"
        )
    else:
        bar = decision.production_value + policy.min_improvement
        lines.append(
            f"| {decision.metric} > production (version {record.production_version}) + "
            f"min_improvement | {decision.candidate_value:.4f} | "
            f"{decision.production_value:.4f} + {policy.min_improvement:g} = {bar:.4f} | "
            f"{_pass(decision.candidate_value > bar)} |"
        )
    if comparison is not None:
        lines += [
            "",
            f"Comparison set: {comparison['rows']} of the candidate's test rows that production's "
            f"split (random_state {(comparison['production_split'] or {}).get('random_state')}) "
            "also held out; fingerprint `"
            + str(comparison["fingerprint"])[:16]
            + "`"
            + (f". {comparison['note']}" if comparison.get("note") else "")
            + ".",
        ]
    production = decision.production_metrics or {}
    on_rows = decision.candidate_comparison_metrics or {}
    lines += [
        "",
        "## Test metrics",
        "",
        f"| metric | candidate (version {record.candidate_version}), test split | "
        "candidate, comparison rows | production"
        + (f" (version {record.production_version}), comparison rows |" if production else " |")
        + " baseline (logistic regression), test split |",
        "|---|---|---|---|---|",
    ]
    baselines = decision.baseline_metrics or {}

    def cell(value: float | None) -> str:
        return "" if value is None else f"{value:.4f}"

    for metric, value in candidate.items():
        lines.append(
            f"| {metric} | {value:.4f} | {cell(on_rows.get(metric))} | "
            f"{cell(production.get(metric))} | {cell(baselines.get(metric))} |"
        )
    return "\n".join(lines) + "\n"


class PromotionRecordMaterializer(JsonRecordMaterializer):
    """Saves and loads :class:`PromotionRecord` as JSON + Markdown."""

    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (PromotionRecord,)
    JSON_NAME: ClassVar[str] = DECISION_JSON
    MARKDOWN_NAME: ClassVar[str] = DECISION_MARKDOWN
    RECORD_KIND: ClassVar[str] = "promotion decision"

    def load(self, data_type: type[Any]) -> PromotionRecord:
        """Read the record back.

        Args:
            data_type: ``PromotionRecord``.

        Returns:
            The record.

        Raises:
            FileNotFoundError: If ``decision.json`` is missing under the artifact URI.
        """
        return PromotionRecord.from_dict(self.read_json())

    def markdown(self, data: PromotionRecord) -> str:
        """The verdict and each rule of the policy (:func:`promotion_markdown`)."""
        return promotion_markdown(data)

    def extract_metadata(self, data: PromotionRecord) -> dict[str, MetadataType]:
        """The verdict and the compared numbers, shown beside the artifact.

        Args:
            data: The record.

        Returns:
            ``promote``, ``metric``, ``candidate_value``, ``production_value`` (only when there
            was a production version), ``candidate_version``, ``production_version`` and
            ``stage`` (``production`` when promoted, else ``unchanged``).
        """
        metadata: dict[str, MetadataType] = {
            "promote": data.decision.promote,
            "metric": data.decision.metric,
            "candidate_value": data.decision.candidate_value,
            "candidate_version": data.candidate_version,
            "production_version": str(data.production_version),
            "stage": "production" if data.decision.promote else "unchanged",
        }
        if data.decision.production_value is not None:
            metadata["production_value"] = data.decision.production_value
        return metadata
