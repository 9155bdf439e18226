"""Benchmark: online serving latency and throughput, five ways side by side in one run.

In a temporary copy of the working tree, on an isolated ZenML store (temporary
``ZENML_CONFIG_PATH``, free gateway port), it registers the ``local`` stack, makes sure of the
data, trains and deploys the model with the README's commands, starts a plain
``mlflow models serve`` on the same registered version, then measures:

  * ``floor``: a plain FastAPI/uvicorn endpoint (1 worker) running the ``Predictor`` in
    process on the same bundle: the body parsed once by the row contract
    (``serving.contract.parse_rows``), ``Predictor.score``, the answer; no routing, no log, no
    metrics; one torch and BLAS thread, as the gateway. What one Python process can do, the
    bar the gateway is held to;
  * ``gateway``: ``POST /invocations`` on the gateway, the endpoint clients use (it scores the
    deployment's own model in process with the NumPy scorer, ``serving.scorer``);
  * ``mlflow_deployed``: the ZenML-managed MLflow model server behind it, called directly (the
    ``url`` in ``route.json``);
  * ``mlflow_serve``: plain ``mlflow models serve --env-manager local`` (its default of one
    worker; ``--serve-workers`` to change it);
  * ``in_process``: ``Predictor.predict_proba`` on a DataFrame in this process (sequential
    calls; no HTTP, no JSON), with torch's default threads and with one thread; and the
    gateway's ``NumpyScorer.score`` on rows already parsed (``in_process_numpy``). These run
    after training and before the deployment, while no server of the run is up, so they
    measure the predictor's own cost; the deployment must then serve the version measured.

for 1-row and 1,000-row payloads (rows of ``data/breast_cancer.csv`` without ``target``, as
MLflow ``dataframe_split`` JSON) at concurrency 1 and 8. The load generator is one thread per
connection with a keep-alive ``http.client`` connection each and pre-encoded bodies; each
target is warmed up first and each cell runs a fixed number of requests. Per cell it also
records the CPU time each server process (workers included) and the load generator spent per
request, from /proc.

Where the time goes: one-row scoring in microseconds, step by step, for ``Predictor`` and for
the ``NumpyScorer``; a second
gateway on the same routing table run under cProfile (switched on for the timed requests
only), its CPU split by component; and the MLflow scoring server's handler, step by step, in
this process on the same model.

On a 2-core machine the load generator competes with the servers for the CPUs; the numbers
are for comparing the four targets with each other, not absolute capacity.

Writes ``benchmarks/results/serving_latency.json`` and prints Markdown tables. Everything runs
on 127.0.0.1; every process started here is stopped at the end (``python -m release stop``,
then the process groups), the temporary copy and store deleted, and the checkout's
``.zen/config.yaml`` put back byte for byte should anything have touched it.

Usage: python -m benchmarks.serving_latency [--requests-1 400] [--requests-1000 60]
(from the repository root; about 2-4 minutes on 2 cores)
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.harness import rerun_with_env
from scripts.isolated_checkout import OFFLINE_ENV, copy_checkout
from scripts.ports import free_port
from serving.supervisor import GATEWAY_THREAD_ENV

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "serving_latency.json"
BIN = Path(sys.executable).parent
MODEL_NAME = "breast_cancer_classifier"
DATA = ROOT / "data" / "breast_cancer.csv"
TARGET_COLUMN = "target"

ROW_COUNTS = (1, 1000)
CONCURRENCY = (1, 8)
HTTP_TARGETS = ("floor", "gateway", "mlflow_deployed", "mlflow_serve")
GOALS = {
    "gateway_single_row_p99_ms_at_c8": 10.0,
    "in_process_single_row_us": 100.0,
    "gateway_vs_floor": 0.8,
    "gateway_vs_mlflow_serve": 1.0,
}
VERSIONS = (
    "zenml",
    "mlflow",
    "torch",
    "pandas",
    "numpy",
    "fastapi",
    "uvicorn",
    "httpx",
    "orjson",
)


# --------------------------------------------------------------------------- setup / teardown


def _env(work: Path, gateway_port: int) -> dict[str, str]:
    env = dict(os.environ)
    for key in ("TABULAR_SERVING_STATE", "TABULAR_PREDICTION_LOG", "ZENML_REPOSITORY_PATH"):
        env.pop(key, None)
    env.update(OFFLINE_ENV)
    env.update(
        {
            "ZENML_CONFIG_PATH": str(work / "zenml"),
            "TABULAR_GATEWAY_PORT": str(gateway_port),
            "PYTHONPATH": str(work / "repo"),
            # MLflow downloads the model for each server into a temporary directory.
            "TMPDIR": str(work / "tmp"),
            # The model servers start `uvicorn` by name.
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        }
    )
    return env


def _run(cmd: list[str], env: dict[str, str], log: Path, timeout: int = 900) -> str:
    print(f"  $ {' '.join(cmd)}", flush=True)
    start = time.perf_counter()
    cwd = env["PYTHONPATH"]
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    with log.open("a") as handle:
        handle.write(f"$ {' '.join(cmd)}\n{result.stdout}\n{result.stderr}\n")
    if result.returncode != 0:
        raise SystemExit(
            f"{' '.join(cmd)} exited {result.returncode}:\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    print(f"    ({time.perf_counter() - start:.0f} s)", flush=True)
    return result.stdout


def _train(env: dict[str, str], work: Path) -> None:
    """Stack, data and training: the README's commands, up to the deployment."""
    log = work / "setup.log"
    python = str(BIN / "python")
    zenml = str(BIN / "zenml")
    _run([zenml, "init"], env, log)
    _run([python, "-m", "stacks", "apply", "stacks/local.yaml"], env, log)
    _run([python, "-m", "scripts.materialize_data"], env, log)
    _run(
        [zenml, "pipeline", "run", "pipelines.training.training_pipeline"]
        + ["-c", "configs/training.yaml"],
        env,
        log,
    )


