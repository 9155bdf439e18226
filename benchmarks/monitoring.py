"""Benchmark: the monitoring pipeline against plain Evidently, at 10k, 100k and 1M rows.

In a temporary copy of the checkout, on an isolated ZenML store (its own ``ZENML_CONFIG_PATH``),
it runs the quickstart's commands once (``zenml init``, the ``local`` stack, the data, the
training pipeline: ``breast_cancer_classifier`` version 1, 30 numeric features), exports that
version's ``classifier`` bundle and ``reference_data``, then for each window size builds a
realistic current window and measures four ways of monitoring it.

The window (one prediction-log Parquet file, ``batch-bench.parquet``, in its own log dir): rows
of ``data/breast_cancer.csv`` drawn with replacement plus Gaussian jitter (5 % of each column's
standard deviation, clipped at 0 for columns that are never negative), scored by the real model
version's ``Predictor``; served rows (``source = serving``) spread over 24 hours of
Poisson arrivals, log-normal latencies (median 8 ms, p99 about 25 ms), UUID ids.

Measurements, each in a fresh process (so peak memory is per measurement), run one after the
other under a wall-clock limit and a memory guard (the process tree is killed above it and the
result recorded as such):

  * ``pipeline_sampled``: ``zenml pipeline run pipelines.monitoring.monitoring_pipeline -c CFG``
    with ``configs/monitoring.yaml`` where ``window.log_dir`` is the window's dir and
    ``window.last_n`` is null (the whole window), default ``max_rows`` (200,000);
  * ``pipeline_full``: the same with ``max_rows: null`` (no sampling);
  * ``in_process``: ``read_window`` + ``build_report`` + ``as_dict`` + ``summarize`` (what the
    steps compute, without ZenML), ``max_rows: null``; ``get_html`` timed after it, apart;
  * ``evidently``: the floor, ``build_report`` (plain legacy ``Report.run``, the same metrics)
    on the same full window already in memory; import and load times reported apart.

Wall time is the process's whole life (imports included) measured by the parent; peak memory is
the process's ``ru_maxrss`` from ``wait4`` (the largest single process of the tree) and the
largest sum of RSS over the process tree, sampled every 0.2 s from /proc. For the pipelines it
also reads each step's start/end time from the ZenML run, and the drift summary artifact.

Finally, on a drifted 1M window (+0.2 standard deviation in three columns) it runs the
in-process monitoring with and without sampling and compares the verdicts and scores.

Writes ``benchmarks/results/monitoring.json`` and prints Markdown tables. Nothing is served;
every process started here is stopped; the temporary copy and store are deleted.

Usage: python -m benchmarks.monitoring [--sizes 10000,100000,1000000] [--timeout 1200]
       [--mem-limit-gib 16] [--no-drift-check] [--keep-work]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from benchmarks.harness import (
    BIN,
    REPO,
    RESULTS_DIR,
    ResultMissing,
    checkout_env,
    emit_result,
    git_state,
    load_average,
    machine_info,
    module_command,
    package_versions,
    read_result,
    run_timed,
    write_results,
)
from scripts.isolated_checkout import copy_checkout

RESULTS = RESULTS_DIR / "monitoring.json"
MODEL_NAME = "breast_cancer_classifier"
PIPELINE = "pipelines.monitoring.monitoring_pipeline"
STEPS = ("load_current_window", "detect_drift", "check_service_health", "send_alerts")
SIZES = (10_000, 100_000, 1_000_000)
DEFAULT_MAX_ROWS = 200_000
JITTER = 0.05  # Gaussian noise, as a fraction of each column's standard deviation
DRIFT_SHIFT = 0.2  # the drifted window: + this many standard deviations ...
DRIFT_COLUMNS = ("mean radius", "mean texture", "mean smoothness")  # ... in these columns
TARGET_RATIO = 1.3
SETUP_TIMEOUT_S = 1200  # per setup command (the quickstart's training pipeline takes about 20 s)
VERSIONS = ("zenml", "mlflow", "evidently", "pandas", "numpy", "pyarrow", "scipy", "torch")


# --------------------------------------------------------------------------- child modes
# Each runs in a fresh process (cwd: the checkout copy) and prints one RESULT_TAG line.


def _generate(args: dict[str, Any]) -> None:
    """Build and write one window: features drawn from the data, scored by the real model."""
    import uuid

    import numpy as np
    import pandas as pd

    from tabular_classifier.predictor import Predictor

    start = time.perf_counter()
    n, seed = int(args["rows"]), int(args["seed"])
    shift = dict(args.get("shift") or {})
    rng = np.random.default_rng(seed)
    data = pd.read_csv(args["data"]).drop(columns=[args["target"]])
    predictor = Predictor.from_directory(args["bundle"])
    schema = predictor.bundle.schema
    features = list(schema.feature_columns)
    source = data[features].to_numpy(dtype=np.float64)
    std = source.std(axis=0)
    nonnegative = source.min(axis=0) >= 0
    shifted_idx = [features.index(c) for c in shift]

    rows = source[rng.integers(0, len(source), size=n)]
    rows += rng.normal(size=rows.shape) * (JITTER * std)
    rows = np.where(nonnegative & (rows < 0), 0.0, rows)
    for column, index in zip(shift, shifted_idx, strict=True):
        rows[:, index] += float(shift[column]) * std[index]
    frame = pd.DataFrame(rows, columns=features)

    probability = np.concatenate(
        [predictor.predict_proba(frame.iloc[i : i + 100_000]) for i in range(0, n, 100_000)]
    )
    positive = probability >= predictor.bundle.decision_threshold
    labels = np.where(positive, str(schema.positive_label), str(schema.negative_label))

    span_ns = 24 * 3600 * 10**9
    end_ns = np.datetime64("2026-11-30T00:00:00", "ns").astype(np.int64)
    stamps = np.sort(rng.integers(end_ns - span_ns, end_ns, size=n)).astype("datetime64[ns]")
    frame["prediction_id"] = [uuid.UUID(int=int(x), version=4).hex for x in _u128(rng, n)]
    frame["request_id"] = [uuid.UUID(int=int(x), version=4).hex for x in _u128(rng, n)]
    frame["timestamp"] = np.datetime_as_string(stamps, unit="us", timezone="UTC")
    frame["source"] = "serving"
    frame["model_name"] = MODEL_NAME
    frame["model_version"] = str(args["model_version"])
    frame["probability"] = probability.astype(np.float64)
    frame["label"] = labels.astype(object)
    frame["latency_ms"] = rng.lognormal(mean=np.log(8.0), sigma=0.5, size=n)

    log_dir = Path(args["log_dir"])
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / "batch-bench.parquet"
    # The layout batch inference writes (serving.prediction_log.write_batch): 100k-row groups.
    frame.to_parquet(path, index=False, row_group_size=100_000)
    emit_result(
        {
            "path": str(path),
            "rows": n,
            "columns": frame.shape[1],
            "features": len(features),
            "file_mib": path.stat().st_size / 2**20,
            "positive_share": float(positive.mean()),
            "shift": shift,
            "seconds": time.perf_counter() - start,
        }
    )


def _u128(rng: Any, n: int) -> list[int]:
    """``n`` random 128-bit integers (reproducible UUIDs)."""
    import numpy as np

    halves = rng.integers(0, np.iinfo(np.uint64).max, size=(n, 2), dtype=np.uint64, endpoint=True)
    return [(int(hi) << 64) | int(lo) for hi, lo in halves.tolist()]


def _monitoring_inputs(args: dict[str, Any]) -> tuple[Any, list[str], list[str], Any]:
    from tabular_classifier.monitoring.config import load_monitoring_config

    cfg = load_monitoring_config(args["monitoring"], "benchmark")
    meta = json.loads(Path(args["schema"]).read_text())
    return cfg, list(meta["numeric"]), list(meta["categorical"]), meta


def _reference(path: str, numeric: list[str], categorical: list[str]) -> Any:
    """The reference exactly as the ``detect_drift`` step prepares it."""
    import pandas as pd

    from tabular_classifier.monitoring.window import REFERENCE_LABEL, REFERENCE_PROBABILITY

    columns = [*numeric, *categorical, REFERENCE_PROBABILITY, REFERENCE_LABEL]
    reference = pd.read_parquet(path)[columns].copy()
    reference[REFERENCE_LABEL] = reference[REFERENCE_LABEL].astype(str)
    return reference, columns


def _summary_digest(summary: Any, columns: list[str]) -> dict[str, Any]:
    data = summary.to_dict()
    return {
        "status": data["status"],
        "dataset_drift": data["dataset_drift"],
        "share_of_drifted_columns": data["share_of_drifted_columns"],
        "drifted_columns": data["drifted_columns"],
        "prediction_drift": data["prediction_drift"],
        "prediction": data["prediction"],
        "rows_in_window": data["window"]["rows_in_window"],
        "rows_used": data["window"]["rows_used"],
        "sampled": data["window"]["sampled"],
        "columns": {c: data["columns"][c] for c in columns if c in data["columns"]},
        "out_of_range_columns": len(data["data_quality"].get("out_of_range", {})),
        "message": data["message"],
    }


def _in_process(args: dict[str, Any]) -> None:
    """What the steps compute, without ZenML: read_window, Report.run, as_dict, summarize."""
    t0 = time.perf_counter()
    from tabular_classifier.monitoring.drift import build_report, metric_specs, summarize
    from tabular_classifier.monitoring.window import read_window
    from tabular_classifier.predictor import ModelBundle

    cfg, numeric, categorical, meta = _monitoring_inputs(args)
    reference, columns = _reference(args["reference"], numeric, categorical)
    # The exported version's row contract, as load_current_window gets it from the classifier.
    contract = ModelBundle.load(Path(args["schema"]).parent / "bundle").contract
    t1, c1 = time.perf_counter(), time.process_time()
    window, info = read_window(cfg.window, Path(cfg.window.log_dir), lambda _v: contract)
    t2 = time.perf_counter()
    current = window[columns]
    report = build_report(
        reference, current, metric_specs(numeric, categorical, cfg.drift), numeric, categorical
    )
    t3 = time.perf_counter()
    summary = summarize(
        report.as_dict(),
        model_name=cfg.model_name,
        model_version=info.model_version,
        window=info.to_dict(),
        reference=reference,
        current=current,
        positive_label=str(meta["positive_label"]),
        cfg=cfg.drift,
    )
    t4, c4 = time.perf_counter(), time.process_time()
    html_bytes = len(report.get_html()) if args.get("html") else None
    t5 = time.perf_counter()
    emit_result(
        {
            "import_and_reference_s": t1 - t0,
            "read_window_s": t2 - t1,
            "report_run_s": t3 - t2,
            "as_dict_and_summarize_s": t4 - t3,
            "work_s": t4 - t1,
            "work_cpu_s": c4 - c1,
            "get_html_s": (t5 - t4) if html_bytes is not None else None,
            "html_mib": html_bytes / 2**20 if html_bytes is not None else None,
            "window_memory_mib": float(window.memory_usage(deep=True).sum()) / 2**20,
            "summary": _summary_digest(summary, list(args.get("watch") or [])),
        }
    )


def _floor(args: dict[str, Any]) -> None:
    """Plain Evidently on the full window already in memory: Report.run timed alone."""
    t0 = time.perf_counter()
    import pandas as pd

    from tabular_classifier.monitoring.drift import build_report, metric_specs

    t1 = time.perf_counter()
    cfg, numeric, categorical, _meta = _monitoring_inputs(args)
    reference, columns = _reference(args["reference"], numeric, categorical)
    current = pd.read_parquet(args["window"], columns=[*numeric, "probability", "label"])
    current = current.rename(
        columns={"probability": "prediction_probability", "label": "prediction_label"}
    )[columns]
    current["prediction_label"] = current["prediction_label"].astype(str)
    t2, c2 = time.perf_counter(), time.process_time()
    build_report(
        reference, current, metric_specs(numeric, categorical, cfg.drift), numeric, categorical
    )
    t3, c3 = time.perf_counter(), time.process_time()
    emit_result(
        {
            "import_s": t1 - t0,
            "load_s": t2 - t1,
            "report_run_s": t3 - t2,
            "report_run_cpu_s": c3 - c2,
            "rows": len(current),
        }
    )


_EXPORT = """
import json, sys
from zenml.client import Client
from zenml.enums import ModelStages


