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
from tabular_classifier.data import encode_target, load_table, split_data, validate_and_infer_schema
from tabular_classifier.data_version import resolve_data_version
from tabular_classifier.evaluation import evaluate, reference_predictions
from tabular_classifier.features import FittedPreprocessor
from tabular_classifier.predictor import ModelBundle, Predictor
from tabular_classifier.training import train_classifier


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
        pre = FittedPreprocessor.fit(train, schema)
        x_train, x_val = (pre.transform(f[schema.feature_columns]) for f in (train, val))
        y_train, y_val = (encode_target(f[schema.target], schema) for f in (train, val))
        hp = model_cfg.model_dump(mode="json")
        hp.pop("description")
        hp["hidden_sizes"] = ",".join(map(str, model_cfg.hidden_sizes))
        mlflow.log_params(hp)

        def log_epoch(r):  # type: ignore[no-untyped-def]
            mlflow.log_metrics(
                {
                    "train_loss": r.train_loss,
                    "train_accuracy": r.train_accuracy,
                    "val_loss": r.val_loss,
                    "val_accuracy": r.val_accuracy,
                    "val_roc_auc": r.val_roc_auc,
                },
                step=r.epoch,
            )

        result = train_classifier(model_cfg, x_train, y_train, x_val, y_val, on_epoch=log_epoch)
        best = result.history[result.best_epoch - 1]
        bundle = ModelBundle(
            model=result.model,
            preprocessor=pre,
            schema=schema,
            model_config=model_cfg,
            decision_threshold=model_cfg.decision_threshold,
            metrics={"val_loss": best.val_loss},
            extra={},
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
