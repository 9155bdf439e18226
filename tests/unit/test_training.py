"""train_classifier: determinism, early stopping, class weighting, AUC interval, logging, speed."""

from __future__ import annotations

import logging
import math
import random
from typing import Any

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from tabular_classifier.config import ModelConfig
from tabular_classifier.training import EpochRecord, set_seeds, train_classifier


def _config(**overrides: Any) -> ModelConfig:
    values: dict[str, Any] = {
        "name": "unit",
        "hidden_sizes": [16, 8],
        "dropout": 0.1,
        "learning_rate": 1e-2,
        "batch_size": 32,
        "epochs": 15,
        "early_stopping_patience": 0,
        "seed": 3,
        **overrides,
    }
    return ModelConfig.model_validate(values)


def _data(
    n: int = 340, d: int = 30, positive_rate: float = 0.4, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(np.float32)
    y = (rng.random(n) < positive_rate).astype(np.int64)
    x[:, 0] += 2.0 * y  # one informative feature
    split = int(0.75 * n)
    return x[:split], y[:split], x[split:], y[split:]


def test_same_inputs_give_bit_identical_weights() -> None:
    data = _data()
    first = train_classifier(_config(), *data)
    second = train_classifier(_config(), *data)
    for (name, a), (_, b) in zip(
        first.model.state_dict().items(), second.model.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name
    assert first.history == second.history


def test_seed_changes_the_weights() -> None:
    data = _data()
    first = train_classifier(_config(epochs=2), *data)
    other = train_classifier(_config(epochs=2, seed=4), *data)
    key = "layers.0.weight"
    assert not torch.equal(first.model.state_dict()[key], other.model.state_dict()[key])


def test_learns_an_informative_feature() -> None:
    result = train_classifier(_config(), *_data())
    best_auc = result.history[result.best_epoch - 1].val_roc_auc
    assert best_auc is not None and best_auc > 0.85
    assert result.best_val_roc_auc == best_auc
    assert not result.model.training


def test_best_epoch_weights_are_restored() -> None:
    x_train, y_train, x_val, y_val = _data(seed=1)
    # A high learning rate overfits quickly, so the last epoch is not the best one.
    result = train_classifier(
        _config(learning_rate=0.05, epochs=40, dropout=0.0), x_train, y_train, x_val, y_val
    )
    losses = [record.val_loss for record in result.history]
    assert result.best_epoch == int(np.argmin(losses)) + 1
    assert result.best_epoch < len(result.history)
    with torch.no_grad():
        logits = result.model(torch.from_numpy(x_val))
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            logits, torch.from_numpy(y_val.astype(np.float32))
        )
    assert float(loss) == pytest.approx(losses[result.best_epoch - 1], rel=1e-6)


def test_early_stopping_stops_after_patience() -> None:
    result = train_classifier(
        _config(learning_rate=0.05, epochs=200, early_stopping_patience=3, dropout=0.0),
        *_data(seed=1),
    )
    assert result.stopped_early
    assert len(result.history) == result.best_epoch + 3
    assert len(result.history) < 200


def test_patience_zero_runs_every_epoch() -> None:
    result = train_classifier(_config(epochs=5), *_data())
    assert [r.epoch for r in result.history] == [1, 2, 3, 4, 5]
    assert not result.stopped_early


def test_balanced_class_weighting_sets_pos_weight() -> None:
    x_train, y_train, x_val, y_val = _data(positive_rate=0.1)
    n_pos = int(y_train.sum())
    balanced = train_classifier(
        _config(epochs=1, class_weighting="balanced"), x_train, y_train, x_val, y_val
    )
    assert balanced.pos_weight == pytest.approx((len(y_train) - n_pos) / n_pos)
    plain = train_classifier(_config(epochs=1), x_train, y_train, x_val, y_val)
    assert plain.pos_weight is None


def test_callback_and_log_line_every_epoch(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[EpochRecord] = []
    with caplog.at_level(logging.INFO, logger="tabular_classifier.training"):
        result = train_classifier(_config(epochs=3), *_data(), on_epoch=seen.append)
    assert seen == result.history
    lines = [r.getMessage() for r in caplog.records if r.name == "tabular_classifier.training"]
    assert len(lines) == 4
    assert lines[0].startswith("epoch 1/3 train_loss=")
    for key in ("val_loss=", "val_accuracy=", "val_roc_auc="):
        assert key in lines[2]
    best = result.history[result.best_epoch - 1]
    assert lines[3] == (
        f"trained 3 epochs; keeping epoch {result.best_epoch} (val_loss={best.val_loss:.4f})"
    )


def test_record_values_are_in_range() -> None:
    for record in train_classifier(_config(epochs=3), *_data()).history:
        assert 0.0 <= record.train_accuracy <= 1.0 and 0.0 <= record.val_accuracy <= 1.0
        assert record.val_roc_auc is not None and 0.0 <= record.val_roc_auc <= 1.0
        assert record.train_loss > 0 and record.val_loss > 0


def test_single_class_validation_split_gives_nan_auc() -> None:
    x_train, y_train, x_val, _ = _data()
    result = train_classifier(
        _config(epochs=1), x_train, y_train, x_val, np.zeros(len(x_val), dtype=np.int64)
    )
    assert math.isnan(result.history[0].val_roc_auc or 0.0)
    assert math.isnan(result.best_val_roc_auc)


def test_divergence_raises() -> None:
    x_train, y_train, x_val, y_val = _data()
    # Finite inputs near float32's maximum overflow inside the network: the loss is NaN.
    huge = np.float32(3e38)
    with pytest.raises(FloatingPointError, match="training diverged: validation loss is nan"):
        train_classifier(
            _config(epochs=2),
            np.full_like(x_train, huge),
            y_train,
            np.full_like(x_val, huge),
            y_val,
        )


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: (d[0][:, :0], *d[1:]), "x_train must be 2-D and non-empty"),
        (lambda d: (d[0], d[1][:-1], *d[2:]), "y_train must have shape"),
        (lambda d: (d[0], d[1] * 2, *d[2:]), "y_train must hold only 0 and 1"),
        (lambda d: (d[0], np.zeros_like(d[1]), *d[2:]), "y_train must hold both classes"),
        (lambda d: (*d[:2], d[2][:, :5], d[3]), "x_val has 5 features"),
        (lambda d: (np.where(d[0] > 2, np.nan, d[0]), *d[1:]), "x_train holds NaN"),
    ],
)
def test_invalid_inputs(mutate: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        train_classifier(_config(epochs=1), *mutate(_data()))


def test_set_seeds_seeds_every_generator() -> None:
    set_seeds(11)
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    set_seeds(11)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first


def test_fifty_epochs_on_340_rows_take_seconds_not_minutes() -> None:
    x_train, y_train, x_val, y_val = _data(n=454)  # 340 training rows, 30 features
    assert len(x_train) == 340
    result = train_classifier(
        _config(epochs=50, hidden_sizes=[32, 16]), x_train, y_train, x_val, y_val
    )
    assert result.seconds < 10, f"training took {result.seconds:.1f} s"


def test_torch_settings_are_restored_after_training() -> None:
    threads = torch.get_num_threads()
    train_classifier(_config(epochs=1), *_data())
    assert torch.get_num_threads() == threads


def test_val_auc_every_two_computes_the_auc_on_even_epochs_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = _data()
    with caplog.at_level(logging.INFO, logger="tabular_classifier.training"):
        result = train_classifier(_config(epochs=5, val_auc_every=2), *data)
    computed = [r.epoch for r in result.history if r.val_roc_auc is not None]
    assert computed == [2, 4]
    lines = [r.getMessage() for r in caplog.records if r.name == "tabular_classifier.training"]
    epoch_lines = [line for line in lines if line.startswith("epoch ")]
    assert len(epoch_lines) == 5
    assert [("val_roc_auc=" in line) for line in epoch_lines] == [False, True, False, True, False]
    # The interval only skips a metric: losses and weights are those of val_auc_every=1.
    every = train_classifier(_config(epochs=5), *data)
    assert [r.val_loss for r in result.history] == [r.val_loss for r in every.history]
    assert [r.val_roc_auc for r in result.history if r.epoch in (2, 4)] == [
        r.val_roc_auc for r in every.history if r.epoch in (2, 4)
    ]
    assert result.best_epoch == every.best_epoch
    assert result.best_val_roc_auc == every.history[every.best_epoch - 1].val_roc_auc
    for (name, a), (_, b) in zip(
        result.model.state_dict().items(), every.model.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name


def test_best_epoch_auc_is_computed_when_its_epoch_skipped_it() -> None:
    x_train, y_train, x_val, y_val = _data(seed=1)
    # Overfits quickly (see test_best_epoch_weights_are_restored): the best epoch is early.
    cfg = _config(learning_rate=0.05, epochs=12, dropout=0.0, val_auc_every=100)
    result = train_classifier(cfg, x_train, y_train, x_val, y_val)
    assert all(r.val_roc_auc is None for r in result.history)
    assert result.best_epoch < len(result.history)
    with torch.no_grad():
        proba = torch.sigmoid(result.model(torch.from_numpy(x_val)).double()).numpy()
    assert result.best_val_roc_auc == pytest.approx(roc_auc_score(y_val, proba), abs=1e-12)


def test_training_twice_with_a_large_batch_remainder_is_bit_identical() -> None:
    # 255 training rows in batches of 64: three full batches and a remainder of 63, so the
    # contiguous slicing of the permuted epoch reaches the last partial batch.
    data = _data(n=340)
    cfg = _config(batch_size=64, epochs=4, val_auc_every=3)
    first = train_classifier(cfg, *data)
    second = train_classifier(cfg, *data)
    for (name, a), (_, b) in zip(
        first.model.state_dict().items(), second.model.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name
    assert first.history == second.history
    assert first.best_val_roc_auc == second.best_val_roc_auc


def test_val_auc_every_is_validated() -> None:
    with pytest.raises(ValueError, match="val_auc_every"):
        _config(val_auc_every=0)
    assert _config().val_auc_every == 1
