"""Config validation: every error names the file (or source) and the offending key."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pydantic
import pytest
import yaml

from tabular_classifier.config import (
    DataConfig,
    ModelConfig,
    SplitConfig,
    config_to_dict,
    load_data_config,
    load_model_config,
)
from tabular_classifier.config_files import parameter_source
from tabular_classifier.errors import ConfigError, DataValidationError

VALID_MODEL_YAML = """\
name: baseline
description: one hidden layer
hidden_sizes: [16, 8]
activation: relu
dropout: 0.1
learning_rate: 1e-3
weight_decay: 0.0
batch_size: 32
epochs: 20
early_stopping_patience: 5
class_weighting: balanced
decision_threshold: 0.5
seed: 7
"""


def _write(tmp_path: Path, text: str, name: str = "model_config_009.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _with(key: str, value: str) -> str:
    lines = [line for line in VALID_MODEL_YAML.splitlines() if not line.startswith(f"{key}:")]
    return "\n".join([*lines, f"{key}: {value}"]) + "\n"


def test_valid_model_config_loads_with_file_hash(tmp_path: Path) -> None:
    path = _write(tmp_path, VALID_MODEL_YAML)
    cfg, digest = load_model_config(path)
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert cfg.hidden_sizes == [16, 8]
    assert cfg.class_weighting == "balanced"
    assert cfg.seed == 7


def test_exponent_without_dot_is_a_float(tmp_path: Path) -> None:
    # YAML 1.1 reads "1e-3" as a string; the loader must not.
    cfg, _ = load_model_config(_write(tmp_path, VALID_MODEL_YAML))
    assert cfg.learning_rate == pytest.approx(0.001)
    assert isinstance(yaml.safe_load("a: 1e-3")["a"], str), "the global SafeLoader was modified"


def test_hash_changes_with_content(tmp_path: Path) -> None:
    _, first = load_model_config(_write(tmp_path, VALID_MODEL_YAML, "a.yaml"))
    _, second = load_model_config(_write(tmp_path, VALID_MODEL_YAML + "# comment\n", "b.yaml"))
    assert first != second


def test_unknown_key_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, VALID_MODEL_YAML + "drop_out: 0.2\n")
    with pytest.raises(ConfigError) as info:
        load_model_config(path)
    assert info.value.key == "drop_out"
    assert info.value.source == str(path)
    assert str(info.value).startswith(f"{path}: key 'drop_out': ")


@pytest.mark.parametrize(
    ("key", "value", "expected_key", "expected_message"),
    [
        ("dropout", "1.0", "dropout", "Input should be less than 1"),
        ("dropout", "-0.1", "dropout", "greater than or equal to 0"),
        ("learning_rate", "0", "learning_rate", "greater than 0"),
        ("learning_rate", "1.5", "learning_rate", "less than or equal to 1"),
        ("hidden_sizes", "[16, 0]", "hidden_sizes.1", "greater than or equal to 1"),
        ("hidden_sizes", "[8192]", "hidden_sizes.0", "less than or equal to 4096"),
        ("hidden_sizes", "[]", "hidden_sizes", "at least 1 item"),
        ("hidden_sizes", "[1, 1, 1, 1, 1, 1, 1, 1, 1]", "hidden_sizes", "at most 8 items"),
        ("batch_size", "0", "batch_size", "greater than or equal to 1"),
        ("batch_size", "32.5", "batch_size", "valid integer"),
        ("epochs", '"10"', "epochs", "valid integer"),
        ("epochs", "true", "epochs", "valid integer"),
        ("early_stopping_patience", "1001", "early_stopping_patience", "less than or equal"),
        ("activation", "sigmoid", "activation", "'relu', 'gelu', 'tanh' or 'leaky_relu'"),
        ("class_weighting", "auto", "class_weighting", "'none' or 'balanced'"),
        ("decision_threshold", "1.0", "decision_threshold", "less than 1"),
        ("seed", "-1", "seed", "greater than or equal to 0"),
        ("weight_decay", "-0.5", "weight_decay", "greater than or equal to 0"),
    ],
)
def test_out_of_range_value_is_named(
    tmp_path: Path, key: str, value: str, expected_key: str, expected_message: str
) -> None:
    path = _write(tmp_path, _with(key, value))
    with pytest.raises(ConfigError) as info:
        load_model_config(path)
    assert info.value.key == expected_key
    assert str(path) in str(info.value)
    assert f"key '{expected_key}'" in str(info.value)
    assert expected_message in str(info.value)


def test_every_bad_key_is_named_in_one_message(tmp_path: Path) -> None:
    # Walkthrough: a file with three mistakes needed three runs to find them.
    text = (
        VALID_MODEL_YAML.replace("dropout: 0.1", "dropout: 1.0")
        .replace("batch_size: 32", "batch_size: 0")
        .replace("epochs:", "epoch:")
    )
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_model_config(path)
    assert info.value.key == "dropout"
    assert str(info.value) == (
        f"{path}: key 'dropout': Input should be less than 1"
        "; also key 'batch_size': Input should be greater than or equal to 1"
        "; also key 'epochs': Field required"
        "; also key 'epoch': Extra inputs are not permitted (did you mean 'epochs'?)"
    )


def test_bad_keys_past_the_tenth_are_counted(tmp_path: Path) -> None:
    path = _write(tmp_path, VALID_MODEL_YAML + "".join(f"extra_{i}: 1\n" for i in range(12)))
    with pytest.raises(ConfigError) as info:
        load_model_config(path)
    message = str(info.value)
    assert info.value.key == "extra_0"
    assert "also key 'extra_9'" in message and "extra_10" not in message
    assert message.endswith("; and 2 more bad keys")


def test_missing_required_key_is_named(tmp_path: Path) -> None:
    text = "\n".join(
        line for line in VALID_MODEL_YAML.splitlines() if not line.startswith("epochs:")
    )
    with pytest.raises(ConfigError, match="key 'epochs': Field required"):
        load_model_config(_write(tmp_path, text))


def test_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(ConfigError) as info:
        load_model_config(path)
    assert info.value.key is None
    assert str(info.value) == f"{path}: file not found"


def test_invalid_yaml_is_reported_with_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: [unclosed\n")
    with pytest.raises(ConfigError, match="invalid YAML") as info:
        load_model_config(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n", ""])
def test_non_mapping_is_rejected(tmp_path: Path, text: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError, match="expected a mapping") as info:
        load_model_config(path)
    assert str(path) in str(info.value)


def test_config_to_dict_is_json_safe_and_round_trips(tmp_path: Path) -> None:
    cfg, _ = load_model_config(_write(tmp_path, VALID_MODEL_YAML))
    dumped = json.loads(json.dumps(config_to_dict(cfg)))
    assert ModelConfig.model_validate(dumped) == cfg
    split = SplitConfig(test_size=0.25, val_size=0.15, random_state=3)
    assert SplitConfig.model_validate(json.loads(json.dumps(config_to_dict(split)))) == split


def test_data_config_from_mapping_and_yaml(tmp_path: Path) -> None:
    raw: dict[str, Any] = {"path": "data/x.csv", "target": "churn", "positive_label": "Yes"}
    assert load_data_config(raw) == DataConfig(**raw)
    path = _write(tmp_path, yaml.safe_dump(raw), "data.yaml")
    assert load_data_config(path) == DataConfig(**raw)


def test_data_config_positive_label_keeps_yaml_type(tmp_path: Path) -> None:
    assert (
        load_data_config({"path": "a.csv", "target": "t", "positive_label": 1}).positive_label == 1
    )
    cfg = load_data_config(_write(tmp_path, "path: a.csv\ntarget: t\npositive_label: true\n"))
    assert cfg.positive_label is True


@pytest.mark.parametrize(
    ("extra", "key", "message"),
    [
        ({"colour": "red"}, "colour", "Extra inputs are not permitted"),
        ({"numeric_features": ["t"]}, "numeric_features", "cannot be a feature"),
        ({"numeric_features": ["a", "a"]}, "numeric_features", "listed twice"),
        (
            {"numeric_features": ["a"], "categorical_features": ["a"]},
            "categorical_features",
            "also listed in numeric_features",
        ),
        ({"drop_columns": ["t"]}, "drop_columns", "cannot be dropped"),
        ({"numeric_features": ["a"], "drop_columns": ["a"]}, "drop_columns", "both dropped"),
        ({"file_format": "xlsx"}, "file_format", "'csv' or 'parquet'"),
    ],
)
def test_data_config_errors_name_source_and_key(
    extra: dict[str, object], key: str, message: str
) -> None:
    raw = {"path": "a.csv", "target": "t", "positive_label": 1, **extra}
    with pytest.raises(ConfigError) as info:
        load_data_config(raw, source="configs/training.yaml")
    assert info.value.key == key
    assert str(info.value).startswith(f"configs/training.yaml: key '{key}': ")
    assert message in str(info.value)


def test_data_config_missing_yaml_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_data_config(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("path", "declared", "expected"),
    [
        ("data/x.csv", None, "csv"),
        ("data/x.CSV.GZ", None, "csv"),
        ("data/x.parquet", None, "parquet"),
        ("data/x.pq", None, "parquet"),
        ("data/x.txt", "csv", "csv"),
    ],
)
def test_file_format_inference(path: str, declared: str | None, expected: str) -> None:
    cfg = DataConfig(path=path, target="t", positive_label=1, file_format=declared)  # type: ignore[arg-type]
    assert cfg.resolved_file_format() == expected


def test_unknown_suffix_without_format_names_the_file() -> None:
    cfg = DataConfig(path="data/x.txt", target="t", positive_label=1)
    with pytest.raises(DataValidationError, match=r"^data/x\.txt: cannot infer the file format"):
        cfg.resolved_file_format()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"test_size": 0.0}, "test_size"),
        ({"test_size": 0.5}, "test_size"),
        ({"val_size": 0.6}, "val_size"),
        ({"test_size": 0.4, "val_size": 0.4}, "val_size"),
    ],
)
def test_split_config_bounds(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        SplitConfig(**kwargs)
    assert info.value.errors()[0]["loc"] == (field,)


def test_split_config_defaults() -> None:
    split = SplitConfig()
    assert (split.test_size, split.val_size, split.random_state) == (0.2, 0.2, 42)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["zenml", "pipeline", "run", "p.q", "-c", "configs/a.yaml"], "configs/a.yaml: "),
        (["zenml", "pipeline", "run", "p.q", "--config", "b.yaml"], "b.yaml: "),
        (["zenml", "pipeline", "run", "p.q", "--config=c.yaml"], "c.yaml: "),
        (["zenml", "pipeline", "run", "p.q", "-cd.yaml"], "d.yaml: "),
        (["python", "-m", "pytest", "-c", "pytest.ini"], ""),
        (["zenml", "pipeline", "run", "p.q"], ""),
    ],
)
def test_a_parameter_is_named_with_the_run_config_file_of_the_command_line(
    argv: list[str], expected: str
) -> None:
    assert parameter_source("data", argv) == f"{expected}pipeline parameter 'data'"


def test_a_run_config_error_names_the_file_the_parameter_and_every_bad_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Walkthrough: "targt:" for "target:" gave "pipeline parameter 'data': key 'target': Field
    # required", naming neither the -c file nor the misspelt key.
    from tabular_classifier.run_config import compile_training_run

    argv = ["zenml", "pipeline", "run", "pipelines.training.training_pipeline", "-c", "my.yaml"]
    monkeypatch.setattr("sys.argv", argv)
    data = {"path": "data/x.csv", "targt": "label", "positive_label": 1}
    with pytest.raises(ConfigError) as info:
        compile_training_run(
            data, "configs/models-configs/model_config_001.yaml", None, None, None, ["."]
        )
    assert str(info.value) == (
        "my.yaml: pipeline parameter 'data': key 'target': Field required"
        "; also key 'targt': Extra inputs are not permitted (did you mean 'target'?)"
    )
    assert info.value.__cause__ is None and info.value.__suppress_context__


@pytest.mark.parametrize(
    ("source", "parameters", "expected"),
    [
        (
            "pipelines.training.training_pipeline",
            {"data": {}, "promotoin": {}},
            "key 'promotoin': not a parameter (did you mean 'promotion'? parameters: data, "
            "model_config_path, split, model_name, promotion, reference)",
        ),
        (
            "pipelines.batch_inference.batch_inference_pipeline",
            {"path": "x.csv", "model_name": "m", "passthrough_column": ["id"]},
            "key 'passthrough_column': not a parameter (did you mean 'passthrough_columns'?",
        ),
        (
            "pipelines.deployment.deployment_pipeline",
            {},
            "key 'model_name': required, and missing",
        ),
        (
            "pipelines.monitoring.monitoring_pipeline",
            {"monitoring": "window.yaml"},
            "key 'monitoring': Input should be a valid dictionary",
        ),
    ],
)
def test_a_bad_pipeline_parameter_names_the_file_the_pipeline_and_the_key(
    monkeypatch: pytest.MonkeyPatch, source: str, parameters: dict[str, Any], expected: str
) -> None:
    # Walkthrough: "promotoin:" in a run config gave ZenML's "Invalid or missing pipeline
    # function entrypoint arguments. Only JSON serializable inputs are allowed ...".
    import importlib

    module, name = source.rsplit(".", 1)
    pipeline = getattr(importlib.import_module(module), name)
    monkeypatch.setattr("sys.argv", ["zenml", "pipeline", "run", source, "-c", "my.yaml"])
    with pytest.raises(ConfigError) as info:
        pipeline.prepare(**parameters)
    assert str(info.value).startswith(f"my.yaml: parameters of {pipeline.name}: {expected}")
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_every_bad_pipeline_parameter_is_named_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.training import training_pipeline

    monkeypatch.setattr("sys.argv", ["python"])
    with pytest.raises(ConfigError) as info:
        training_pipeline.prepare(split=3, promotoin={})
    assert str(info.value) == (
        "parameters of training_pipeline: key 'data': required, and missing; also key 'split': "
        "Input should be a valid dictionary; also key 'promotoin': not a parameter (did you mean "
        "'promotion'? parameters: data, model_config_path, split, model_name, promotion, "
        "reference)"
    )


def test_a_union_parameter_of_the_wrong_type_names_the_parameter_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Walkthrough: "version: [1]" gave "key 'version.str': ...; also key 'version.int': ...".
    from pipelines.batch_inference import batch_inference_pipeline

    monkeypatch.setattr("sys.argv", ["python"])
    with pytest.raises(ConfigError) as info:
        batch_inference_pipeline.prepare(path="b.csv", model_name="m", version=[1])
    assert str(info.value) == (
        "parameters of batch_inference_pipeline: key 'version': expected a valid string or a "
        "valid integer"
    )


def test_a_run_config_without_a_parameters_block_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Walkthrough: "paramters:" at the top of the file was reported as "key 'data': required,
    # and missing", without a word about the misspelt block.
    from pipelines.training import training_pipeline

    config = tmp_path / "my.yaml"
    config.write_text("paramters:\n  data: {}\nsettings: {}\n")
    argv = ["zenml", "pipeline", "run", "pipelines.training.training_pipeline", "-c", str(config)]
    monkeypatch.setattr("sys.argv", argv)
    with pytest.raises(ConfigError) as info:
        training_pipeline.prepare()
    assert str(info.value) == (
        f"{config}: parameters of training_pipeline: key 'data': required, and missing; "
        f"{config} has no 'parameters:' block (did you mean 'paramters'?), top-level keys: "
        "paramters, settings"
    )