def _deploy(env: dict[str, str], work: Path) -> dict[str, Any]:
    """The README's deployment pipeline run. Returns the default model's active route."""
    _run(
        [str(BIN / "zenml"), "pipeline", "run", "pipelines.deployment.deployment_pipeline"]
        + ["-c", "configs/deployment.yaml"],
        env,
        work / "setup.log",
    )
    route_file = work / "zenml" / "serving" / "route.json"
    routes = json.loads(route_file.read_text())
    # One table per model (serving.routing.ServingRoutes); the default model is the one deployed.
    table = routes.get("models", {}).get(routes.get("default_model") or "", {})
    if not table.get("active"):
        raise SystemExit(f"{route_file}: no active route after the deployment pipeline")
    return dict(table["active"])


_EXPORT = """
import sys
from zenml.client import Client


def export():
    client = Client()
    version = client.get_model_version(sys.argv[1], sys.argv[2])
    version.get_artifact("classifier").load().save(sys.argv[3])
    print(version.name, version.number)
    print(client.active_stack.experiment_tracker.get_tracking_uri())


export()
"""


def _export_bundle(env: dict[str, str], work: Path, model_version: str) -> tuple[Path, str, str]:
    """Save a model version's ``classifier`` bundle under ``work``.

    Args:
        model_version: A ZenML model version name, number or stage (``latest``).

    Returns:
        The bundle directory, the model version's name and number (space-separated) and the
        MLflow tracking URI.
    """
    bundle_dir = work / "bundle"
    out = _run(
        [str(BIN / "python"), "-c", _EXPORT, MODEL_NAME, model_version, str(bundle_dir)],
        env,
        work / "setup.log",
    )
    version, tracking_uri = out.strip().splitlines()[-2:]
    return bundle_dir, version, tracking_uri


def _http_get(url: str, timeout: float = 2.0) -> int:
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request("GET", parts.path)
        response = conn.getresponse()
        response.read()
        return int(response.status)
    except OSError:
        return 0
    finally:
        conn.close()


def _start_mlflow_serve(
    env: dict[str, str], tracking_uri: str, registered: str, work: Path, workers: int
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    serve_env = dict(env, MLFLOW_TRACKING_URI=tracking_uri)
    cmd = [
        str(BIN / "mlflow"),
        "models",
        "serve",
        "-m",
        f"models:/{MODEL_NAME}/{registered}",
        "--env-manager",
        "local",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        *(["--workers", str(workers)] if workers != 1 else []),
    ]
    print(f"  $ {' '.join(cmd)}", flush=True)
    log = (work / "mlflow_serve.log").open("ab")
    process = subprocess.Popen(
        cmd,
        cwd=work,
        env=serve_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(
                f"mlflow models serve exited {process.returncode}; see {work / 'mlflow_serve.log'}"
            )
        if _http_get(f"{url}/ping") == 200:
            return process, f"{url}/invocations"
        time.sleep(0.5)
    raise SystemExit("mlflow models serve did not answer /ping within 180 s")


# The floor: a plain FastAPI endpoint, one uvicorn worker, the Predictor in process (NumPy MLP
# for up to 64 rows, torch above: Predictor.SMALL_BATCH_ROWS).
_FLOOR = """
import sys

import orjson
import torch
import uvicorn
from fastapi import FastAPI, Request, Response

from serving.contract import parse_rows
from tabular_classifier.predictor import Predictor

predictor = Predictor.from_directory(sys.argv[1])
torch.set_num_threads(1)  # one thread, as the gateway's BLAS; none waits for a busy core
app = FastAPI()


@app.post("/invocations")
async def invocations(request: Request) -> Response:
    rows = parse_rows(await request.body(), predictor.contract)
    probabilities = predictor.score(rows)
    labels = predictor.labels(probabilities)
    predictions = [
        {"probability": p, "label": str(label)}
        for p, label in zip(probabilities.tolist(), labels, strict=True)
    ]
    return Response(orjson.dumps({"predictions": predictions}), media_type="application/json")


@app.get("/ping")
async def ping() -> Response:
    return Response(b"{}", media_type="application/json")


uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False)
"""


def _start_floor(
    env: dict[str, str], bundle_dir: Path, work: Path
) -> tuple[subprocess.Popen[bytes], str]:
    """Start the floor endpoint on a free port (its command line has ``--port <port>``)."""
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "python"), "-c", _FLOOR, str(bundle_dir), str(port), "--port", str(port)],
        cwd=env["PYTHONPATH"],
        env={**GATEWAY_THREAD_ENV, **env},
        stdout=(work / "floor.log").open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while _http_get(f"{url}/ping") != 200:
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the floor endpoint did not start; see {work / 'floor.log'}")
        time.sleep(0.3)
    return process, f"{url}/invocations"


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def _our_leftovers(marker: str) -> list[int]:
    """Processes still alive whose environment carries this run's unique store path."""
    needle = f"ZENML_CONFIG_PATH={marker}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def _teardown(env: dict[str, str], work: Path, serve: subprocess.Popen[bytes] | None) -> list[int]:
    """Stop everything this run started; return the pids that had to be killed by hand."""
    if serve is not None:
        _stop_group(serve)
    try:
        subprocess.run(
            [str(BIN / "python"), "-m", "release", "stop"],
            cwd=env["PYTHONPATH"],
            env=env,
            capture_output=True,
            timeout=120,
        )
    except subprocess.TimeoutExpired:
        print("  python -m release stop timed out", flush=True)
    time.sleep(1.0)
    leftovers = _our_leftovers(env["ZENML_CONFIG_PATH"])
    for pid in leftovers:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return leftovers