def export():
    version = Client().get_model_version(sys.argv[1], ModelStages.LATEST)
    bundle = version.get_artifact("classifier").load()
    bundle.save(sys.argv[2] + "/bundle")
    version.get_artifact("reference_data").load().to_parquet(sys.argv[2] + "/reference.parquet")
    schema = bundle.schema
    json.dump({"model_version": str(version.number), "numeric": list(schema.numeric_features),
               "categorical": list(schema.categorical_features),
               "positive_label": str(schema.positive_label),
               "negative_label": str(schema.negative_label)},
              open(sys.argv[2] + "/schema.json", "w"))


export()
"""

_RUNS = """
import sys
from zenml.client import Client

from benchmarks.harness import emit_result


def collect_runs():
    client = Client()
    out = {}
    for name in sys.argv[1:]:
        try:
            run = client.get_pipeline_run(name)
        except KeyError:
            out[name] = None
            continue
        steps = {}
        for step_name, step in run.steps.items():
            if step.start_time and step.end_time:
                steps[step_name] = {"start": step.start_time.isoformat(),
                                    "end": step.end_time.isoformat(),
                                    "seconds": (step.end_time - step.start_time).total_seconds(),
                                    "status": str(step.status)}
        summary = None
        if "detect_drift" in run.steps and str(run.status).endswith("completed"):
            s = run.steps["detect_drift"].outputs["drift_summary"][0].load().to_dict()
            summary = {k: s[k] for k in ("status", "dataset_drift", "share_of_drifted_columns",
                                         "drifted_columns", "prediction_drift", "message")}
            summary.update({k: s["window"][k] for k in ("rows_in_window", "rows_used", "sampled")})
            summary["prediction"] = s["prediction"]
            summary["columns"] = s["columns"]
        out[name] = {"status": str(run.status),
                     "start": run.start_time.isoformat() if run.start_time else None,
                     "end": run.end_time.isoformat() if run.end_time else None,
                     "steps": steps, "summary": summary}
    emit_result(out)


