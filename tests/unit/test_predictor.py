"""ModelBundle persistence (JSON + safetensors, atomic) and the Predictor singleton."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from tabular_classifier.config import DataConfig
from tabular_classifier.errors import InputValidationError
from tabular_classifier.predictor import FORMAT_VERSION, ModelBundle, Predictor
from tests.training_helpers import churn_table, fit_small_bundle

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bundle() -> ModelBundle:
    data_cfg = DataConfig(path="churn.csv", target="churn", positive_label="yes")
    extra = {"data_version": {"md5": "0" * 32}, "note": "unit"}
    return fit_small_bundle(
        churn_table(200), data_cfg, "unit", extra=extra, batch_size=16, epochs=15
    )


@pytest.fixture(autouse=True)
def _fresh_cache() -> Any:
    Predictor.clear_cache()
    yield
    Predictor.clear_cache()


def _state_equal(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    first, second = a.state_dict(), b.state_dict()
    return first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)


def test_save_writes_exactly_the_bundle_files(bundle: ModelBundle, tmp_path: Path) -> None:
    bundle.save(tmp_path / "model")
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == sorted(ModelBundle.FILES)
    assert [p.name for p in tmp_path.iterdir()] == ["model"], "temporary directories left behind"
    metadata = json.loads((tmp_path / "model" / "metadata.json").read_text())
    assert metadata["format_version"] == FORMAT_VERSION == 2
    assert metadata["contract"] == bundle.contract.to_dict()
    assert metadata["schema"]["positive_label"] == "yes"
    assert metadata["architecture"]["input_dim"] == bundle.preprocessor.n_features_out
    assert set(metadata["checksums"]) == {"model.safetensors", "preprocessor.json"}


def test_round_trip_is_bit_identical(bundle: ModelBundle, tmp_path: Path) -> None:
    bundle.save(tmp_path / "model")
    loaded = ModelBundle.load(tmp_path / "model")
    assert _state_equal(loaded.model, bundle.model)
    assert not loaded.model.training
    assert loaded.preprocessor.to_dict() == bundle.preprocessor.to_dict()
    assert loaded.schema == bundle.schema
    assert loaded.model_config == bundle.model_config
    assert loaded.metrics == bundle.metrics
    assert loaded.extra == bundle.extra
    assert loaded.decision_threshold == bundle.decision_threshold
    frame = churn_table(50)
    np.testing.assert_array_equal(
        Predictor(loaded).predict_proba(frame), Predictor(bundle).predict_proba(frame)
    )


def test_fresh_process_reproduces_predictions_exactly(
    core_breast_cancer_model: Any, tmp_path: Path
) -> None:
    trained = core_breast_cancer_model
    frame = trained.test.drop(columns=[trained.schema.target])
    frame.to_parquet(tmp_path / "input.parquet")
    expected = Predictor.from_directory(trained.bundle_dir).predict_proba(frame)
    script = (
        "import sys, pandas as pd\n"
        "from tabular_classifier.predictor import Predictor\n"
        "frame = pd.read_parquet(sys.argv[2])\n"
        "sys.stdout.write(Predictor.get(sys.argv[1]).predict_proba(frame).tobytes().hex())\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script, str(trained.bundle_dir), str(tmp_path / "input.parquet")],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        timeout=120,
    )
    actual = np.frombuffer(bytes.fromhex(completed.stdout), dtype=np.float64)
    np.testing.assert_array_equal(actual, expected)


def test_save_replaces_an_existing_bundle(bundle: ModelBundle, tmp_path: Path) -> None:
    target = tmp_path / "model"
    bundle.save(target)
    (target / "stale.txt").write_text("from an older bundle")
    changed = ModelBundle(**{**bundle.__dict__, "decision_threshold": 0.9})
    changed.save(target)
    assert sorted(p.name for p in target.iterdir()) == sorted(ModelBundle.FILES)
    assert ModelBundle.load(target).decision_threshold == 0.9
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_failed_save_leaves_the_previous_bundle(bundle: ModelBundle, tmp_path: Path) -> None:
    target = tmp_path / "model"
    bundle.save(target)
    broken = ModelBundle(**{**bundle.__dict__, "extra": {"not json": object()}})
    with pytest.raises(ValueError, match="metadata.json: cannot be written as strict JSON"):
        broken.save(target)
    assert ModelBundle.load(target).extra == bundle.extra
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_save_onto_a_file_is_refused(bundle: ModelBundle, tmp_path: Path) -> None:
    (tmp_path / "model").write_text("a file")
    with pytest.raises(FileExistsError, match="not a directory"):
        bundle.save(tmp_path / "model")


def test_inconsistent_bundle_is_refused(bundle: ModelBundle, tmp_path: Path) -> None:
    mismatched = ModelBundle(**{**bundle.__dict__, "decision_threshold": 1.0})
    with pytest.raises(ValueError, match="decision_threshold"):
        mismatched.save(tmp_path / "model")
    from tabular_classifier.model import MLPClassifier

    wrong_width = ModelBundle(**{**bundle.__dict__, "model": MLPClassifier(2, [3], "relu", 0.0)})
    with pytest.raises(ValueError, match="the model takes 2 features"):
        wrong_width.save(tmp_path / "model")


def test_non_numeric_metric_is_refused(bundle: ModelBundle, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="metric 'note' must be a number"):
        ModelBundle(**{**bundle.__dict__, "metrics": {"note": "good"}}).save(tmp_path / "m")
    ModelBundle(**{**bundle.__dict__, "metrics": {"auc": np.float32(0.5)}}).save(tmp_path / "m")
    assert ModelBundle.load(tmp_path / "m").metrics == {"auc": 0.5}


def test_non_finite_metrics_are_stored_as_null(bundle: ModelBundle, tmp_path: Path) -> None:
    ModelBundle(**{**bundle.__dict__, "metrics": {"test_roc_auc": float("nan")}}).save(
        tmp_path / "model"
    )
    metadata = json.loads((tmp_path / "model" / "metadata.json").read_text())
    assert metadata["metrics"] == {"test_roc_auc": None}
    assert np.isnan(ModelBundle.load(tmp_path / "model").metrics["test_roc_auc"])


@pytest.mark.parametrize("name", ModelBundle.FILES)
def test_missing_file_is_named(bundle: ModelBundle, tmp_path: Path, name: str) -> None:
    bundle.save(tmp_path / "model")
    (tmp_path / "model" / name).unlink()
    with pytest.raises(FileNotFoundError, match=name):
        ModelBundle.load(tmp_path / "model")


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="model bundle directory not found"):
        ModelBundle.load(tmp_path / "absent")


def _edit_metadata(directory: Path, **changes: Any) -> None:
    path = directory / "metadata.json"
    metadata = json.loads(path.read_text())
    metadata.update(changes)
    path.write_text(json.dumps(metadata))


def test_unknown_format_version(bundle: ModelBundle, tmp_path: Path) -> None:
    bundle.save(tmp_path / "model")
    _edit_metadata(tmp_path / "model", format_version=3)
    with pytest.raises(ValueError, match=r"metadata\.json: unknown format_version 3"):
        ModelBundle.load(tmp_path / "model")


def test_tampered_weights_fail_the_checksum(bundle: ModelBundle, tmp_path: Path) -> None:
    bundle.save(tmp_path / "model")
    weights = tmp_path / "model" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"model\.safetensors: SHA-256 does not match"):
        ModelBundle.load(tmp_path / "model")


def test_corrupt_metadata_is_named(bundle: ModelBundle, tmp_path: Path) -> None:
    bundle.save(tmp_path / "model")
    (tmp_path / "model" / "metadata.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"metadata\.json: not valid JSON"):
        ModelBundle.load(tmp_path / "model")


def test_architecture_mismatch_is_named(bundle: ModelBundle, tmp_path: Path) -> None:
    bundle.save(tmp_path / "model")
    architecture = {**bundle.model.architecture(), "hidden_sizes": [9]}
    _edit_metadata(tmp_path / "model", architecture=architecture)
    with pytest.raises(ValueError, match=r"model\.safetensors: does not fit the architecture"):
        ModelBundle.load(tmp_path / "model")


def test_get_is_a_process_wide_singleton(bundle: ModelBundle, tmp_path: Path) -> None:
    bundle.save(tmp_path / "model")
    first = Predictor.get(tmp_path / "model")
    assert Predictor.get(tmp_path / "model") is first
    assert Predictor.get(str(tmp_path / "x" / ".." / "model")) is first  # same resolved path
    bundle.save(tmp_path / "other")
    assert Predictor.get(tmp_path / "other") is not first
    Predictor.clear_cache()
    assert Predictor.get(tmp_path / "model") is not first


def test_concurrent_first_calls_load_once(
    bundle: ModelBundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle.save(tmp_path / "model")
    loads: list[Path] = []
    original = Predictor.from_directory.__func__  # type: ignore[attr-defined]

    def counting(cls: type[Predictor], directory: Path) -> Predictor:
        loads.append(directory)
        return original(cls, directory)

    monkeypatch.setattr(Predictor, "from_directory", classmethod(counting))
    results: list[Predictor] = []
    threads = [
        threading.Thread(target=lambda: results.append(Predictor.get(tmp_path / "model")))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(loads) == 1
    assert len({id(result) for result in results}) == 1


def test_predict_returns_original_labels(bundle: ModelBundle) -> None:
    predictor = Predictor(bundle)
    frame = churn_table(60)
    proba = predictor.predict_proba(frame)
    assert proba.dtype == np.float64 and proba.shape == (60,)
    assert ((proba >= 0) & (proba <= 1)).all()
    labels = predictor.predict(frame)
    assert labels.dtype == object
    assert set(labels) <= {"yes", "no"}
    np.testing.assert_array_equal(labels == "yes", proba >= 0.5)
    accuracy = float(np.mean(labels == frame["churn"].to_numpy()))
    assert accuracy > 0.8


def test_predict_uses_the_bundle_threshold(bundle: ModelBundle) -> None:
    strict = Predictor(ModelBundle(**{**bundle.__dict__, "decision_threshold": 0.999999}))
    frame = churn_table(60)
    expected = np.where(strict.predict_proba(frame) >= 0.999999, "yes", "no")
    np.testing.assert_array_equal(strict.predict(frame), expected)


def test_numeric_labels_keep_their_dtype(core_breast_cancer_model: Any) -> None:
    predictor = Predictor(core_breast_cancer_model.bundle)
    labels = predictor.predict(core_breast_cancer_model.test.head(5))
    assert labels.dtype == np.int64


def test_predictions_go_through_the_row_contract(bundle: ModelBundle) -> None:
    """The rules themselves are tested in test_row_contract.py; here, that they apply."""
    predictor = Predictor(bundle)
    assert predictor.contract.names == ["tenure", "charges", "contract"]
    frame = churn_table(10)
    np.testing.assert_array_equal(
        predictor.predict_proba(frame[["contract", "charges", "tenure"]]),
        predictor.predict_proba(frame),
    )
    with pytest.raises(InputValidationError) as err:
        predictor.predict_proba(frame.assign(customer_id=range(10)))
    assert (err.value.kind, err.value.column) == ("unknown_column", "customer_id")
    as_text = frame.astype({"tenure": object})
    as_text["tenure"] = [str(v) for v in frame["tenure"]]
    with pytest.raises(InputValidationError) as err:
        predictor.predict_proba(as_text)
    assert (err.value.kind, err.value.column, err.value.row) == ("wrong_type", "tenure", 0)
    with_nulls = frame.astype({"contract": object})
    with_nulls.loc[0, ["tenure", "charges", "contract"]] = [np.nan, None, None]
    assert np.isfinite(predictor.predict_proba(with_nulls)).all()


def test_a_non_finite_output_is_refused_not_returned(bundle: ModelBundle) -> None:
    broken = ModelBundle(**{**bundle.__dict__})
    broken.model = type(bundle.model).from_architecture(bundle.model.architecture())
    broken.model.load_state_dict(bundle.model.state_dict())
    with torch.no_grad():
        broken.model.layers[0].bias.fill_(float("nan"))
    with pytest.raises(InputValidationError) as err:
        Predictor(broken).predict_proba(churn_table(3))
    assert (err.value.kind, err.value.row) == ("unscorable", 0)


def test_small_batches_are_scored_in_numpy_as_the_gateway_scores_them(
    bundle: ModelBundle, tmp_path: Path
) -> None:
    """Up to SMALL_BATCH_ROWS rows: NumPy, bit-identical to the gateway's NumpyScorer; above it:
    torch, bit-identical to the module's own forward pass; both agree to 1e-6."""
    from tabular_classifier.scoring import NumpyScorer

    bundle.save(tmp_path / "model")
    predictor = Predictor.from_directory(tmp_path / "model")
    scorer = NumpyScorer.from_directory(tmp_path / "model")
    small = Predictor.SMALL_BATCH_ROWS
    assert small == 64
    frame = churn_table(small + 1, seed=5).drop(columns=["churn"])
    for rows in (frame.iloc[:1], frame.iloc[:small]):
        parsed = predictor.contract.parse_frame(rows)
        np.testing.assert_array_equal(
            predictor.predict_proba(rows), scorer.score(scorer.contract.parse_frame(rows))
        )
        assert predictor.logits(parsed).dtype == np.float64
    whole = predictor.predict_proba(frame)  # 65 rows: the torch path
    features = torch.from_numpy(
        predictor.bundle.preprocessor.transform_parsed(predictor.contract.parse_frame(frame))
    )
    with torch.no_grad():
        torch_logits = predictor.bundle.model(features).double().numpy()
    expected = 0.5 * (1.0 + np.tanh(0.5 * (torch_logits / predictor.bundle.temperature)))
    np.testing.assert_array_equal(whole, expected)
    one_by_one = np.concatenate([predictor.predict_proba(frame.iloc[[i]]) for i in range(65)])
    np.testing.assert_allclose(one_by_one, whole, rtol=0, atol=1e-6)