# --------------------------------------------------------------------------- load generator


def _frames(path: Path) -> dict[int, pd.DataFrame]:
    data = pd.read_csv(path).drop(columns=[TARGET_COLUMN])
    return {
        n: data.iloc[np.arange(n) % len(data)].reset_index(drop=True).astype("float64")
        for n in ROW_COUNTS
    }


def _body(frame: pd.DataFrame) -> bytes:
    payload = {
        "dataframe_split": {"columns": list(frame.columns), "data": frame.to_numpy().tolist()}
    }
    return json.dumps(payload).encode()


def _probabilities(body: bytes) -> list[float]:
    return [float(p["probability"]) for p in json.loads(body)["predictions"]]


class _Connection:
    """One keep-alive HTTP/1.1 connection to a POST endpoint."""

    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        self._path = parts.path
        self._conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self._headers = {"Content-Type": "application/json"}

    def post(self, body: bytes) -> tuple[int, bytes]:
        self._conn.request("POST", self._path, body=body, headers=self._headers)
        response = self._conn.getresponse()
        return int(response.status), response.read()

    def close(self) -> None:
        self._conn.close()


def _warm_up(url: str, body: bytes, n: int, rows: int) -> list[float]:
    conn = _Connection(url)
    try:
        for _ in range(n):
            status, content = conn.post(body)
            if status != 200:
                raise SystemExit(f"warm-up: {url} answered {status}: {content[:300]!r}")
        probabilities = _probabilities(content)
    finally:
        conn.close()
    if len(probabilities) != rows:
        raise SystemExit(f"warm-up: {url} returned {len(probabilities)} rows for {rows}")
    return probabilities


def _load(
    url: str, body: bytes, requests: int, concurrency: int, servers: dict[str, int]
) -> dict[str, Any]:
    """``requests`` POSTs spread over ``concurrency`` threads, one keep-alive connection each.

    Also records the CPU seconds each server process (``servers``: name to pid) and this
    load generator spent during the timed part, per request.
    """
    lock = threading.Lock()
    remaining = [requests]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    barrier = threading.Barrier(concurrency + 1)
    errors: list[str] = []

    def worker() -> None:
        conn = _Connection(url)
        mine: list[float] = []
        codes: dict[int, int] = {}
        try:
            conn.post(body)  # opens the connection, untimed
            barrier.wait()
            while True:
                with lock:
                    if remaining[0] == 0:
                        break
                    remaining[0] -= 1
                start = time.perf_counter()
                status, _ = conn.post(body)
                mine.append(time.perf_counter() - start)
                codes[status] = codes.get(status, 0) + 1
        except Exception as exc:  # noqa: BLE001 - reported in the result, never hidden
            errors.append(repr(exc))
            barrier.abort()
        finally:
            conn.close()
            with lock:
                latencies.extend(mine)
                for code, count in codes.items():
                    statuses[code] = statuses.get(code, 0) + count

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    try:
        barrier.wait()
    except threading.BrokenBarrierError:
        pass
    start = time.perf_counter()
    cpu_before = {name: _cpu_seconds(pid) for name, pid in servers.items()}
    client_before = time.process_time()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    client_cpu = time.process_time() - client_before
    cpu = {name: _cpu_seconds(pid) - cpu_before[name] for name, pid in servers.items()}
    cpu["load_generator"] = client_cpu
    result = _summary(latencies, wall)
    n = max(len(latencies), 1)
    result["cpu_ms_per_request"] = {name: 1000.0 * v / n for name, v in cpu.items()}
    result.update(statuses={str(k): v for k, v in sorted(statuses.items())}, errors=errors)
    result["all_200"] = not errors and set(statuses) == {200} and len(latencies) == requests
    return result


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its live descendants (uvicorn workers), from
    /proc; whole processes, all threads."""

    def own(p: int) -> float:
        try:
            stat = Path(f"/proc/{p}/stat").read_text()
        except OSError:
            return 0.0
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat[stat.rindex(")") + 2 :].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += own(p)
        todo.extend(children.get(p, []))
    return total


def _workers(pid: int) -> int:
    """The ``--workers`` of a uvicorn command line (1 when absent)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    except OSError:
        return 0
    for flag, value in zip(argv, argv[1:], strict=False):
        if flag == "--workers":
            return int(value)
    return 1


def _server_pids(marker: str, ports: dict[str, int]) -> dict[str, int]:
    """The process listening for each target: this run's process whose command line has
    ``--port <port>`` (the gateway, and the uvicorn of each MLflow server)."""
    found: dict[str, int] = {}
    for pid in _our_leftovers(marker):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
        except OSError:
            continue
        for name, port in ports.items():
            if any(a == "--port" and b == str(port) for a, b in zip(argv, argv[1:], strict=False)):
                if name in ("gateway", "floor") or any(arg.endswith("uvicorn") for arg in argv):
                    found[name] = pid
    return found


def _gateway_metrics(base: str) -> dict[str, float]:
    """The gateway's own latency histogram sum and count, from ``GET /metrics``."""
    parts = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
    finally:
        conn.close()
    values = {}
    for line in text.splitlines():
        for key in ("sum", "count"):
            if line.startswith(f"gateway_request_latency_seconds_{key} "):
                values[key] = float(line.split()[1])
    return values


