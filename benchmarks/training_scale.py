"""Training at scale: this repository's training, in process and as a pipeline, against a bare
PyTorch script.

Issue 16 measured the training pipeline against a bare script on a synthetic N x 30 table. This
benchmark repeats that comparison at 100,000 and 1,000,000 rows (``--sizes`` for others):

- **data**: a synthetic Parquet table of N rows, 30 float64 features and a 0/1 ``target`` with
  21 % positives (a logistic model on six of the features), written once per size;
- **bare**: a plain PyTorch script, as one would write it: ``pandas.read_parquet``, a stratified
  60/20/20 split (``sklearn.model_selection.train_test_split`` twice), ``StandardScaler``, the
  MLP of ``model_config_001`` (30 -> 64 -> 32 -> 1, ReLU, dropout 0.2) as an ``nn.Sequential``,
  Adam (lr 1e-3, weight decay 1e-4), batch 1024, 3 epochs, each batch gathered by index from a
  per-epoch ``randperm``, loss read with ``.item()``, then the test ROC AUC;
- **repo**: the same work through this package, no ZenML: ``load_table``,
  ``validate_and_infer_schema``, ``split_data`` (hash split, 60/20/20), ``fit_bundle`` (row
  contract, preprocessing, training with ``model_config_001`` at batch 1024, 3 epochs, no early
  stopping, calibration), then ``evaluate`` on the test split (no logistic-regression baseline:
  the bare script has none) and ``reference_predictions`` (the monitoring reference sample);
- **pipeline**: ``zenml pipeline run pipelines.training.training_pipeline`` with the same
  hyperparameters, caching off, on the ``local`` stack in a throwaway checkout
  (``training_scale_pipeline.py``), all seven steps (the baseline, registration and promotion
  included), with its artifact bytes.

Each variant runs in its own child process, which reports its phase times and its peak RSS
(``ru_maxrss``); the parent times the whole child, imports included, and alternates the variants
over ``--repeats`` rounds (default 3), reporting medians. Training throughput is rows x epochs
over the training loop's own time (after the optimizer exists, validation included for all).
For each size with both ``bare`` and ``pipeline``, ``ratios`` holds issue 16's goals: pipeline /
bare wall time (and the same without either's training loop, which other jobs' load slows
unevenly), train step / bare loop rows/s, artifact bytes / input Parquet bytes (and the artifact
store's growth, MLflow included, / input), pipeline / bare peak RSS.

Run::

    source scripts/env.sh && .venv/bin/python -m benchmarks.training_scale   # about 10 min

Writes ``benchmarks/results/training_scale.json`` (``--results`` for another file). Offline;
the tables go to a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import training_scale_pipeline as pipeline_bench
from benchmarks.harness import (
    REPO,
    RESULTS_DIR,
    emit_result,
    machine_info,
    module_command,
    read_result,
    run_timed,
    write_results,
)

RESULTS = RESULTS_DIR / "training_scale.json"
SIZES = (100_000, 1_000_000)
VARIANTS = ("bare", "repo", "pipeline")
WARMUP_ROWS = 20_000
N_FEATURES = 30
POSITIVE_RATE = 0.21
EPOCHS = 3
BATCH_SIZE = 1024
MODEL_CONFIG = REPO / "configs" / "models-configs" / "model_config_001.yaml"


def make_table(n_rows: int, path: Path, seed: int = 0) -> None:
    """Write the synthetic table: ``f00``..``f29`` float64 and ``target`` int64 (21 % ones)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_rows, N_FEATURES))
    logit = x[:, :6] @ np.array([1.0, -0.8, 0.6, 0.5, -0.4, 0.3])
    # The intercept that gives a 21 % positive share, found on the logits themselves.
    lo, hi = -10.0, 10.0
    for _ in range(60):
        mid = (lo + hi) / 2
        share = float(np.mean(1 / (1 + np.exp(-(logit + mid)))))
        lo, hi = (mid, hi) if share < POSITIVE_RATE else (lo, mid)
    y = (rng.random(n_rows) < 1 / (1 + np.exp(-(logit + lo)))).astype(np.int64)
    frame = pd.DataFrame(x, columns=[f"f{i:02d}" for i in range(N_FEATURES)])
    frame["target"] = y
    frame.to_parquet(path, index=False)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run_bare(path: Path) -> dict[str, Any]:
    """The bare script's work; returns phase seconds, throughput, test AUC and peak RSS."""
    import numpy as np
    import pandas as pd
    import torch
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler
    from torch import nn

    times: dict[str, float] = {}
    t = time.perf_counter()
    frame = pd.read_parquet(path)
    times["load"] = time.perf_counter() - t
    t = time.perf_counter()
    features = [c for c in frame.columns if c != "target"]
    x = frame[features].to_numpy(np.float32)
    y = frame["target"].to_numpy()
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=0.2, stratify=y, random_state=0
    )
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=0.25, stratify=y_rest, random_state=0
    )
    scaler = StandardScaler().fit(x_train)
    x_train, x_val, x_test = (
        scaler.transform(a).astype(np.float32) for a in (x_train, x_val, x_test)
    )
    times["split_and_scale"] = time.perf_counter() - t

    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(len(features), 64),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(64, 32),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(32, 1),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    loss_fn = nn.BCEWithLogitsLoss()
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train.astype(np.float32))
    xv, yv = torch.from_numpy(x_val), torch.from_numpy(y_val.astype(np.float32))
    t = time.perf_counter()
    for _ in range(EPOCHS):
        model.train()
        order = torch.randperm(len(xt))
        total = 0.0
        for start in range(0, len(xt), BATCH_SIZE):
            idx = order[start : start + BATCH_SIZE]
            optimizer.zero_grad()
            loss = loss_fn(model(xt[idx]).squeeze(1), yt[idx])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        model.eval()
        with torch.no_grad():
            val_logits = model(xv).squeeze(1)
            loss_fn(val_logits, yv).item()
        roc_auc_score(y_val, val_logits.numpy())
    times["train_loop"] = time.perf_counter() - t
    t = time.perf_counter()
    with torch.no_grad():
        test_scores = torch.sigmoid(model(torch.from_numpy(x_test)).squeeze(1)).numpy()
    auc = float(roc_auc_score(y_test, test_scores))
    times["evaluate"] = time.perf_counter() - t
    return {
        "seconds": times,
        "n_train": len(x_train),
        "train_rows_per_s": EPOCHS * len(x_train) / times["train_loop"],
        "test_roc_auc": auc,
        "torch_threads": torch.get_num_threads(),
        "peak_rss_mb": _peak_rss_mb(),
    }


