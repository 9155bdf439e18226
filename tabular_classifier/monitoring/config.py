"""The monitoring configuration (``parameters.monitoring`` in ``configs/monitoring.yaml``).

Every threshold has a default; where the default is Evidently's, ``None`` means "let Evidently
choose", so the report uses exactly the test Evidently would pick and the summary records which
one it was. Evidently 0.7's choice (``evidently.legacy.calculations.stattests.registry.
_get_default_stattest``), per column, from the *reference* data's size:

- reference <= 1,000 rows: numeric columns with > 5 distinct values use the two-sample
  Kolmogorov-Smirnov test (``ks``, drift when p < 0.05); categorical and low-cardinality columns
  use chi-squared (``chisquare``, p < 0.05), or the two-proportion Z-test (``z``) for 2 values;
- reference > 1,000 rows: numeric columns use the normed Wasserstein distance (``wasserstein``,
  drift when >= 0.1), categorical ones the Jensen-Shannon distance (``jensenshannon``, >= 0.1).

Dataset drift is declared when the share of drifted feature columns is at least ``drift_share``
(Evidently's ``DatasetDriftMetric`` default: 0.5).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tabular_classifier.config_files import config_error

OnDrift = Literal["alert", "retrain"]
LIVE_METRICS = ("accuracy", "roc_auc", "precision", "recall")
# Evidently tests whose score is unbounded (a threshold of 1 or more is meaningful). Every other
# test returns a p-value or a distance in [0, 1], so its threshold must be below 1.
UNBOUNDED_STATTESTS = frozenset({"wasserstein", "ed", "kl_div", "psi"})


def known_stattests() -> list[str]:
    """The statistical tests registered in this Evidently installation, by name."""
    from evidently.legacy.calculations.stattests import registry

    return sorted(registry._registered_stat_tests)


class WindowConfig(BaseModel):
    """Which rows are the current data.

    Either the prediction log (``log_dir``, default: the serving state's ``predictions/``) filtered
    by ``since``/``until`` and/or the newest ``last_n`` rows, or a single CSV/Parquet ``path``.

    Attributes:
        last_n: Keep only the newest N rows (after the time filter).
        since: Keep rows with timestamp >= since (ISO 8601; naive times are UTC).
        until: Keep rows with timestamp < until.
        path: A CSV or Parquet file with the feature columns, ``probability`` and ``label``
            (a prediction-log export) instead of the prediction log.
        log_dir: The prediction-log directory (default: ``serving.prediction_log``'s).
        model_version: Monitor this model version's predictions; default: the version that made
            the newest prediction in the window. Rows of other versions are left out.
        min_rows: Below this many rows the result is "insufficient_data": no drift verdict and
            no drift alert (our default, 50: below it the KS test cannot see a shift of half a
            standard deviation reliably against a few hundred reference rows).
        max_rows: Rows above this are sampled uniformly at random (without replacement, fixed
            ``sample_seed``) before Evidently runs; ``None`` disables sampling. See the README's
            monitoring section for the effect on detection power.
        sample_seed: Seed of that sample.
    """

    model_config = ConfigDict(extra="forbid")

    last_n: int | None = Field(default=None, gt=0)
    since: datetime | None = None
    until: datetime | None = None
    path: str | None = None
    log_dir: str | None = None
    model_version: str | None = None
    min_rows: int = Field(default=50, ge=2)
    max_rows: int | None = Field(default=200_000, ge=100)
    sample_seed: int = 0

    @field_validator("since", "until")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    @field_validator("model_version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value

    @model_validator(mode="after")
    def _consistent(self) -> WindowConfig:
        if self.path and self.log_dir:
            raise ValueError("give either 'path' (a file) or 'log_dir' (the prediction log)")
        if self.since and self.until and self.since >= self.until:
            raise ValueError(f"'since' ({self.since}) must be before 'until' ({self.until})")
        return self


class DriftConfig(BaseModel):
    """Drift tests and thresholds; ``None`` = Evidently's default (see the module docstring).

    Attributes:
        num_stattest: Test for numeric features (e.g. ``ks``, ``wasserstein``, ``psi``).
        cat_stattest: Test for categorical features (e.g. ``chisquare``, ``jensenshannon``).
        num_stattest_threshold: Its threshold (a p-value for tests, a distance for distances).
        cat_stattest_threshold: The same for categorical features.
        drift_share: Share of drifted features at which the dataset counts as drifted
            (Evidently default 0.5).
        prediction_stattest: Test for the predicted probability (a numeric column).
        prediction_threshold: Its threshold.
        label_stattest: Test for the predicted label (share of positives; binary column:
            Evidently picks the Z-test on small references, Jensen-Shannon on large ones).
        label_threshold: Its threshold.
    """

    model_config = ConfigDict(extra="forbid")

    num_stattest: str | None = None
    cat_stattest: str | None = None
    num_stattest_threshold: float | None = Field(default=None, gt=0)
    cat_stattest_threshold: float | None = Field(default=None, gt=0)
    drift_share: float = Field(default=0.5, gt=0, le=1)
    prediction_stattest: str | None = None
    prediction_threshold: float | None = Field(default=None, gt=0)
    label_stattest: str | None = None
    label_threshold: float | None = Field(default=None, gt=0)

    @field_validator("num_stattest", "cat_stattest", "prediction_stattest", "label_stattest")
    @classmethod
    def _known(cls, value: str | None) -> str | None:
        if value is not None:
            known = known_stattests()
            if value not in known:
                raise ValueError(f"unknown statistical test '{value}'; Evidently knows {known}")
        return value

    @model_validator(mode="after")
    def _thresholds_in_range(self) -> DriftConfig:
        pairs = (
            ("num_stattest", "num_stattest_threshold"),
            ("cat_stattest", "cat_stattest_threshold"),
            ("prediction_stattest", "prediction_threshold"),
            ("label_stattest", "label_threshold"),
        )
        for test_key, threshold_key in pairs:
            test, threshold = getattr(self, test_key), getattr(self, threshold_key)
            if threshold is not None and threshold >= 1 and test not in UNBOUNDED_STATTESTS:
                chosen = f"'{test}'" if test else "Evidently's default test"
                raise ValueError(
                    f"{threshold_key} = {threshold}: {chosen} scores a p-value or a distance in "
                    "[0, 1], so the threshold must be below 1 (at or above it, every column "
                    "would drift)"
                )
        return self


class LatencyConfig(BaseModel):
    """The latency SLO of served predictions, in milliseconds per request (``None`` = not set).

    Attributes:
        p50_ms: Median request latency must stay at or below this.
        p95_ms: 95th percentile.
        p99_ms: 99th percentile (default 250 ms: ten times the gateway's measured unloaded p99,
            see ``benchmarks/results/serving_latency.json``).
        min_requests: Fewer served requests than this in the window: no latency verdict.
    """

    model_config = ConfigDict(extra="forbid")

    p50_ms: float | None = Field(default=None, gt=0)
    p95_ms: float | None = Field(default=None, gt=0)
    p99_ms: float | None = Field(default=250.0, gt=0)
    min_requests: int = Field(default=20, ge=1)


class DegradationConfig(BaseModel):
    """Live quality from ground-truth labels joined to logged predictions by prediction id.

    Attributes:
        labels_path: CSV or Parquet with ``id_column`` and ``label_column``; ``None`` = skip.
        id_column: The prediction id (``prediction_id`` in the prediction log).
        label_column: The true class, in the training data's label values.
        tolerance: Alert when a live metric is below the model version's test metric by more
            than this (absolute, e.g. 0.05 = five points of accuracy).
        min_rows: Fewer labelled predictions than this: no degradation verdict.
    """

    model_config = ConfigDict(extra="forbid")

    labels_path: str | None = None
    id_column: str = "prediction_id"
    label_column: str = "actual"
    tolerance: float = Field(default=0.05, ge=0, lt=1)
    min_rows: int = Field(default=30, ge=2)


class RetrainConfig(BaseModel):
    """What ``on_drift: retrain`` runs.

    Attributes:
        config_path: The training pipeline's run config.
        timeout_s: Seconds to wait for the training run before giving up on it.
    """

    model_config = ConfigDict(extra="forbid")

    config_path: str = "configs/training.yaml"
    timeout_s: float = Field(default=1800.0, gt=0)


class MonitoringConfig(BaseModel):
    """The whole ``monitoring`` parameter.

    Attributes:
        model_name: The ZenML model whose predictions are monitored.
        window: Which rows are the current data.
        drift: Drift tests and thresholds.
        latency: The latency SLO.
        degradation: Ground-truth labels and the tolerated drop.
        on_drift: ``alert`` (default) or ``retrain`` (alert, then run the training pipeline).
        retrain: What ``retrain`` runs.
    """

    model_config = ConfigDict(extra="forbid")

    model_name: str = Field(min_length=1)
    window: WindowConfig = Field(default_factory=WindowConfig)
    drift: DriftConfig = Field(default_factory=DriftConfig)
    latency: LatencyConfig = Field(default_factory=LatencyConfig)
    degradation: DegradationConfig = Field(default_factory=DegradationConfig)
    on_drift: OnDrift = "alert"
    retrain: RetrainConfig = Field(default_factory=RetrainConfig)


def load_monitoring_config(raw: Any, source: str) -> MonitoringConfig:
    """Validate a ``monitoring`` mapping.

    Args:
        raw: The mapping (from YAML or a pipeline parameter).
        source: Where it came from, for the message (file name or parameter name).

    Returns:
        The validated configuration.

    Raises:
        ConfigError: Naming ``source`` and every offending field (dotted path) with the reason.
    """
    if isinstance(raw, MonitoringConfig):
        return raw
    try:
        return MonitoringConfig.model_validate(raw)
    except ValidationError as exc:
        # Every bad key in one message, a misspelt one with the closest field name.
        raise config_error(source, exc, MonitoringConfig) from None