def _summary(latencies: list[float], wall: float) -> dict[str, Any]:
    ms = np.asarray(latencies) * 1000.0
    return {
        "requests": len(latencies),
        "wall_s": wall,
        "p50_ms": float(np.percentile(ms, 50)) if len(ms) else None,
        "p99_ms": float(np.percentile(ms, 99)) if len(ms) else None,
        "mean_ms": float(ms.mean()) if len(ms) else None,
        "max_ms": float(ms.max()) if len(ms) else None,
        "requests_per_s": len(latencies) / wall if wall > 0 else None,
    }


# --------------------------------------------------------------------------- in process


def _timeit(fn: Callable[[], Any], calls: int, warmup: int = 200) -> np.ndarray:
    """Per-call wall times in microseconds."""
    for _ in range(warmup):
        fn()
    times = np.empty(calls)
    clock = time.perf_counter_ns
    for i in range(calls):
        start = clock()
        fn()
        times[i] = clock() - start
    return times / 1000.0


def _us(times: np.ndarray) -> dict[str, float]:
    return {
        "median_us": float(np.median(times)),
        "p99_us": float(np.percentile(times, 99)),
        "min_us": float(times.min()),
        "calls": int(len(times)),
    }


def _in_process(
    bundle_dir: Path, frames: dict[int, pd.DataFrame], requests: dict[int, int], micro_calls: int
) -> tuple[dict[str, Any], dict[str, Any], dict[int, list[float]]]:
    import torch

    from tabular_classifier.contract import ParsedRows
    from tabular_classifier.predictor import Predictor
    from tabular_classifier.scoring import NumpyScorer

    predictor = Predictor.from_directory(bundle_dir)
    scorer = NumpyScorer.from_directory(bundle_dir)
    contract = scorer.contract
    cells: dict[str, Any] = {}
    probabilities: dict[int, list[float]] = {}
    default_threads = torch.get_num_threads()
    # torch's default intra-op pool has one thread per core; on 2 cores a batch then waits
    # for the other core whenever a server holds it. One thread shows the model's own cost.
    for name, threads in (("in_process", default_threads), ("in_process_1_thread", 1)):
        torch.set_num_threads(threads)
        for rows, frame in frames.items():
            probabilities[rows] = predictor.predict_proba(frame).tolist()
            times = _timeit(lambda f=frame: predictor.predict_proba(f), requests[rows], warmup=20)
            result = _summary(list(times / 1e6), float(times.sum() / 1e6))
            result.update(statuses={}, errors=[], all_200=True, torch_threads=threads)
            cells[f"{name}/{rows}/1"] = result
    torch.set_num_threads(default_threads)
    # The gateway's scorer: the rows as JSON values, parsed by the contract, then scored, with
    # one BLAS thread as in the gateway (serving.supervisor.GATEWAY_THREAD_ENV; main() runs the
    # benchmark with OPENBLAS_NUM_THREADS=1).
    lists = {
        rows: (list(frame.columns), frame.to_numpy().tolist()) for rows, frame in frames.items()
    }
    for rows in frames:
        columns, values = lists[rows]
        times = _timeit(
            lambda c=columns, v=values: scorer.score(contract.parse_rows(c, v)),
            requests[rows],
            warmup=20,
        )
        result = _summary(list(times / 1e6), float(times.sum() / 1e6))
        result.update(statuses={}, errors=[], all_200=True)
        cells[f"in_process_numpy/{rows}/1"] = result

    one = frames[1]
    bundle = predictor.bundle
    columns, values = lists[1]
    canonical = contract.parse_rows(columns, values).json_rows()
    parsed = predictor.contract.parse_frame(one)
    tensor = torch.from_numpy(bundle.preprocessor.transform_parsed(parsed))

    def forward() -> Any:
        with torch.inference_mode():
            return torch.sigmoid(bundle.model.infer(tensor).double()).numpy()

    def fresh() -> ParsedRows:  # parsed rows cache their arrays: a new object per call
        return ParsedRows.from_rows(contract, canonical)

    micro = {
        "predict_proba_1_row": _us(_timeit(lambda: predictor.predict_proba(one), micro_calls)),
        "numpy_score_1_row": _us(_timeit(lambda: scorer.score(fresh()), micro_calls)),
        "numpy_parse_and_score_1_row": _us(
            _timeit(lambda: scorer.score(contract.parse_rows(columns, values)), micro_calls)
        ),
        "steps_1_row": {
            "Predictor: contract.parse_frame (DataFrame)": _us(
                _timeit(lambda: predictor.contract.parse_frame(one), micro_calls)
            ),
            "Predictor: preprocessor.transform_parsed": _us(
                _timeit(lambda: bundle.preprocessor.transform_parsed(parsed), micro_calls)
            ),
            "Predictor: torch forward + sigmoid": _us(_timeit(forward, micro_calls)),
            "NumpyScorer: contract.parse_rows (JSON values)": _us(
                _timeit(lambda: contract.parse_rows(columns, values), micro_calls)
            ),
            "NumpyScorer: features": _us(_timeit(lambda: scorer.features(fresh()), micro_calls)),
            "NumpyScorer: score (features + MLP + sigmoid)": _us(
                _timeit(lambda: scorer.score(fresh()), micro_calls)
            ),
        },
        "torch_threads": torch.get_num_threads(),
        "numpy_vs_torch_max_abs_diff_1000_rows": float(
            np.max(
                np.abs(
                    scorer.score(contract.parse_rows(*lists[1000]))
                    - np.asarray(probabilities[1000])
                )
            )
        ),
    }
    return cells, micro, probabilities