def run_repo(path: Path) -> dict[str, Any]:
    """The same work through this package; returns what :func:`run_bare` returns."""
    from tabular_classifier.config import DataConfig, SplitConfig, load_model_config
    from tabular_classifier.data import load_table, split_data, validate_and_infer_schema
    from tabular_classifier.evaluation import evaluate, reference_predictions
    from tabular_classifier.predictor import Predictor
    from tabular_classifier.training import fit_bundle

    times: dict[str, float] = {}
    t = time.perf_counter()
    data_cfg = DataConfig(path=str(path), target="target", positive_label=1)
    frame = load_table(data_cfg)
    times["load"] = time.perf_counter() - t
    t = time.perf_counter()
    schema = validate_and_infer_schema(frame, data_cfg, str(path))
    train, val, test = split_data(frame, schema, SplitConfig(), str(path))
    times["validate_and_split"] = time.perf_counter() - t
    cfg, _ = load_model_config(MODEL_CONFIG)
    cfg = cfg.model_copy(
        update={"epochs": EPOCHS, "batch_size": BATCH_SIZE, "early_stopping_patience": 0}
    )
    t = time.perf_counter()
    bundle, result = fit_bundle(cfg, schema, train, val)
    times["fit_bundle"] = time.perf_counter() - t
    times["train_loop"] = result.seconds
    t = time.perf_counter()
    predictor = Predictor(bundle)
    report = evaluate(predictor, test, schema)
    times["evaluate"] = time.perf_counter() - t
    t = time.perf_counter()
    reference = reference_predictions(predictor, train, schema)
    times["reference"] = time.perf_counter() - t
    return {
        "seconds": times,
        "n_train": len(train),
        "train_rows_per_s": EPOCHS * len(train) / result.seconds,
        "test_roc_auc": report.metrics["test_roc_auc"],
        "reference_rows": len(reference),
        "report_json_bytes": len(json.dumps(report.to_json_dict(), indent=1)),
        "peak_rss_mb": _peak_rss_mb(),
    }


def _child(variant: str, path: Path) -> dict[str, Any]:
    """Run one variant in its own process; its result line plus the whole process's wall time."""
    done = run_timed(
        module_command("training_scale", "--child", variant, str(path)), cwd=REPO, echo=False
    )
    result: dict[str, Any] = read_result(done.stdout)
    result["wall_s"] = done.seconds
    return result


