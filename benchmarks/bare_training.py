"""The training pipeline's work as one plain Python script: no ZenML.

Same imports of the ML package, same data checks, split, preprocessing, training, evaluation and
MLflow logging (params, per-epoch metrics, test metrics, evaluation artifacts, pyfunc model,
registry version) as ``configs/training.yaml`` does through ZenML. Used by
``benchmarks/training_overhead.py`` as the baseline.

Usage (from the repository root or a copy of it):
    python -m benchmarks.bare_training --tracking-uri sqlite:///path/mlflow.db
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import mlflow
import yaml

from serving.mlflow_model import log_pyfunc_model
from tabular_classifier.config import SplitConfig, load_data_config, load_model_config
from tabular_classifier.data import load_table, split_data, validate_and_infer_schema
from tabular_classifier.data_version import resolve_data_version
from tabular_classifier.evaluation import evaluate, reference_predictions
from tabular_classifier.predictor import Predictor
from tabular_classifier.training import fit_bundle


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--config", default="configs/training.yaml")
    args = parser.parse_args()

    run_config = yaml.safe_load(Path(args.config).read_text())
    params = run_config["parameters"]
    data_cfg = load_data_config(params["data"], source="data")
    model_cfg, sha = load_model_config(params["model_config_path"])
    split_cfg = SplitConfig.model_validate(params.get("split") or {})

    mlflow.set_tracking_uri(args.tracking_uri)
    mlflow.set_experiment("bare-training-benchmark")
    with mlflow.start_run():
        version = resolve_data_version(data_cfg.path)
        mlflow.set_tags(
            {"data.md5": version.md5, "git_commit": version.git_commit, "model_config.sha256": sha}
        )
        frame = load_table(data_cfg)
        schema = validate_and_infer_schema(frame, data_cfg, source=data_cfg.path)
        train, val, test = split_data(frame, schema, split_cfg, source=data_cfg.path)
        mlflow.log_params(model_cfg.mlflow_params())
        bundle, _ = fit_bundle(
            model_cfg,
            schema,
            train,
            val,
            na_values=data_cfg.na_values,
            on_epoch=lambda r: mlflow.log_metrics(r.metrics(), step=r.epoch),
        )
        predictor = Predictor(bundle)
        report = evaluate(predictor, test, schema)
        reference_predictions(predictor, train, schema)
        mlflow.log_metrics(report.metrics)
        with tempfile.TemporaryDirectory() as tmp:
            for name, png in report.plots.items():
                (Path(tmp) / f"{name}.png").write_bytes(png)
            (Path(tmp) / "classification_report.txt").write_text(report.classification_report_text)
            (Path(tmp) / "classification_report.json").write_text(
                json.dumps(report.classification_report)
            )
            mlflow.log_artifacts(tmp, artifact_path="evaluation")
        info = log_pyfunc_model(bundle, report, "bare")
        mlflow.register_model(info.model_uri, "bare_training_benchmark")
        print(json.dumps(report.metrics))


if __name__ == "__main__":
    main()