# Where a profiled gateway's CPU time goes: (category, substring of the file name or of the
# built-in's name); the first match wins. Exclusive time (tottime), so nothing is counted twice.
LOG_CATEGORY = (
    "answer + prediction log (serving/answer.py, log_lines.py, prediction_log.py, uuid, file I/O)"
)
PROFILE_CATEGORIES = (
    ("parse + validate (serving/contract.py)", "serving/contract.py"),
    (LOG_CATEGORY, "serving/answer.py"),
    (LOG_CATEGORY, "serving/log_lines.py"),
    (LOG_CATEGORY, "serving/prediction_log.py"),
    (LOG_CATEGORY, "/uuid.py"),
    (LOG_CATEGORY, "_io."),
    (LOG_CATEGORY, "posix.urandom"),
    ("gateway handler + routing (serving/gateway.py, routing.py)", "serving/"),
    ("JSON (orjson, json)", "orjson"),
    ("JSON (orjson, json)", "/json/"),
    ("metrics (prometheus_client)", "prometheus_client"),
    ("upstream HTTP client (httpx, httpcore)", "/httpx/"),
    ("upstream HTTP client (httpx, httpcore)", "/httpcore/"),
    ("upstream HTTP client (httpx, httpcore)", "/anyio/"),
    ("HTTP server + framework (uvicorn, h11, starlette, fastapi)", "/uvicorn/"),
    ("HTTP server + framework (uvicorn, h11, starlette, fastapi)", "/h11/"),
    ("HTTP server + framework (uvicorn, h11, starlette, fastapi)", "/httptools/"),
    ("HTTP server + framework (uvicorn, h11, starlette, fastapi)", "/starlette/"),
    ("HTTP server + framework (uvicorn, h11, starlette, fastapi)", "/fastapi/"),
    ("HTTP server + framework (uvicorn, h11, starlette, fastapi)", "/pydantic"),
    ("event loop + sockets (asyncio)", "asyncio"),
    ("event loop + sockets (asyncio)", "selectors"),
    ("event loop + sockets (asyncio)", "socket"),
)


# The gateway under cProfile, switched on and off by SIGUSR1 / SIGUSR2 so that start-up and
# warm-up stay out of the profile; the stats are written once uvicorn has shut down on SIGINT.
_PROFILED_GATEWAY = """
import cProfile, gc, json, signal, sys, time
from serving.gateway import main
profiler = cProfile.Profile()
collections = {"on": False, "count": 0, "s": 0.0, "started": 0.0}
def collected(phase, info):  # cProfile does not see the garbage collector: time it here
    if not collections["on"]:
        return
    if phase == "start":
        collections["started"] = time.perf_counter()
    else:
        collections["count"] += 1
        collections["s"] += time.perf_counter() - collections["started"]
gc.callbacks.append(collected)
def switch(on):
    collections["on"] = on
    profiler.enable() if on else profiler.disable()
signal.signal(signal.SIGUSR1, lambda *_: switch(True))
signal.signal(signal.SIGUSR2, lambda *_: switch(False))
try:
    main(sys.argv[2:])
finally:
    profiler.disable()
    profiler.dump_stats(sys.argv[1])
    with open(sys.argv[1] + ".gc.json", "w") as out:
        json.dump({"collections": collections["count"], "seconds": collections["s"]}, out)
"""


def _categories(
    stats: dict[Any, Any], key: Any, memo: dict[Any, dict[str, float]], depth: int
) -> dict[str, float]:
    """Which components a function's own time belongs to: its file's category, or, for
    built-ins and generic stdlib helpers, its callers' categories in proportion to the time
    each caller spent in it (up to 6 levels up)."""
    label = f"{key[0]}:{key[2]}"
    direct = next((c for c, k in PROFILE_CATEGORIES if k in label), None)
    if direct is not None:
        return {direct: 1.0}
    callers = stats.get(key, (0, 0, 0, 0, {}))[4]
    spent = {caller: value[2] for caller, value in callers.items() if value[2] > 0}
    if depth >= 6 or not spent:
        return {"other (start-up, stdlib)": 1.0}
    if (key, depth) in memo:
        return memo[(key, depth)]
    total = sum(spent.values())
    result: dict[str, float] = {}
    for caller, value in spent.items():
        for category, fraction in _categories(stats, caller, memo, depth + 1).items():
            result[category] = result.get(category, 0.0) + fraction * value / total
    memo[(key, depth)] = result
    return result


def _profile_gateway(
    env: dict[str, str], work: Path, body: bytes, rows: int, requests: int
) -> dict[str, Any]:
    """Run a second gateway under cProfile on the same routing table (so the same upstream
    server), send it ``requests`` sequential requests, and split its CPU time by component."""
    import pstats

    state = work / "profile-state"
    state.mkdir(exist_ok=True)
    shutil.copy(work / "zenml" / "serving" / "route.json", state / "route.json")
    port = free_port()
    out = work / "gateway.prof"
    process = subprocess.Popen(
        [
            str(BIN / "python"),
            "-c",
            _PROFILED_GATEWAY,
            str(out),
            "--port",
            str(port),
            "--state-dir",
            str(state),
        ],
        cwd=env["PYTHONPATH"],
        # As the supervisor runs the gateway (one BLAS thread).
        env={**GATEWAY_THREAD_ENV, **env},
        stdout=(work / "gateway-profiled.log").open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while _http_get(f"http://127.0.0.1:{port}/health") != 200:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"profiled gateway did not start; see {work}")
            time.sleep(0.3)
        url = f"http://127.0.0.1:{port}/invocations"
        _warm_up(url, body, 50, rows)
        process.send_signal(signal.SIGUSR1)
        time.sleep(0.5)
        timed = _load(url, body, requests, 1, {"gateway_profiled": process.pid})
        process.send_signal(signal.SIGUSR2)
        time.sleep(0.5)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            _stop_group(process)
    stats = pstats.Stats(str(out)).stats
    collections = json.loads(Path(f"{out}.gc.json").read_text())
    parts: dict[str, float] = {}
    idle = 0.0
    for key, (_, _, tottime, _, _) in stats.items():
        if key[0] == "~" and "poll" in key[2] and ("epoll" in key[2] or "select" in key[2]):
            idle += tottime
            continue
        for category, fraction in _categories(stats, key, {}, 0).items():
            parts[category] = parts.get(category, 0.0) + tottime * fraction
    total = sum(parts.values())
    n = requests + 1  # _load opens its connection with one untimed request
    return {
        "rows": rows,
        "requests_profiled": n,
        "latency_under_profiler": timed,
        "cpu_us_per_request_under_profiler": 1e6 * total / n,
        "share": {k: v / total for k, v in sorted(parts.items(), key=lambda kv: -kv[1])},
        "idle_wait_s": idle,
        # Not in the profile's total: cProfile does not see the collector (gc.callbacks).
        "garbage_collections": collections["collections"],
        "garbage_collection_us_per_request": 1e6 * collections["seconds"] / n,
    }


