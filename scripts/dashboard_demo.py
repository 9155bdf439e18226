"""A ZenML store as a new user has it after the README, served by ``zenml login --local``.

    python -m scripts.dashboard_demo     # build it, serve it, print the URL; Ctrl-C stops all

(``kill PID`` stops all too: a background job started by a script ignores Ctrl-C's SIGINT.)

In a temporary copy of the checkout (like a fresh clone) with its own ZenML config directory
(so its own SQLite store, artifact store and MLflow database), it runs the README's commands:

1. ``scripts/quickstart.sh``: a training run (and the dashboard settings it applies);
2. the deployment pipeline: a deployment run, serving on a free gateway port;
3. ``python -m scripts.drift_demo --kind drifted`` (200 shifted rows through the gateway), then
   the monitoring pipeline on them: a monitoring run with a drift alert;
4. ``python -m release stop`` (nothing stays served), then ``zenml login --local`` on a free
   port: the dashboard the browser test, the README's screenshots and the drift-report
   benchmark open.

Every command runs in a subprocess with that config directory: the calling process never
imports a ZenML client, so it neither touches nor depends on anyone's ZenML store. The user's
own ``zenml login --local`` server on 8237, if any, is left alone.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts.isolated_checkout import OFFLINE_ENV, copy_checkout, run_in_checkout
from scripts.ports import free_port

MODEL_NAME = "breast_cancer_classifier"


@dataclass
class DemoStore:
    """The isolated checkout, its ZenML config directory and the dashboard serving it.

    Attributes:
        base: The temporary folder holding both (removed by :meth:`remove`).
        root: The copy of the checkout.
        env: The environment every command runs with.
        url: The dashboard's base URL once :meth:`serve` ran, e.g. ``http://127.0.0.1:41234``.
        runs: Run ids by kind (``training``, ``deployment``, ``monitoring``) after :meth:`build`.
        seconds: Wall time of each stage, in seconds.
    """

    base: Path
    root: Path
    env: dict[str, str]
    url: str = ""
    runs: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @classmethod
    def create(cls) -> DemoStore:
        """Copy the checkout to a new temporary folder and prepare its environment.

        Returns:
            The store, not built yet.
        """
        base = Path(tempfile.mkdtemp(prefix="dashboard-demo-"))
        root = copy_checkout(base / "repo")
        env = {**os.environ, **OFFLINE_ENV}
        for name in ("ZENML_STORE_URL", "ZENML_REPOSITORY_PATH", "VIRTUAL_ENV"):
            env.pop(name, None)
        env.update(
            {
                "ZENML_CONFIG_PATH": str(base / "zenml-config"),
                "ZENML_AUTO_OPEN_DASHBOARD": "false",
                "TABULAR_GATEWAY_PORT": str(free_port()),
                "PATH": f"{root / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}",
            }
        )
        return cls(base=base, root=root, env=env)

    @property
    def config_dir(self) -> Path:
        """The ZenML config directory (store, artifact store, alerts, prediction log)."""
        return Path(self.env["ZENML_CONFIG_PATH"])

    def run(
        self, *args: str, check: bool = True, timeout: int = 900
    ) -> subprocess.CompletedProcess[str]:
        """Run a command in the checkout with the store's environment.

        Raises:
            RuntimeError: When ``check`` and the command exits non-zero (its output included).
        """
        return run_in_checkout(args, self.root, self.env, check=check, timeout=timeout)

    def _timed(self, stage: str, *args: str) -> subprocess.CompletedProcess[str]:
        start = time.perf_counter()
        result = self.run(*args)
        self.seconds[stage] = round(time.perf_counter() - start, 1)
        return result

    def build(self) -> None:
        """Run the training, deployment and monitoring pipelines, then stop the deployment.

        Raises:
            RuntimeError: When a command fails (its output included).
        """
        pipeline = ("zenml", "pipeline", "run")
        self._timed("training", "bash", "scripts/quickstart.sh")
        try:
            self._timed(
                "deployment",
                *pipeline,
                "pipelines.deployment.deployment_pipeline",
                "-c",
                "configs/deployment.yaml",
            )
            sent = self._timed(
                "drift_demo", "python", "-m", "scripts.drift_demo", "--kind", "drifted"
            )
            config = sent.stdout.strip().splitlines()[-1].split(" -c ")[-1]
            self._timed(
                "monitoring", *pipeline, "pipelines.monitoring.monitoring_pipeline", "-c", config
            )
        finally:
            self.run("python", "-m", "release", "stop", check=False)

    def serve(self, port: int | None = None) -> str:
        """``zenml login --local`` on a free port (or ``port``); records the run ids.

        Returns:
            The dashboard's base URL.

        Raises:
            RuntimeError: When the server does not start.
        """
        port = port or free_port()
        start = time.perf_counter()
        self.run("zenml", "login", "--local", "--port", str(port), "--ip-address", "127.0.0.1")
        self.seconds["login"] = round(time.perf_counter() - start, 1)
        self.url = f"http://127.0.0.1:{port}"
        for kind, pipeline in (
            ("training", "training_pipeline"),
            ("deployment", "deployment_pipeline"),
            ("monitoring", "monitoring_pipeline"),
        ):
            runs = self.api(f"runs?pipeline_name={pipeline}&sort_by=desc:created&size=1")
            if runs["items"]:
                self.runs[kind] = runs["items"][0]["id"]
        return self.url

    def api(self, path: str) -> Any:
        """``GET /api/v1/<path>`` on the local server (it runs without authentication)."""
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}", timeout=30) as response:
            return json.loads(response.read())

    def step_output(self, run_id: str, step: str, output: str) -> dict[str, Any]:
        """The artifact version (REST response) that a step of a run produced.

        Raises:
            LookupError: When the step or the output does not exist.
        """
        steps = self.api(f"steps?pipeline_run_id={run_id}&name={step}&hydrate=true")["items"]
        if len(steps) != 1 or output not in steps[0]["resources"]["outputs"]:
            raise LookupError(f"run {run_id} has no step {step} with output {output}")
        return dict(steps[0]["resources"]["outputs"][output][0])

    def stop(self) -> None:
        """Stop the dashboard (``zenml logout --local``) and anything still served."""
        if self.url:
            self.run("zenml", "logout", "--local", check=False, timeout=120)
            self.url = ""
        self.run("python", "-m", "release", "stop", check=False, timeout=300)

    def remove(self) -> None:
        """Stop everything and delete the temporary folder."""
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    """Build and serve a demo store until interrupted (SIGINT or SIGTERM); then remove it."""
    signal.signal(signal.SIGTERM, _interrupt)
    store = DemoStore.create()
    try:
        store.build()
        print(
            f"dashboard: {store.serve()}  (runs: {store.runs}; Ctrl-C or kill stops it)", flush=True
        )
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        store.remove()


if __name__ == "__main__":
    raise SystemExit(main())