collect_runs()
"""


# --------------------------------------------------------------------------- measuring


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _tree_rss(pid: int) -> int:
    """Sum of RSS (bytes) of ``pid`` and its descendants."""
    tree = _children()
    total, todo = 0, [pid]
    page = os.sysconf("SC_PAGE_SIZE")
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/statm") as handle:
                total += int(handle.read().split()[1]) * page
        except OSError:
            pass
        todo += tree.get(current, [])
    return total


def _measure(
    cmd: list[str], env: dict[str, str], cwd: Path, log: Path, timeout: float, mem_limit: int
) -> dict[str, Any]:
    """Run ``cmd`` in a new session; wall time, peak memory and its RESULT_TAG payload."""
    print(f"  $ {' '.join(cmd[:6])}{' ...' if len(cmd) > 6 else ''}", flush=True)
    out_path = log.with_suffix(".out")
    with out_path.open("wb") as out:
        start = time.perf_counter()
        process = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        peak_tree, killed = 0, None
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            elapsed = time.perf_counter() - start
            peak_tree = max(peak_tree, _tree_rss(process.pid))
            if killed is None and (elapsed > timeout or peak_tree > mem_limit):
                killed = "timeout" if elapsed > timeout else "memory limit"
                os.killpg(process.pid, signal.SIGKILL)
            time.sleep(0.2)
        wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    text = out_path.read_text(errors="replace")
    try:
        payload = read_result(text)
    except ResultMissing:
        payload = None
    try:
        os.killpg(process.pid, signal.SIGKILL)  # leftovers of the session, if any
    except ProcessLookupError:
        pass
    result = {
        "wall_s": wall,
        "returncode": process.returncode,
        "killed": killed,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "max_rss_mib": usage.ru_maxrss / 1024,
        "tree_rss_peak_mib": peak_tree / 2**20,
        "result": payload,
        "log": str(out_path),
    }
    state = f"killed ({killed})" if killed else f"rc {process.returncode}"
    print(
        f"    {wall:.1f} s ({result['cpu_s']:.1f} s CPU), max RSS {result['max_rss_mib']:.0f} "
        f"MiB, tree peak {result['tree_rss_peak_mib']:.0f} MiB, {state}",
        flush=True,
    )
    if process.returncode != 0 and not killed:
        result["error_tail"] = text[-3000:]
        print(text[-3000:], flush=True)
    return result


# --------------------------------------------------------------------------- orchestration


def _setup(work: Path, env: dict[str, str]) -> tuple[Path, dict[str, Any], float]:
    """The quickstart in the copy (without its `uv sync`), then export the model version."""
    repo = copy_checkout(work / "repo")
    (work / "tmp").mkdir()
    log = work / "setup.log"
    python, zenml = str(BIN / "python"), str(BIN / "zenml")
    start = time.perf_counter()
    for cmd in (
        [zenml, "init"],
        [python, "-m", "stacks", "apply", "stacks/local.yaml"],
        [python, "-m", "scripts.materialize_data"],
        [zenml, "pipeline", "run", "pipelines.training.training_pipeline", "-c",
         "configs/training.yaml"],
    ):  # fmt: skip
        run_timed(cmd, cwd=repo, env=env, log=log, timeout=SETUP_TIMEOUT_S)
    setup_s = time.perf_counter() - start
    export = work / "model"
    export.mkdir()
    run_timed(
        [python, "-c", _EXPORT, MODEL_NAME, str(export)],
        cwd=repo, env=env, log=log, timeout=SETUP_TIMEOUT_S,
    )  # fmt: skip
    meta = json.loads((export / "schema.json").read_text())
    return repo, meta, setup_s


def _monitoring_params(repo: Path, log_dir: Path, max_rows: int | None) -> dict[str, Any]:
    config = yaml.safe_load((repo / "configs" / "monitoring.yaml").read_text())
    monitoring = config["parameters"]["monitoring"]
    monitoring["window"].update({"log_dir": str(log_dir), "last_n": None, "max_rows": max_rows})
    return config


def _child(repo: Path, mode: str, args: dict[str, Any], work: Path, name: str) -> list[str]:
    path = work / "args" / f"{name}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(args))
    return module_command("monitoring", "--mode", mode, "--args", str(path))


def _ok(m: dict[str, Any]) -> bool:
    return m["returncode"] == 0 and not m["killed"] and m.get("result") is not None


def _ratios(cell: dict[str, Any]) -> dict[str, Any]:
    floor = cell["evidently"]["result"]["report_run_s"] if _ok(cell["evidently"]) else None
    out: dict[str, Any] = {"evidently_report_run_s": floor}
    if not floor:
        return out
    if _ok(cell["in_process"]):
        out["in_process_work_over_evidently"] = cell["in_process"]["result"]["work_s"] / floor
        out["in_process_wall_over_evidently"] = cell["in_process"]["wall_s"] / floor
    for key in ("pipeline_sampled", "pipeline_full"):
        m = cell[key]
        if m["returncode"] != 0 or m["killed"]:
            continue
        out[f"{key}_wall_over_evidently"] = m["wall_s"] / floor
        steps = (m.get("zenml_run") or {}).get("steps") or {}
        if steps:
            total = sum(s["seconds"] for s in steps.values())
            out[f"{key}_steps_over_evidently"] = total / floor
            if "detect_drift" in steps:
                out[f"{key}_detect_drift_over_evidently"] = steps["detect_drift"]["seconds"] / floor
    return out


def _measure_size(
    n: int, repo: Path, work: Path, env: dict[str, str], meta: dict[str, Any], opts: Any
) -> dict[str, Any]:
    print(f"\n== {n:,} rows", flush=True)
    mem_limit = int(opts.mem_limit_gib * 2**30)
    logs = work / "logs"
    logs.mkdir(exist_ok=True)
    log_dir = work / "windows" / f"n{n}"
    base = {"schema": str(work / "model" / "schema.json"),
            "reference": str(work / "model" / "reference.parquet")}  # fmt: skip
    gen = _measure(
        _child(repo, "generate", {"rows": n, "seed": n, "data": str(repo / "data" /
               "breast_cancer.csv"), "target": "target", "bundle": str(work / "model" / "bundle"),
               "model_version": meta["model_version"], "log_dir": str(log_dir)}, work,
               f"gen{n}"),
        env, repo, logs / f"gen{n}.log", opts.timeout, mem_limit,
    )  # fmt: skip
    if not _ok(gen):
        raise SystemExit(f"could not build the {n}-row window")
    window_file = gen["result"]["path"]
    cell: dict[str, Any] = {"rows": n, "window": gen["result"], "load_before": load_average()}

    full_cfg = _monitoring_params(repo, log_dir, None)
    cell["evidently"] = _measure(
        _child(repo, "floor", {**base, "monitoring": full_cfg["parameters"]["monitoring"],
               "window": window_file}, work, f"floor{n}"),
        env, repo, logs / f"floor{n}.log", opts.timeout, mem_limit,
    )  # fmt: skip
    cell["in_process"] = _measure(
        _child(repo, "inprocess", {**base, "monitoring": full_cfg["parameters"]["monitoring"],
               "html": True}, work, f"inproc{n}"),
        env, repo, logs / f"inproc{n}.log", opts.timeout, mem_limit,
    )  # fmt: skip
    names = {}
    for key, max_rows in (("pipeline_sampled", DEFAULT_MAX_ROWS), ("pipeline_full", None)):
        config = _monitoring_params(repo, log_dir, max_rows)
        config["run_name"] = names[key] = f"bench-{key}-{n}-{int(time.time())}"
        config_path = work / f"{key}-{n}.yaml"
        config_path.write_text(yaml.safe_dump(config))
        cell[key] = _measure(
            [str(BIN / "zenml"), "pipeline", "run", PIPELINE, "-c", str(config_path)],
            env, repo, logs / f"{key}{n}.log", opts.timeout, mem_limit,
        )  # fmt: skip
        cell[key]["max_rows"] = max_rows
    runs = read_result(
        run_timed(
            [str(BIN / "python"), "-c", _RUNS, *names.values()],
            cwd=repo, env=env, log=work / "setup.log", timeout=SETUP_TIMEOUT_S,
        ).stdout
    )  # fmt: skip
    for key, name in names.items():
        cell[key]["run_name"] = name
        cell[key]["zenml_run"] = runs.get(name)
    cell["load_after"] = load_average()
    cell["ratios"] = _ratios(cell)
    print(json.dumps(cell["ratios"], indent=1), flush=True)
    return cell


def _drift_check(
    repo: Path, work: Path, env: dict[str, str], meta: dict[str, Any], opts: Any
) -> dict[str, Any]:
    n = max(opts.sizes)
    print(f"\n== drifted window: {n:,} rows, +{DRIFT_SHIFT} std in {DRIFT_COLUMNS}", flush=True)
    mem_limit = int(opts.mem_limit_gib * 2**30)
    logs = work / "logs"
    log_dir = work / "windows" / f"drift{n}"
    gen = _measure(
        _child(repo, "generate", {"rows": n, "seed": n + 1, "data": str(repo / "data" /
               "breast_cancer.csv"), "target": "target", "bundle": str(work / "model" / "bundle"),
               "model_version": meta["model_version"], "log_dir": str(log_dir),
               "shift": {c: DRIFT_SHIFT for c in DRIFT_COLUMNS}}, work, f"gendrift{n}"),
        env, repo, logs / f"gendrift{n}.log", opts.timeout, mem_limit,
    )  # fmt: skip
    if not _ok(gen):
        raise SystemExit("could not build the drifted window")
    out: dict[str, Any] = {"rows": n, "shift_std": DRIFT_SHIFT, "columns": list(DRIFT_COLUMNS),
                           "window": gen["result"]}  # fmt: skip
    for key, max_rows in (("sampled", DEFAULT_MAX_ROWS), ("full", None)):
        cfg = _monitoring_params(repo, log_dir, max_rows)["parameters"]["monitoring"]
        out[key] = _measure(
            _child(repo, "inprocess", {"schema": str(work / "model" / "schema.json"),
                   "reference": str(work / "model" / "reference.parquet"), "monitoring": cfg,
                   "watch": list(DRIFT_COLUMNS)}, work, f"drift-{key}"),
            env, repo, logs / f"drift-{key}.log", opts.timeout, mem_limit,
        )  # fmt: skip
        out[key]["max_rows"] = max_rows
    return out


# --------------------------------------------------------------------------- report


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def _status(m: dict[str, Any]) -> str:
    if m.get("killed"):
        return f"killed: {m['killed']}"
    return "ok" if m["returncode"] == 0 else f"failed (rc {m['returncode']})"


def _markdown(result: dict[str, Any]) -> str:
    lines = [
        "| rows | variant | rows used | wall (s) | CPU (s) | steps (s) | work (s) | work CPU (s) "
        "| peak RSS (MiB) | tree peak (MiB) | ÷ Evidently run | status |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for cell in result["sizes"]:
        n = cell["rows"]
        ratios = cell["ratios"]
        floor = ratios.get("evidently_report_run_s")
        for key, label in (
            ("pipeline_sampled", "pipeline, max_rows 200k"),
            ("pipeline_full", "pipeline, no sampling"),
            ("in_process", "in process, no ZenML"),
            ("evidently", "plain Evidently `Report.run`"),
        ):
            m = cell[key]
            steps = work = work_cpu = None
            used: Any = n
            run = m.get("zenml_run") or {}
            if run.get("steps"):
                steps = sum(s["seconds"] for s in run["steps"].values())
            if run.get("summary"):
                used = run["summary"]["rows_used"]
            if key == "in_process" and _ok(m):
                work, work_cpu = m["result"]["work_s"], m["result"]["work_cpu_s"]
                used = m["result"]["summary"]["rows_used"]
            if key == "evidently" and _ok(m):
                work, work_cpu = m["result"]["report_run_s"], m["result"]["report_run_cpu_s"]
            ratio = "-"
            if floor and m["returncode"] == 0 and not m["killed"]:
                if key == "evidently":
                    ratio = "1.00"
                elif key == "in_process":
                    ratio = f"{work / floor:.2f}" if work else "-"
                else:
                    ratio = f"{m['wall_s'] / floor:.2f}"
                    if steps:
                        ratio += f" (steps {steps / floor:.2f})"
            lines.append(
                f"| {n:,} | {label} | {used:,} | {_fmt(m['wall_s'])} | {_fmt(m['cpu_s'])} "
                f"| {_fmt(steps)} | {_fmt(work)} | {_fmt(work_cpu)} | {_fmt(m['max_rss_mib'], 0)} "
                f"| {_fmt(m['tree_rss_peak_mib'], 0)} "
                f"| {ratio} | {_status(m)} |"
            )
    drift = result.get("drift_check")
    if drift:
        lines += [
            "",
            f"Drifted {drift['rows']:,}-row window (+{drift['shift_std']} std in "
            f"{', '.join(drift['columns'])}), in process:",
            "",
            "| sampling | rows used | work (s) | status | dataset drift | drifted columns "
            "| " + " | ".join(f"{c} score" for c in drift["columns"]) + " | probability score |",
            "|---|---:|---:|---|---|---|" + "---:|" * (len(drift["columns"]) + 1),
        ]
        for key in ("sampled", "full"):
            m = drift[key]
            if not _ok(m):
                lines.append(f"| {key} | - | - | {_status(m)} | | | |")
                continue
            s = m["result"]["summary"]
            scores = " | ".join(f"{s['columns'][c]['score']:.3g}" for c in drift["columns"])
            lines.append(
                f"| {'max_rows 200k' if key == 'sampled' else 'none'} | {s['rows_used']:,} "
                f"| {m['result']['work_s']:.1f} | {s['status']} | {s['dataset_drift']} "
                f"| {', '.join(s['drifted_columns']) or '-'} | {scores} "
                f"| {s['prediction']['probability']['score']:.3g} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds per measurement")
    parser.add_argument("--mem-limit-gib", type=float, default=16.0)
    parser.add_argument("--no-drift-check", action="store_true")
    parser.add_argument("--keep-work", action="store_true")
    parser.add_argument("--output", default=str(RESULTS))
    parser.add_argument(
        "--mode", choices=("generate", "inprocess", "floor"), help=argparse.SUPPRESS
    )
    parser.add_argument("--args", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.mode:
        child_args = json.loads(Path(opts.args).read_text())
        {"generate": _generate, "inprocess": _in_process, "floor": _floor}[opts.mode](child_args)
        return
    opts.sizes = [int(s) for s in opts.sizes.split(",")]

    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="bench-monitoring-"))
    env = checkout_env(work, work / "repo", tmpdir=work / "tmp")
    zen_config = REPO / ".zen" / "config.yaml"
    zen_before = zen_config.read_bytes() if zen_config.exists() else None
    git = git_state()
    machine = {  # "cpu_model" is "cpu" in this benchmark's committed results
        ("cpu" if key == "cpu_model" else key): value
        for key, value in machine_info(
            "cpus", "python", "platform", "cpu_model", "memory_gib"
        ).items()
    }
    result: dict[str, Any] = {
        "benchmark": "monitoring",
        "date": time.strftime("%Y-%m-%d"),
        "git": {"commit": git.short_commit, "dirty": git.dirty},
        "machine": machine,
        "versions": package_versions(VERSIONS),
        "load_at_start": load_average(),
        "settings": {
            "sizes": opts.sizes,
            "features": 30,
            "jitter_std_fraction": JITTER,
            "default_max_rows": DEFAULT_MAX_ROWS,
            "timeout_s": opts.timeout,
            "mem_limit_gib": opts.mem_limit_gib,
            "pipeline": PIPELINE,
            "config": "configs/monitoring.yaml with window.log_dir = the window's dir, "
            "window.last_n = null, window.max_rows = 200000 or null",
        },
        "target": {"pipeline_over_evidently_max": TARGET_RATIO},
    }
    try:
        print(f"work dir {work}", flush=True)
        repo, meta, setup_s = _setup(work, env)
        result["setup_s"] = setup_s
        result["model"] = {"name": MODEL_NAME, **meta}
        # One untimed pipeline run first: the first run in a new store pays one-off costs.
        warm_dir = work / "windows" / "warmup"
        _measure(
            _child(repo, "generate", {"rows": 1000, "seed": 1, "data": str(repo / "data" /
                   "breast_cancer.csv"), "target": "target", "bundle": str(work / "model" /
                   "bundle"), "model_version": meta["model_version"], "log_dir": str(warm_dir)},
                   work, "genwarm"),
            env, repo, work / "genwarm.log", opts.timeout, 2**40,
        )  # fmt: skip
        warm_cfg = work / "warmup.yaml"
        warm_cfg.write_text(yaml.safe_dump(_monitoring_params(repo, warm_dir, None)))
        result["warmup_pipeline_s"] = _measure(
            [str(BIN / "zenml"), "pipeline", "run", PIPELINE, "-c", str(warm_cfg)],
            env, repo, work / "warmup.log", opts.timeout, 2**40,
        )["wall_s"]  # fmt: skip
        result["sizes"] = [_measure_size(n, repo, work, env, meta, opts) for n in opts.sizes]
        if not opts.no_drift_check:
            result["drift_check"] = _drift_check(repo, work, env, meta, opts)
    finally:
        if zen_before is not None and zen_config.read_bytes() != zen_before:
            zen_config.write_bytes(zen_before)
            print("restored the checkout's .zen/config.yaml", flush=True)
        if opts.keep_work:
            print(f"kept {work}", flush=True)
        else:
            shutil.rmtree(work, ignore_errors=True)
    result["load_at_end"] = load_average()
    result["total_s"] = time.perf_counter() - started
    output = Path(opts.output)
    table = write_results(output, result, _markdown, indent=2)
    print("\n" + table)
    print(f"\ntotal {result['total_s'] / 60:.1f} min; wrote {output}")


if __name__ == "__main__":
    main()