def _mlflow_steps(
    tracking_uri: str,
    registered: str,
    frames: dict[int, pd.DataFrame],
    calls: dict[int, int],
    work: Path,
) -> dict[str, Any]:
    """The MLflow scoring server's per-request work, in process, on the same model."""
    import mlflow
    from mlflow.pyfunc import scoring_server

    mlflow.set_tracking_uri(tracking_uri)
    (work / "mlflow-model").mkdir()
    model = mlflow.pyfunc.load_model(
        f"models:/{MODEL_NAME}/{registered}", dst_path=str(work / "mlflow-model")
    )
    schema = model.metadata.get_input_schema()
    out: dict[str, Any] = {}
    for rows, frame in frames.items():
        body = _body(frame)
        n = calls[rows]
        parsed = scoring_server._parse_json_data(body, model.metadata, schema).data
        predictions = model.predict(parsed)

        def to_json(p: Any = predictions) -> str:
            buffer = io.StringIO()
            scoring_server.predictions_to_json(p, buffer)
            return buffer.getvalue()

        steps = {
            "whole handler (scoring_server.invocations)": _timeit(
                lambda b=body: scoring_server.invocations(b, "application/json", model, schema),
                n,
                warmup=5,
            ),
            "parse JSON to DataFrame (pandas)": _timeit(
                lambda b=body: scoring_server._parse_json_data(b, model.metadata, schema),
                n,
                warmup=5,
            ),
            "pyfunc predict (schema enforcement + our model)": _timeit(
                lambda d=parsed: model.predict(d), n, warmup=5
            ),
            "answer to JSON": _timeit(to_json, n, warmup=5),
        }
        out[str(rows)] = {name: float(np.median(t)) / 1000.0 for name, t in steps.items()}
    return out


# --------------------------------------------------------------------------- report


