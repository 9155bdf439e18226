"""Drift demonstration on the quickstart data, through the real serving endpoint.

    python -m scripts.drift_demo --kind reference   # held-out rows as they are: no drift
    python -m scripts.drift_demo --kind drifted     # a shifted subpopulation: drift

Both send held-out rows of the quickstart data (the test split the training pipeline never
trained on, rebuilt from ``configs/training.yaml``'s split settings) to the gateway
(``http://127.0.0.1:$TABULAR_GATEWAY_PORT/invocations``, default port 8765), which answers
them with the production model and appends them to the prediction log.

``--kind drifted`` sends a realistic shifted population: malignant tumours only (class 0, 37 %
of the held-out rows) drawn with replacement - the situation of a referral clinic that starts
sending only suspicious cases. Nearly every feature's distribution and the share of positive
predictions move with it.

Each run writes a monitoring run config whose window starts at the first request it sent and
prints the command that monitors exactly that window::

    zenml pipeline run pipelines.monitoring.monitoring_pipeline -c <written config>

A deployment must be running (``zenml pipeline run pipelines.deployment.deployment_pipeline
-c configs/deployment.yaml``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
TRAINING_CONFIG = REPO_ROOT / "configs" / "training.yaml"
MONITORING_CONFIG = REPO_ROOT / "configs" / "monitoring.yaml"
BATCH_ROWS = 25


def heldout_rows(training_config: Path = TRAINING_CONFIG) -> tuple[pd.DataFrame, Any]:
    """The test split of the training data, exactly as the training pipeline drew it.

    Args:
        training_config: The training run config (its ``data`` and ``split`` parameters).

    Returns:
        The held-out rows (all columns, target included) and the data schema.

    Raises:
        ConfigError / DataValidationError: As the training pipeline's own loading would.
    """
    from tabular_classifier.config import load_data_config, load_split_config, resolve_path
    from tabular_classifier.data import load_table, split_data, validate_and_infer_schema

    params = yaml.safe_load(training_config.read_text(encoding="utf-8"))["parameters"]
    data_cfg = load_data_config(params["data"], str(training_config))
    data_cfg = data_cfg.model_copy(
        update={"path": resolve_path(data_cfg.path, [training_config.parent.parent])}
    )
    split_cfg = load_split_config(params.get("split"), str(training_config))
    table = load_table(data_cfg)
    schema = validate_and_infer_schema(table, data_cfg, data_cfg.path)
    _train, _val, test = split_data(table, schema, split_cfg, data_cfg.path)
    return test, schema


def demo_batch(
    kind: str, rows: int | None = None, seed: int = 7, training_config: Path = TRAINING_CONFIG
) -> tuple[pd.DataFrame, Any]:
    """The rows to send: the held-out split (``reference``) or its malignant subpopulation.

    Args:
        kind: ``reference`` or ``drifted``.
        rows: Rows to draw (default: all held-out rows for ``reference``, 200 for ``drifted``).
        seed: Seed of the draw with replacement.
        training_config: The training run config the held-out split is rebuilt from.

    Returns:
        Feature columns only (target dropped), and the schema.

    Raises:
        ValueError: On an unknown kind.
    """
    test, schema = heldout_rows(training_config)
    rng = np.random.default_rng(seed)
    if kind == "reference":
        batch = (
            test
            if rows is None
            else test.sample(n=rows, replace=rows > len(test), random_state=seed)
        )
    elif kind == "drifted":
        negative = test[test[schema.target].astype(str) == str(schema.negative_label)]
        picks = rng.integers(0, len(negative), size=rows or 200)
        batch = negative.iloc[picks]
    else:
        raise ValueError(f"unknown kind {kind!r}: use 'reference' or 'drifted'")
    return batch[schema.feature_columns].reset_index(drop=True), schema


def send(batch: pd.DataFrame, url: str, batch_rows: int = BATCH_ROWS) -> int:
    """POST the rows to the gateway in MLflow's ``dataframe_split`` format.

    Args:
        batch: Feature rows.
        url: The gateway's ``/invocations`` URL.
        batch_rows: Rows per request.

    Returns:
        The number of rows answered.

    Raises:
        RuntimeError: On a non-200 answer or an unreachable gateway (the message says which).
    """
    answered = 0
    for start in range(0, len(batch), batch_rows):
        chunk = batch.iloc[start : start + batch_rows]
        body = json.dumps(
            {"dataframe_split": {"columns": list(chunk.columns), "data": chunk.to_numpy().tolist()}}
        ).encode()
        request = urllib.request.Request(
            url, data=body, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                answer = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"{url} answered {exc.code}: {exc.read()[:500]!r}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise RuntimeError(
                f"{url} unreachable ({exc}); deploy first: zenml pipeline run "
                "pipelines.deployment.deployment_pipeline -c configs/deployment.yaml"
            ) from exc
        answered += len(answer["predictions"])
    return answered


def write_monitoring_config(kind: str, since: str, directory: Path) -> Path:
    """A copy of ``configs/monitoring.yaml`` whose window starts at ``since``.

    Returns:
        The written file.
    """
    config = yaml.safe_load(MONITORING_CONFIG.read_text(encoding="utf-8"))
    window = config["parameters"]["monitoring"]["window"]
    window.update({"since": since, "last_n": None})
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"monitoring-{kind}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    """Send the batch, write the monitoring config, print the command. Exit 1 on failure."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kind", choices=("reference", "drifted"), required=True)
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--seed", type=int, default=7)
    port = os.environ.get("TABULAR_GATEWAY_PORT", "8765")
    parser.add_argument("--url", default=f"http://127.0.0.1:{port}/invocations")
    parser.add_argument("--config-dir", type=Path, default=REPO_ROOT / "configs" / "generated")
    args = parser.parse_args(argv)
    batch, _schema = demo_batch(args.kind, args.rows, args.seed)
    since = datetime.now(UTC).isoformat()
    try:
        answered = send(batch, args.url)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    config = write_monitoring_config(args.kind, since, args.config_dir)
    print(f"sent {answered} {args.kind} rows to {args.url} (window starts {since})")
    print(f"monitor them: zenml pipeline run pipelines.monitoring.monitoring_pipeline -c {config}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
