"""Typed values at the step boundaries: the training run config and the record artifacts.

The training pipeline's blocks are validated once, at compile time, into typed configs; the
records steps hand each other round-trip through their materializers (JSON, never pickle)
with a dashboard view.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from materializers.typed_records import (
    DataVersionMaterializer,
    FeatureSchemaMaterializer,
    RecordModelMaterializer,
)
from tabular_classifier.config import ReferenceConfig, SplitConfig
from tabular_classifier.data import FeatureSchema
from tabular_classifier.data_version import DataVersion, file_md5
from tabular_classifier.errors import ConfigError
from tabular_classifier.records import Deployment, Registration, RetrainRun
from tabular_classifier.run_config import compile_training_run

ROOT = Path(__file__).resolve().parents[2]
DATA = {"path": "data/breast_cancer.csv", "target": "target", "positive_label": 1}
MODEL = "configs/models-configs/model_config_001.yaml"

VERSION = DataVersion(
    path="/data/x.csv",
    md5="5afc23b9622f8f9ffa60824f4e97d0d5",
    size_bytes=121_385,
    dvc_tracked=True,
    dvc_file="/data/x.csv.dvc",
    dvc_remote=None,
    git_commit="abc123",
    git_dirty=False,
)
SCHEMA = FeatureSchema(
    target="target",
    positive_label=1,
    negative_label=0,
    numeric_features=["mean radius", "a|b"],
    categorical_features=["colour"],
    dropped_columns=["id"],
)


def test_training_run_is_compiled_into_typed_configs(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "t.csv").write_text("x,target\n1.5,1\n2.5,0\n")
    data = {**DATA, "path": "data/t.csv"}
    run = compile_training_run(
        data, MODEL, {"test_size": 0.25}, {"min_accuracy": 0.8}, None, [tmp_path, ROOT]
    )
    # A path under the first (source) root stays relative: steps resolve it against their own
    # source root, in a container too (tabular_classifier/data_source.py).
    assert run.data.path == "data/t.csv"
    assert Path(run.model_config_path).resolve() == ROOT / MODEL and run.model.name
    assert run.split == SplitConfig(test_size=0.25)
    assert run.reference == ReferenceConfig()
    assert run.promotion.min_accuracy == 0.8
    assert len(run.model_config_sha256) == 64
    # The fingerprint (part of ingest_data's cache key) holds the file's md5.
    assert run.data_fingerprint is not None
    assert file_md5(tmp_path / run.data.path) in run.data_fingerprint


@pytest.mark.parametrize(
    ("block", "value", "source", "key"),
    [
        ("data", {**DATA, "colour": "red"}, "pipeline parameter 'data'", "colour"),
        ("split", {"test_size": 0.7}, "pipeline parameter 'split'", "test_size"),
        ("promotion", {"min_acuracy": 0.8}, "pipeline parameter 'promotion'", "min_acuracy"),
        ("reference", {"max_rows": 10}, "pipeline parameter 'reference'", "max_rows"),
    ],
)
def test_a_bad_block_fails_at_compile_time_naming_it(
    block: str, value: dict[str, Any], source: str, key: str
) -> None:
    blocks: dict[str, Any] = {"data": DATA, "split": None, "promotion": None, "reference": None}
    blocks[block] = value
    with pytest.raises(ConfigError) as caught:
        compile_training_run(
            blocks["data"], MODEL, blocks["split"], blocks["promotion"], blocks["reference"], [ROOT]
        )
    assert caught.value.source == source and caught.value.key == key


def test_a_missing_model_config_file_names_the_parameter_and_the_shipped_configs() -> None:
    # Walkthrough: "model_config_999.yaml: file not found" named neither the run config's
    # parameter nor where relative paths are read from.
    with pytest.raises(ConfigError) as caught:
        compile_training_run(DATA, "configs/models-configs/missing.yaml", None, None, None, [ROOT])
    assert caught.value.source == "pipeline parameter 'model_config_path'"
    assert str(caught.value) == (
        "pipeline parameter 'model_config_path': model config file "
        "configs/models-configs/missing.yaml not found (relative paths are read from the "
        f"repository root, {ROOT}); the shipped ones are "
        "configs/models-configs/model_config_000.yaml (baseline), 001 (production) and 002 "
        "(experimental)"
    )


def test_a_bad_promotion_block_names_every_key_without_a_chained_traceback() -> None:
    # Walkthrough: a pydantic traceback came first, "The above exception was the direct
    # cause", and only the first bad key was named.
    with pytest.raises(ConfigError) as caught:
        compile_training_run(
            DATA, MODEL, None, {"min_accuracy": "high", "min_roc_auc": 1.5}, None, [ROOT]
        )
    error = caught.value
    assert error.__cause__ is None and error.__suppress_context__
    assert error.source == "pipeline parameter 'promotion'" and error.key == "min_accuracy"
    assert "also key 'min_roc_auc'" in str(error)


def test_data_version_round_trips_with_a_table_and_json_view(tmp_path: Path) -> None:
    materializer = DataVersionMaterializer(uri=str(tmp_path))
    materializer.save(VERSION)
    assert materializer.load(DataVersion) == VERSION
    views = materializer.save_visualizations(VERSION)
    kinds = {Path(path).name: kind.value for path, kind in views.items()}
    assert kinds == {"data_version.md": "markdown", "data_version.json": "json"}
    markdown = (tmp_path / "data_version.md").read_text()
    assert "| md5 | 5afc23b9622f8f9ffa60824f4e97d0d5 |" in markdown
    assert "| dvc_remote | – |" in markdown
    assert json.loads((tmp_path / "data_version.json").read_text()) == VERSION.to_dict()


def test_feature_schema_round_trips_with_column_roles(tmp_path: Path) -> None:
    materializer = FeatureSchemaMaterializer(uri=str(tmp_path))
    materializer.save(SCHEMA)
    assert materializer.load(FeatureSchema) == SCHEMA
    materializer.save_visualizations(SCHEMA)
    markdown = (tmp_path / "feature_schema.md").read_text()
    assert "| mean radius | numeric |" in markdown
    assert "| a\\|b | numeric |" in markdown
    assert "| colour | categorical |" in markdown and "| id | dropped |" in markdown


def test_a_damaged_data_version_names_the_missing_field(tmp_path: Path) -> None:
    record = VERSION.to_dict()
    del record["md5"]
    (tmp_path / "data_version.json").write_text(json.dumps(record))
    with pytest.raises(ValueError, match="md5"):
        DataVersionMaterializer(uri=str(tmp_path)).load(DataVersion)


class _LocalFiles:
    """What ZenML's pydantic materializer asks of the artifact store, on local files.

    (ZenML's own local artifact store refuses paths outside its root, here ``tmp_path``.)
    """

    @staticmethod
    def exists(path: str) -> bool:
        return Path(path).exists()


@pytest.mark.parametrize(
    "record",
    [
        Registration(
            zenml_model="m",
            zenml_model_version="3",
            mlflow_model_uri="models:/m-1",
            mlflow_run_id="r",
            registered_model="m",
            registered_version="3",
        ),
        Deployment(
            model_name="m",
            deployment_id="d",
            model_version="3",
            registered_version="3",
            service_id="s",
            url="http://127.0.0.1:8000/invocations",
            previous_model_name=None,
            previous_version=None,
            smoke_max_abs_diff=1e-7,
            gateway="http://127.0.0.1:8100",
        ),
        RetrainRun(run_name="r", status="timed out after 5.0 s", config_path="c.yaml"),
    ],
    ids=["registration", "deployment", "retraining_run"],
)
def test_pydantic_records_round_trip_with_a_json_view(record: Any, tmp_path: Path) -> None:
    materializer = RecordModelMaterializer(uri=str(tmp_path), artifact_store=_LocalFiles())
    materializer.save(record)
    assert materializer.load(type(record)) == record
    [(path, kind)] = materializer.save_visualizations(record).items()
    assert kind.value == "json" and json.loads(Path(path).read_text()) == record.model_dump()


def test_records_refuse_unknown_fields() -> None:
    with pytest.raises(ValueError, match="colour"):
        RetrainRun.model_validate(
            {"run_name": "r", "status": "completed", "config_path": "c", "colour": 1}
        )


@pytest.mark.parametrize("with_previous", [False, True])
def test_deployment_takes_what_the_blue_green_deployment_records(with_previous: bool) -> None:
    """``deploy_model`` validates ``release.blue_green.deploy``'s record into a ``Deployment``."""
    from release.blue_green import deployment_record
    from serving.routing import Route

    def route(version: str) -> Route:
        return Route(
            model_name="m",
            model_version=version,
            registered_version=version,
            service_id=f"service-{version}",
            url="http://127.0.0.1:8001/invocations",
            health_url="http://127.0.0.1:8001/ping",
            contract={},
            deployment_id=f"d{version}",
        )

    previous = route("2") if with_previous else None
    record = Deployment.model_validate(deployment_record(route("3"), previous, 1e-6))
    assert record.model_version == "3" and record.smoke_max_abs_diff == 1e-6
    assert record.previous_version == ("2" if with_previous else None)
    assert record.gateway.startswith("http://127.0.0.1:")