def _versions() -> dict[str, str]:
    found = {}
    for name in VERSIONS:
        try:
            found[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


def _git() -> dict[str, Any]:
    def git(*args: str) -> str:
        result = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return result.stdout.rstrip() if result.returncode == 0 else ""

    return {
        "commit": git("rev-parse", "HEAD"),
        # The working tree is shared and copied as it is: name what differed from the commit.
        "uncommitted": [line[3:] for line in git("status", "--porcelain").splitlines()],
    }


def _machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _goals(cells: dict[str, Any], micro: dict[str, Any]) -> list[dict[str, Any]]:
    goals = []
    p99 = cells["gateway/1/8"]["p99_ms"]
    goals.append(
        {
            "goal": "deployed endpoint (gateway), 1 row, concurrency 8: p99 <= 10 ms",
            "measured": f"{p99:.1f} ms (p50 {cells['gateway/1/8']['p50_ms']:.1f} ms)",
            "met": p99 <= GOALS["gateway_single_row_p99_ms_at_c8"],
        }
    )
    for rows in ROW_COUNTS:
        for c in CONCURRENCY:
            gateway = cells[f"gateway/{rows}/{c}"]["requests_per_s"]
            for other, key in (
                ("floor", "gateway_vs_floor"),
                ("mlflow_serve", "gateway_vs_mlflow_serve"),
            ):
                theirs = cells[f"{other}/{rows}/{c}"]["requests_per_s"]
                goals.append(
                    {
                        "goal": f"gateway throughput >= {GOALS[key]:.1f}x {other} "
                        f"({rows} rows, c={c})",
                        "measured": f"{gateway:.1f} vs {theirs:.1f} req/s "
                        f"({gateway / theirs:.2f}x)",
                        "met": gateway >= GOALS[key] * theirs,
                    }
                )
    for name, label in (
        ("numpy_score_1_row", "NumpyScorer.score (the gateway's scorer)"),
        ("predict_proba_1_row", "Predictor.predict_proba (DataFrame; NumPy MLP up to 64 rows)"),
    ):
        t = micro[name]
        goals.append(
            {
                "goal": f"in-process 1-row predict, {label}: <= 100 us",
                "measured": f"median {t['median_us']:.0f} us, p99 {t['p99_us']:.0f} us",
                "met": t["median_us"] <= GOALS["in_process_single_row_us"],
            }
        )
    return goals


def _markdown(result: dict[str, Any]) -> str:
    lines = [
        "| target | rows/request | concurrency | requests | p50 (ms) | p99 (ms) | req/s "
        "| rows/s | all 200 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for key, cell in result["cells"].items():
        target, rows, c = key.split("/")
        concurrency = "seq." if target.startswith("in_process") else c
        lines.append(
            f"| {target} | {int(rows):,} | {concurrency} | {cell['requests']} "
            f"| {cell['p50_ms']:.2f} | {cell['p99_ms']:.2f} | {cell['requests_per_s']:.1f} "
            f"| {cell['requests_per_s'] * int(rows):,.0f} | {'yes' if cell['all_200'] else 'NO'} |"
        )
    lines += [
        "",
        "| CPU ms per request | rows | c | floor | gateway | MLflow (deployed) | mlflow serve "
        "| load generator |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, cell in result["cells"].items():
        if "cpu_ms_per_request" not in cell:
            continue
        target, rows, c = key.split("/")
        cpu = cell["cpu_ms_per_request"]
        values = " | ".join(
            f"{cpu.get(name, float('nan')):.2f}" for name in (*HTTP_TARGETS, "load_generator")
        )
        lines.append(f"| {target} | {int(rows):,} | {c} | {values} |")
    micro = result["in_process_single_row"]
    lines += [
        "",
        "| in process, 1 row (µs) | median | p99 | min | calls |",
        "|---|---:|---:|---:|---:|",
    ]
    rows_us = {
        "Predictor.predict_proba (DataFrame)": micro["predict_proba_1_row"],
        "NumpyScorer.score (parsed rows)": micro["numpy_score_1_row"],
        "NumpyScorer: parse + score": micro["numpy_parse_and_score_1_row"],
        **micro["steps_1_row"],
    }
    for name, t in rows_us.items():
        lines.append(
            f"| {name} | {t['median_us']:.0f} | {t['p99_us']:.0f} | {t['min_us']:.0f} "
            f"| {t['calls']} |"
        )
    lines += ["", "| goal | measured | met |", "|---|---|---|"]
    for goal in result["goals"]:
        lines.append(f"| {goal['goal']} | {goal['measured']} | {'yes' if goal['met'] else 'no'} |")
    for key, label in (
        ("gateway_profile_1_row", "1-row"),
        ("gateway_profile_1000_rows", "1,000-row"),
    ):
        profile = result["breakdown"][key]
        lines += [
            "",
            f"| gateway CPU, {label} request, under cProfile "
            f"({profile['cpu_us_per_request_under_profiler']:.0f} µs/request; garbage collector "
            f"{profile['garbage_collection_us_per_request']:.0f} µs/request more) | share |",
            "|---|---:|",
        ]
        for name, share in profile["share"].items():
            lines.append(f"| {name} | {100 * share:.0f} % |")
    steps = result["breakdown"]["mlflow_server_steps"]
    lines += ["", "| MLflow server step, median ms (in process) | 1 row | 1,000 rows |"]
    lines.append("|---|---:|---:|")
    for name in steps["1"]:
        lines.append(f"| {name} | {steps['1'][name]:.3f} | {steps['1000'][name]:.2f} |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests-1", type=int, default=400, help="timed requests, 1-row cells")
    parser.add_argument("--requests-1000", type=int, default=60, help="same, 1,000-row cells")
    parser.add_argument("--warmup-1", type=int, default=50)
    parser.add_argument("--warmup-1000", type=int, default=10)
    parser.add_argument("--micro-calls", type=int, default=3000)
    parser.add_argument(
        "--serve-workers", type=int, default=1, help="workers of the plain mlflow models serve"
    )
    args = parser.parse_args()
    # numpy's BLAS with one thread, as in the gateway; torch's threads are set per cell.
    rerun_with_env("benchmarks.serving_latency", {"OPENBLAS_NUM_THREADS": "1"})
    requests = {1: args.requests_1, 1000: args.requests_1000}
    warmups = {1: args.warmup_1, 1000: args.warmup_1000}

    os.environ.update(OFFLINE_ENV)
    work = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    (work / "tmp").mkdir()
    gateway_port = free_port()
    env = _env(work, gateway_port)
    repo_config = ROOT / ".zen" / "config.yaml"
    saved = repo_config.read_bytes() if repo_config.is_file() else None
    serve: subprocess.Popen[bytes] | None = None
    floor: subprocess.Popen[bytes] | None = None
    leftovers: list[int] = []
    started = time.time()
    try:
        print("setup (isolated ZenML store):", flush=True)
        checkout = _git()
        copy_checkout(work / "repo")
        _train(env, work)
        bundle_dir, trained, tracking_uri = _export_bundle(env, work, "latest")
        # The copy's data, as materialized by the README's command above.
        frames = _frames(work / "repo" / DATA.relative_to(ROOT))
        # In-process cells first, while no server of this run is up: they measure the
        # predictor's own cost, not its share of 2 cores with four idle servers (their
        # timers and health checks) beside it.
        print("in process (before any server starts)", flush=True)
        in_cells, micro, in_process_answers = _in_process(
            bundle_dir, frames, requests, args.micro_calls
        )
        route = _deploy(env, work)
        if str(route["model_version"]) not in trained.split():
            raise SystemExit(
                f"the deployment serves model version {route['model_version']}, but the "
                f"in-process cells measured {trained}, the version just trained"
            )
        serve, serve_url = _start_mlflow_serve(
            env, tracking_uri, route["registered_version"], work, args.serve_workers
        )
        floor, floor_url = _start_floor(env, bundle_dir, work)
        gateway_health = json.loads(
            urllib.request.urlopen(f"http://127.0.0.1:{gateway_port}/health", timeout=10).read()
        )
        print(f"  gateway health: {gateway_health}", flush=True)
        if gateway_health.get("scoring") != "in_process":
            setup = (work / "setup.log").read_text(errors="replace").splitlines()
            why = [line for line in setup if "in process" in line][-5:]
            raise SystemExit(f"the gateway does not score the deployment in process: {why}")
        urls = {
            "floor": floor_url,
            "gateway": f"http://127.0.0.1:{gateway_port}/invocations",
            "mlflow_deployed": route["url"],
            "mlflow_serve": serve_url,
        }
        print(f"  targets: {json.dumps(urls)}", flush=True)
        servers = _server_pids(
            env["ZENML_CONFIG_PATH"],
            {name: int(urllib.parse.urlsplit(url).port or 80) for name, url in urls.items()},
        )
        print(f"  server pids: {servers}", flush=True)
        if set(servers) != set(urls):
            raise SystemExit(
                f"no process of this run listens on {sorted(set(urls) - set(servers))}: the port "
                "was taken by another ZenML store's model server started at the same time "
                "(ZenML's local deployer picks ports counting up from 8000), so the gateway "
                "routes to a server of another run. Run again when the machine is quieter."
            )
        workers = {name: _workers(pid) for name, pid in servers.items()}
        bodies = {rows: _body(frame) for rows, frame in frames.items()}

        print("warm-up", flush=True)
        answers: dict[str, dict[int, list[float]]] = {}
        for target, url in urls.items():
            answers[target] = {
                rows: _warm_up(url, bodies[rows], warmups[rows], rows) for rows in ROW_COUNTS
            }

        answers["in_process"] = in_process_answers

        cells: dict[str, Any] = {}
        load_average = {"before": os.getloadavg()}
        metrics_before = _gateway_metrics(urls["gateway"])
        for rows in ROW_COUNTS:
            for c in CONCURRENCY:
                # Targets alternate within each cell, so drifting machine noise hits all alike.
                for target in HTTP_TARGETS:
                    print(f"  {target}: {rows} rows, concurrency {c}", flush=True)
                    cells[f"{target}/{rows}/{c}"] = _load(
                        urls[target], bodies[rows], requests[rows], c, servers
                    )
                if c == CONCURRENCY[0]:
                    for name in ("in_process", "in_process_1_thread", "in_process_numpy"):
                        cells[f"{name}/{rows}/1"] = in_cells[f"{name}/{rows}/1"]

        load_average["after"] = os.getloadavg()
        metrics_after = _gateway_metrics(urls["gateway"])
        gateway_cells = [cell for key, cell in cells.items() if key.startswith("gateway/")]
        self_reported = {
            "gateway_histogram_mean_ms": 1000.0
            * (metrics_after["sum"] - metrics_before["sum"])
            / (metrics_after["count"] - metrics_before["count"]),
            "client_mean_ms": sum(c["mean_ms"] * c["requests"] for c in gateway_cells)
            / sum(c["requests"] for c in gateway_cells),
        }

        print("breakdown", flush=True)
        profile_calls = {1: 500, 1000: 30}
        breakdown = {
            "gateway_profile_1_row": _profile_gateway(env, work, bodies[1], 1, requests[1]),
            "gateway_profile_1000_rows": _profile_gateway(
                env, work, bodies[1000], 1000, requests[1000]
            ),
            "mlflow_server_steps": _mlflow_steps(
                tracking_uri, route["registered_version"], frames, profile_calls, work
            ),
        }
        reference = np.asarray(answers["in_process"][1000])
        agreement = {
            target: float(np.max(np.abs(np.asarray(answers[target][1000]) - reference)))
            for target in HTTP_TARGETS
        }
    finally:
        print("teardown", flush=True)
        if floor is not None:
            _stop_group(floor)
        leftovers = _teardown(env, work, serve)
        if saved is not None:
            repo_config.write_bytes(saved)
        shutil.rmtree(work, ignore_errors=True)

    result = {
        "benchmark": "serving_latency",
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(started)),
        "duration_s": round(time.time() - started, 1),
        "model": {
            "name": MODEL_NAME,
            "zenml_version": route["model_version"],
            "registered_version": route["registered_version"],
            "features": len(frames[1].columns),
        },
        "targets": {
            **urls,
            "in_process": "Predictor.predict_proba(DataFrame), sequential",
            "in_process_numpy": "NumpyScorer.score(contract.parse_rows(JSON values)), sequential",
        },
        "gateway_health": gateway_health,
        "method": {
            "client": "one thread per connection, keep-alive http.client, pre-encoded bodies",
            "requests_per_cell": {str(k): v for k, v in requests.items()},
            "warmup_requests": {str(k): v for k, v in warmups.items()},
            "concurrency": list(CONCURRENCY),
            "payload": "rows of data/breast_cancer.csv without target, dataframe_split JSON",
            "payload_bytes": {str(k): len(v) for k, v in bodies.items()},
            "uvicorn_workers": workers,
        },
        "cells": cells,
        "server_pids": servers,
        "load_average_1_5_15_min": load_average,
        "gateway_self_reported_latency": self_reported,
        "in_process_single_row": micro,
        "breakdown": breakdown,
        "max_abs_probability_diff_vs_in_process_1000_rows": agreement,
        "goals": [],
        "leftover_processes_killed": leftovers,
        "checkout": checkout,
        "machine": _machine(),
        "versions": _versions(),
        "note": (
            "On 2 cores the load generator (this process) competes with the servers for CPU; "
            "compare targets with each other rather than reading absolute capacity."
        ),
    }
    result["goals"] = _goals(cells, micro)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print()
    print(_markdown(result))
    print(f"\nprobabilities vs in process (1,000 rows), max abs diff: {agreement}")
    if leftovers:
        print(f"killed leftover processes: {leftovers}")
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
