"""The current window: selection, sampling, latency and validation, on real log files.

Bad rows of the prediction log are left out and reported (file and line); a window file given by
``window.path`` is the user's export, where the first bad row fails the run.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tabular_classifier.contract import FeatureSpec, RowContract
from tabular_classifier.errors import ConfigError, DataValidationError
from tabular_classifier.monitoring.config import WindowConfig, load_monitoring_config
from tabular_classifier.monitoring.window import read_labelled_predictions, read_window
from tabular_classifier.monitoring.window_index import latency_percentiles

NUMERIC = ["a", "b"]
CATEGORICAL = ["c"]
T0 = datetime(2026, 11, 1, tzinfo=UTC)


CONTRACT = RowContract(
    [FeatureSpec("a", "float"), FeatureSpec("b", "float"), FeatureSpec("c", "categorical")]
)


def _features(_version: str | None) -> RowContract:
    return CONTRACT


def _rows(n: int, version: str, start: int = 0, latency: float = 5.0) -> list[dict]:
    return [
        {
            "prediction_id": f"{version}-{start + i}",
            "timestamp": (T0 + timedelta(seconds=start + i)).isoformat(),
            "model_version": version,
            "a": float(i),
            "b": float(i) * 2,
            "c": "x" if i % 2 else "y",
            "probability": 0.8,
            "label": "1",
            "latency_ms": latency + i,
            "source": "serving",
        }
        for i in range(n)
    ]


def _write_jsonl(directory: Path, rows: list[dict], day: str = "2026-11-01") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"serving-{day}.jsonl"
    with path.open("a") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")
    return path


def test_newest_version_last_n_and_latency(tmp_path: Path) -> None:
    _write_jsonl(tmp_path, _rows(30, "1") + _rows(50, "2", start=100))
    window, info = read_window(WindowConfig(last_n=20), tmp_path, _features)
    assert info.model_version == "2"
    assert info.other_versions == {"1": 30}
    assert info.rows_in_window == 20 and len(window) == 20
    # the newest 20 of version 2: seconds 130..149 -> a = 30..49
    assert window["a"].tolist() == [float(i) for i in range(30, 50)]
    assert info.start == (T0 + timedelta(seconds=130)).isoformat()
    assert info.latency["n"] == 20
    assert info.latency["p50_ms"] == pytest.approx(np.percentile(np.arange(30, 50) + 5.0, 50))
    assert list(window.columns[-3:]) == [
        "prediction_probability",
        "prediction_label",
        "prediction_id",
    ]


def test_time_window_and_batch_parquet(tmp_path: Path) -> None:
    _write_jsonl(tmp_path, _rows(10, "3"))
    batch = pd.DataFrame(_rows(40, "3", start=1000))
    batch["latency_ms"] = np.nan
    batch.to_parquet(tmp_path / "batch-run1.parquet", index=False)
    cfg = WindowConfig(since=T0 + timedelta(seconds=5), until=T0 + timedelta(seconds=1010))
    window, info = read_window(cfg, tmp_path, _features)
    assert info.rows_in_window == 5 + 10
    assert info.latency["n"] == 5  # batch rows carry no latency
    assert window["a"].dtype == np.float64 and window["c"].dtype == object


def test_sampling_is_uniform_bounded_and_keeps_exact_latency(tmp_path: Path) -> None:
    _write_jsonl(tmp_path, _rows(5000, "1"))
    window, info = read_window(WindowConfig(max_rows=500, sample_seed=3), tmp_path, _features)
    assert info.sampled and info.rows_in_window == 5000 and len(window) == 500
    assert window["prediction_id"].is_unique
    # spread over the whole window, not the first rows
    assert window["a"].min() < 500 and window["a"].max() > 4500
    assert info.latency["n"] == 5000  # percentiles over every row, not the sample
    again, _ = read_window(WindowConfig(max_rows=500, sample_seed=3), tmp_path, _features)
    assert again["prediction_id"].tolist() == window["prediction_id"].tolist()


def test_file_without_a_feature_is_skipped_in_the_log_and_refused_as_a_window_file(
    tmp_path: Path,
) -> None:
    rows = _rows(10, "1")
    for row in rows:
        del row["b"]
    path = _write_jsonl(tmp_path / "log", rows)
    window, info = read_window(WindowConfig(), tmp_path / "log", _features)
    assert window.empty and info.rows_in_window == 10
    assert info.skipped["total"] == 10
    assert info.skipped["examples"][0]["kind"] == "missing_column"
    assert info.skipped["examples"][0]["column"] == "b"
    with pytest.raises(DataValidationError) as err:
        read_window(WindowConfig(path=str(path), model_version="1"), tmp_path, _features)
    assert err.value.column == "b" and err.value.source == str(path)


def test_a_serving_file_shared_with_another_model_is_read_line_by_line(tmp_path: Path) -> None:
    # One serving log per day holds every model's lines: another model with other features
    # wrote first. Its lines must not make this model's lines look like they lack columns.
    other = [
        {
            "prediction_id": f"other-{i}",
            "timestamp": (T0 + timedelta(seconds=i)).isoformat(),
            "model_name": "other_model",
            "model_version": "7",
            "radius": 1.0,
            "probability": 0.4,
            "label": "0",
            "latency_ms": 2.0,
        }
        for i in range(5)
    ]
    mine = [{**row, "model_name": "mine"} for row in _rows(12, "1", start=100)]
    incomplete = {**mine[0], "prediction_id": "no-b", "timestamp": (T0 + timedelta(1)).isoformat()}
    del incomplete["b"]
    path = _write_jsonl(tmp_path, [*other, *mine, incomplete])
    window, info = read_window(WindowConfig(), tmp_path, _features, model_name="mine")
    assert info.rows_in_window == 13 and len(window) == 12
    assert window["prediction_id"].tolist() == [row["prediction_id"] for row in mine]
    assert info.skipped["total"] == 1
    (example,) = info.skipped["examples"]
    assert (example["kind"], example["column"], example["line"]) == ("missing_column", "b", 18)
    with pytest.raises(DataValidationError) as err:
        read_window(WindowConfig(path=str(path), model_version="1"), tmp_path, _features, "mine")
    assert err.value.column == "b" and "line 18" in str(err.value)


@pytest.mark.parametrize(
    ("column", "value", "kind"),
    [
        ("a", "twelve", "wrong_type"),
        ("b", float("inf"), "not_finite"),
        ("a", 1e308, None),  # no scorable bound in this contract: a valid, extreme value
        ("probability", 1.7, "bad_probability"),
        ("probability", None, "bad_probability"),
        ("timestamp", "yesterday", "bad_timestamp"),
    ],
)
def test_bad_log_rows_are_left_out_and_reported_with_file_and_line(
    tmp_path: Path, column: str, value: object, kind: str | None
) -> None:
    rows = _rows(10, "1")
    rows[3][column] = value
    path = _write_jsonl(tmp_path, rows)
    window, info = read_window(WindowConfig(), tmp_path, _features)
    if kind is None:
        assert len(window) == 10 and info.skipped["total"] == 0
        return
    assert len(window) == 9 and info.rows_used == 9
    assert info.skipped["total"] == 1 and info.skipped["by_source"] == {str(path): 1}
    example = info.skipped["examples"][0]
    assert (example["kind"], example["column"], example["line"]) == (kind, column, 4)
    assert str(path) in example["message"]
    assert window["prediction_probability"].between(0, 1).all()


def test_torn_lines_are_skipped_and_the_next_run_completes(tmp_path: Path) -> None:
    """Issue 11, case 1: a line cut mid-way by a crash failed every later monitoring run."""
    path = _write_jsonl(tmp_path, _rows(10, "1"))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])  # the last line loses its end and its newline
    window, info = read_window(WindowConfig(), tmp_path, _features)
    assert len(window) == 9
    assert info.skipped["examples"][0]["kind"] == "torn_line"
    assert info.skipped["examples"][0]["line"] == 10
    with path.open("a") as handle:  # a later writer starts on a fresh line
        handle.write("\n" + json.dumps(_rows(1, "1", start=50)[0]) + "\n")
    window, info = read_window(WindowConfig(), tmp_path, _features)
    assert len(window) == 10 and info.skipped["total"] == 1
    assert info.skipped["examples"][0]["line"] == 10


def test_an_unreadable_log_file_is_skipped_and_reported_not_fatal(tmp_path: Path) -> None:
    """Walkthrough: a non-Parquet ``batch-garbage.parquet`` in the log failed every later run."""
    _write_jsonl(tmp_path, _rows(10, "1"))
    garbage = tmp_path / "batch-garbage.parquet"
    garbage.write_bytes(b"not a parquet file\n")
    window, info = read_window(WindowConfig(), tmp_path, _features)
    assert len(window) == 10 and info.model_version == "1"
    assert info.skipped["total"] == 1 and info.skipped["by_source"] == {str(garbage): 1}
    example = info.skipped["examples"][0]
    assert example["kind"] == "unreadable_file" and example["source"] == str(garbage)
    assert example["message"].startswith(f"{garbage}: cannot be read: ")
    assert example["message"].endswith("; the whole file skipped")
    assert str(garbage) not in info.sources
    # As the window file itself, the same file is an error naming it.
    with pytest.raises(DataValidationError, match="cannot be read") as err:
        read_window(WindowConfig(path=str(garbage)), tmp_path, _features)
    assert err.value.source == str(garbage)


def test_a_raw_table_as_window_file_is_told_it_needs_predictions(tmp_path: Path) -> None:
    """Walkthrough: a raw table as window.path was first told to set window.model_version."""
    raw = pd.DataFrame(_rows(10, "1")).drop(columns=["probability", "label", "model_version"])
    raw.to_csv(tmp_path / "raw.csv", index=False)
    with pytest.raises(DataValidationError) as err:
        read_window(WindowConfig(path=str(tmp_path / "raw.csv")), tmp_path, _features)
    assert err.value.source == str(tmp_path / "raw.csv") and err.value.column == "probability"
    assert "missing from the current data (['probability', 'label'])" in str(err.value)
    assert "score a raw table with the batch-inference pipeline first" in str(err.value)


def test_window_file_with_a_bad_value_names_file_column_and_row(tmp_path: Path) -> None:
    rows = _rows(10, "1")
    rows[3]["a"] = "twelve"
    pd.DataFrame(rows).to_csv(tmp_path / "export.csv", index=False)
    with pytest.raises(DataValidationError, match="'twelve' at row 3") as err:
        read_window(WindowConfig(path=str(tmp_path / "export.csv")), tmp_path, _features)
    assert err.value.column == "a" and err.value.source == str(tmp_path / "export.csv")


def test_category_typed_batch_file_is_read(tmp_path: Path) -> None:
    """Issue 9, case 4: a ``category`` column in a batch file broke every later window."""
    frame = pd.DataFrame(_rows(30, "1"))
    frame["c"] = frame["c"].astype("category")
    frame.to_parquet(tmp_path / "batch-cat.parquet", index=False)
    window, info = read_window(WindowConfig(), tmp_path, _features)
    assert len(window) == 30 and info.skipped["total"] == 0
    assert window["c"].dtype == object and set(window["c"]) == {"x", "y"}


def test_file_window_and_unparseable_timestamp(tmp_path: Path) -> None:
    frame = pd.DataFrame(_rows(12, "4")).drop(columns=["model_version"])
    frame.to_csv(tmp_path / "export.csv", index=False)
    window, info = read_window(
        WindowConfig(path=str(tmp_path / "export.csv"), model_version="4"), tmp_path, _features
    )
    assert len(window) == 12 and info.model_version == "4"
    frame.loc[2, "timestamp"] = "yesterday"
    frame.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DataValidationError) as err:
        read_window(WindowConfig(path=str(tmp_path / "bad.csv")), tmp_path, _features)
    assert err.value.column == "timestamp"


def test_empty_window(tmp_path: Path) -> None:
    _write_jsonl(tmp_path, _rows(10, "1"))
    window, info = read_window(WindowConfig(since=T0 + timedelta(days=1)), tmp_path, _features)
    assert info.rows_in_window == 0 and window.empty and info.latency == {"n": 0}


def test_labelled_predictions_stay_in_window(tmp_path: Path) -> None:
    _write_jsonl(tmp_path, _rows(20, "1") + _rows(20, "2", start=100))
    _window, info = read_window(WindowConfig(last_n=10), tmp_path, _features)
    ids = {f"2-{i}" for i in range(100, 120)} | {"1-3"}
    labelled = read_labelled_predictions(info, ids)
    assert sorted(labelled["prediction_id"]) == sorted(f"2-{i}" for i in range(110, 120))


def test_latency_percentiles_ignore_nan() -> None:
    stats = latency_percentiles(np.array([1.0, np.nan, 3.0, 2.0]))
    assert stats == {"n": 3, "p50_ms": 2.0, "p95_ms": pytest.approx(2.9), "p99_ms": 2.98}


def test_config_errors_name_the_field() -> None:
    with pytest.raises(ConfigError) as err:
        load_monitoring_config(
            {"model_name": "m", "drift": {"num_stattest": "nope"}}, "configs/monitoring.yaml"
        )
    assert err.value.key == "drift.num_stattest" and "nope" in str(err.value)
    with pytest.raises(ConfigError) as err:
        load_monitoring_config({"model_name": "m", "on_drift": "panic"}, "x.yaml")
    assert err.value.key == "on_drift"
    with pytest.raises(ConfigError) as err:
        load_monitoring_config({"model_name": "m", "window": {"lastn": 3}}, "x.yaml")
    assert err.value.key == "window.lastn"


def test_shipped_config_is_valid() -> None:
    import yaml

    raw = yaml.safe_load(Path("configs/monitoring.yaml").read_text())
    cfg = load_monitoring_config(raw["parameters"]["monitoring"], "configs/monitoring.yaml")
    assert cfg.on_drift == "alert" and cfg.drift.drift_share == 0.5
    assert cfg.drift.num_stattest is None  # Evidently's own choice by default


def test_latency_counts_each_request_once(tmp_path: Path) -> None:
    rows = _rows(10, "1")
    for i, row in enumerate(rows):
        row["request_id"] = f"req{i // 5}"  # two requests of five rows
        row["latency_ms"] = 100.0 if i < 5 else 300.0
    _write_jsonl(tmp_path, rows)
    _window, info = read_window(WindowConfig(), tmp_path, _features)
    assert info.latency["n"] == 2 and info.latency["p50_ms"] == 200.0


def test_other_models_rows_and_files_are_left_out(tmp_path: Path) -> None:
    ours = _rows(20, "1")
    theirs = [{**r, "model_name": "churn"} for r in _rows(15, "1", start=500)]
    for row in ours:
        row["model_name"] = "cancer"
    _write_jsonl(tmp_path, ours + theirs)
    # a batch file of another model, with other feature columns altogether
    pd.DataFrame(
        {
            "age": [1.0, 2.0],
            "model_name": "churn",
            "model_version": "1",
            "probability": 0.5,
            "label": "1",
            "timestamp": T0.isoformat(),
        }
    ).to_parquet(tmp_path / "batch-churn.parquet", index=False)
    window, info = read_window(WindowConfig(), tmp_path, _features, model_name="cancer")
    assert info.rows_in_window == 20 and len(window) == 20
    assert info.sources == [str(tmp_path / "serving-2026-11-01.jsonl")]


def test_empty_and_header_only_files(tmp_path: Path) -> None:
    (tmp_path / "zero.csv").write_text("")
    with pytest.raises(DataValidationError, match="empty") as err:
        read_window(WindowConfig(path=str(tmp_path / "zero.csv")), tmp_path, _features)
    assert err.value.source == str(tmp_path / "zero.csv")
    pd.DataFrame(columns=list(_rows(1, "1")[0])).to_csv(tmp_path / "header.csv", index=False)
    window, info = read_window(WindowConfig(path=str(tmp_path / "header.csv")), tmp_path, _features)
    assert window.empty and info.rows_in_window == 0


def test_thresholds_above_one_only_for_unbounded_tests() -> None:
    with pytest.raises(ConfigError, match="num_stattest_threshold = 5.0"):
        load_monitoring_config({"model_name": "m", "drift": {"num_stattest_threshold": 5}}, "x")
    with pytest.raises(ConfigError, match="'ks'"):
        load_monitoring_config(
            {"model_name": "m", "drift": {"prediction_stattest": "ks", "prediction_threshold": 2}},
            "x",
        )
    cfg = load_monitoring_config(
        {"model_name": "m", "drift": {"num_stattest": "psi", "num_stattest_threshold": 1.5}}, "x"
    )
    assert cfg.drift.num_stattest_threshold == 1.5


def test_a_misspelt_nested_key_is_named_with_the_closest_field() -> None:
    with pytest.raises(ConfigError) as err:
        load_monitoring_config(
            {"model_name": "m", "window": {"min_rowz": 3}, "drift": {"drift_shar": 1}}, "x.yaml"
        )
    assert str(err.value) == (
        "x.yaml: key 'window.min_rowz': Extra inputs are not permitted (did you mean "
        "'min_rows'?); also key 'drift.drift_shar': Extra inputs are not permitted (did you "
        "mean 'drift_share'?)"
    )