def _medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median over repeats of wall time, training-loop time, rows/s, peak RSS, AUC (and, for the
    pipeline, artifact bytes, the wall time's phases and each step's seconds)."""
    medians: dict[str, Any] = {
        "wall_s": statistics.median(r["wall_s"] for r in runs),
        "train_loop_s": statistics.median(r["seconds"]["train_loop"] for r in runs),
        "train_rows_per_s": statistics.median(r["train_rows_per_s"] for r in runs),
        "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in runs),
        "test_roc_auc": statistics.median(r["test_roc_auc"] for r in runs),
    }
    for key in ("artifact_bytes_total", "artifact_store_growth_bytes"):
        if key in runs[0]:
            medians[key] = statistics.median(r[key] for r in runs)
    if "phases_s" in runs[0]:
        medians["phases_s"] = {
            phase: statistics.median(r["phases_s"][phase] for r in runs)
            for phase in runs[0]["phases_s"]
        }
        medians["step_seconds"] = {
            step: statistics.median(r["step_seconds"][step] for r in runs)
            for step in runs[0]["step_seconds"]
        }
    return medians


def _ratios(row: dict[str, Any]) -> dict[str, float]:
    """Issue 16's goals as ratios: pipeline against bare, artifacts against the input."""
    bare, pipeline = row["median"]["bare"], row["median"]["pipeline"]
    return {
        "pipeline_over_bare_wall": pipeline["wall_s"] / bare["wall_s"],
        # Everything but the training loops: robust to a loop slowed by other jobs' load.
        "pipeline_over_bare_wall_outside_loop": (pipeline["wall_s"] - pipeline["train_loop_s"])
        / (bare["wall_s"] - bare["train_loop_s"]),
        "train_step_over_bare_rows_per_s": pipeline["train_rows_per_s"] / bare["train_rows_per_s"],
        "artifacts_over_input": pipeline["artifact_bytes_total"] / row["parquet_bytes"],
        "store_growth_over_input": pipeline["artifact_store_growth_bytes"] / row["parquet_bytes"],
        "pipeline_over_bare_peak_rss": pipeline["peak_rss_mb"] / bare["peak_rss_mb"],
        # The pipeline's time outside its steps (CLI start, imports, store, compiling, the
        # orchestrator's bookkeeping, exit) against the bare script's whole run.
        "pipeline_outside_steps_over_bare_wall": (
            pipeline["wall_s"] - pipeline["phases_s"]["steps"]
        )
        / bare["wall_s"],
    }


def main() -> None:
    """Run the variants at each size; print a table and write the results JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", nargs=2, metavar=("VARIANT", "PATH"))
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.child:
        variant, path = args.child
        emit_result(run_bare(Path(path)) if variant == "bare" else run_repo(Path(path)))
        return

    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        **machine_info("python", "cpus"),
        "epochs": EPOCHS,
        "batch_size": BATCH_SIZE,
        "repeats": args.repeats,
        "runs": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        if "pipeline" in args.variants:
            checkout, env = pipeline_bench.prepare(Path(tmp) / "pipeline", EPOCHS, BATCH_SIZE)
        for n_rows in args.sizes:
            path = Path(tmp) / f"table_{n_rows}.parquet"
            make_table(n_rows, path)
            row: dict[str, Any] = {"parquet_bytes": path.stat().st_size}
            row.update({variant: [] for variant in args.variants})
            if "pipeline" in args.variants and not results["runs"]:
                # Untimed, on a small table: pays MLflow's one-off schema migrations.
                warmup = Path(tmp) / "warmup.parquet"
                make_table(WARMUP_ROWS, warmup)
                pipeline_bench.run_child(checkout, env, warmup, "scale_warmup", EPOCHS)
            for repeat in range(args.repeats):  # alternating, so that load changes hit all
                for variant in args.variants:
                    if variant == "pipeline":
                        name = f"scale_{n_rows}_{repeat}"
                        out = pipeline_bench.run_child(checkout, env, path, name, EPOCHS)
                        out["seconds"] = {"train_loop": out["training_seconds"]}
                    else:
                        out = _child(variant, path)
                    row[variant].append(out)
                    print(f"{n_rows} {variant}: {json.dumps(out)}", flush=True)
            row["median"] = {v: _medians(row[v]) for v in args.variants}
            if {"bare", "pipeline"} <= set(args.variants):
                row["ratios"] = _ratios(row)
            results["runs"][str(n_rows)] = row
            path.unlink()
    write_results(args.results, results)
    print(
        "\n| rows | variant | wall (s) | train loop (s) | train rows/s | peak RSS (MB) | test AUC |"
    )
    print("|---|---|---|---|---|---|---|")
    for n_rows, row in results["runs"].items():
        for variant in args.variants:
            r = row["median"][variant]
            print(
                f"| {int(n_rows):,} | {variant} | {r['wall_s']:.1f} | "
                f"{r['train_loop_s']:.2f} | {r['train_rows_per_s']:,.0f} | "
                f"{r['peak_rss_mb']:,.0f} | {r['test_roc_auc']:.4f} |"
            )
        if "ratios" in row:
            print(f"{n_rows} ratios: {json.dumps(row['ratios'])}")
        if "pipeline" in row["median"]:
            print(f"{n_rows} pipeline phases (s): {json.dumps(row['median']['pipeline'])}")
    print(f"\nwrote {args.results}")


if __name__ == "__main__":
    main()
