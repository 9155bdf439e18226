"""Training loop: mini-batch Adam on binary cross-entropy, with early stopping on validation loss.

Progress goes to the ``tabular_classifier.training`` logger (one INFO line per epoch) and to an
optional per-epoch callback, so that orchestration code can forward metrics to a tracker
without this module knowing about it.
"""

import contextlib
import logging
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, TensorDataset

from tabular_classifier.config import ModelConfig
from tabular_classifier.model import MLPClassifier

logger = logging.getLogger(__name__)


def set_seeds(seed: int) -> None:
    """Seed Python's ``random``, numpy's global generator and torch's default generator.

    CPU kernels in torch are deterministic for a given thread count, so no further switch
    (``torch.use_deterministic_algorithms``) is needed for reproducible CPU training; the thread
    count itself is pinned by :func:`train_classifier` for the duration of training only, rather
    than here for the rest of the process.

    Args:
        seed: Seed, >= 0.

    Raises:
        ValueError: If ``seed`` is negative (numpy rejects it).
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@dataclass
class EpochRecord:
    """Metrics of one epoch.

    Attributes:
        epoch: Epoch number, starting at 1.
        train_loss: Mean loss over the epoch's mini-batches, weighted by batch size, measured in
            training mode (dropout active) while the weights were being updated.
        train_accuracy: Accuracy over the same mini-batch predictions, at the decision threshold.
        val_loss: Loss on the whole validation split in eval mode (same loss, pos_weight included).
        val_accuracy: Validation accuracy at the config's decision threshold.
        val_roc_auc: Validation ROC AUC; NaN if the validation split holds one class only or
            the predictions are not finite.
    """

    epoch: int
    train_loss: float
    train_accuracy: float
    val_loss: float
    val_accuracy: float
    val_roc_auc: float


@dataclass
class TrainingResult:
    """Outcome of :func:`train_classifier`.

    Attributes:
        model: The network with the weights of the epoch of lowest validation loss, in eval mode.
        history: One record per epoch run, in order.
        best_epoch: The epoch (1-based) whose weights ``model`` holds.
        stopped_early: True if training ended before ``cfg.epochs`` (patience ran out, or the
            validation loss stopped being finite).
        pos_weight: The BCEWithLogitsLoss ``pos_weight`` used (n_neg / n_pos of the training
            split), or None without class weighting.
        seconds: Wall-clock duration of training, in seconds.
    """

    model: MLPClassifier
    history: list[EpochRecord]
    best_epoch: int
    stopped_early: bool
    pos_weight: float | None
    seconds: float


def _as_tensors(x: np.ndarray, y: np.ndarray, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    features = np.asarray(x)
    labels = np.asarray(y)
    if features.ndim != 2 or features.shape[0] == 0 or features.shape[1] == 0:
        raise ValueError(f"x_{split} must be 2-D and non-empty, got shape {features.shape}")
    if labels.shape != (features.shape[0],):
        raise ValueError(f"y_{split} must have shape ({features.shape[0]},), got {labels.shape}")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError(f"y_{split} must hold only 0 and 1")
    features = np.ascontiguousarray(features, dtype=np.float32)
    if not np.isfinite(features).all():
        raise ValueError(f"x_{split} holds NaN or infinite values")
    return torch.from_numpy(features), torch.from_numpy(labels.astype(np.float32))


@contextlib.contextmanager
def _small_network_cpu_settings() -> Iterator[None]:
    """Run torch single-threaded with subnormals flushed to zero, then restore both settings.

    One intra-op thread: the matrices of a small MLP are too small to split across cores, and a
    spinning thread pool on a busy machine made 50 epochs take 3.5-5 s instead of 0.5 s (2 cores,
    one of them loaded). It also keeps results independent of the machine's core count.

    Flushing: Adam's moment estimates for weights whose gradient vanishes (dead ReLU units) decay
    into subnormal floats, which x86 CPUs process about 100 times slower; 40 epochs took 7 s
    instead of 0.35 s. Only values below 1.2e-38 are affected. torch has no getter for this
    flag, so its default (off) is restored.
    """
    threads = torch.get_num_threads()
    flushing = torch.set_flush_denormal(True)
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        if flushing:
            torch.set_flush_denormal(False)


def _train_epoch(
    model: MLPClassifier,
    loader: DataLoader[tuple[torch.Tensor, ...]],
    loss_fn: nn.Module,
    optimizer: torch.optim.Optimizer,
    threshold: float,
) -> tuple[float, float]:
    model.train()
    loss_sum = 0.0
    correct = 0
    n_rows = 0
    for xb, yb in loader:
        optimizer.zero_grad(set_to_none=True)
        logits = model(xb)
        loss = loss_fn(logits, yb)
        loss.backward()
        optimizer.step()
        loss_sum += loss.item() * len(yb)
        predicted = torch.sigmoid(logits.detach()) >= threshold
        correct += int((predicted == (yb == 1.0)).sum().item())
        n_rows += len(yb)
    return loss_sum / n_rows, correct / n_rows


def _validate(
    model: MLPClassifier,
    x_val: torch.Tensor,
    y_val: torch.Tensor,
    loss_fn: nn.Module,
    threshold: float,
) -> tuple[float, float, float]:
    model.eval()
    with torch.no_grad():
        logits = model(x_val)
        loss = float(loss_fn(logits, y_val).item())
    proba = torch.sigmoid(logits.double()).numpy()
    labels = y_val.numpy().astype(np.int64)
    accuracy = float(np.mean((proba >= threshold) == labels))
    auc_defined = 0 < int(labels.sum()) < len(labels) and bool(np.isfinite(proba).all())
    auc = float(roc_auc_score(labels, proba)) if auc_defined else math.nan
    return loss, accuracy, auc


def train_classifier(
    cfg: ModelConfig,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    on_epoch: Callable[[EpochRecord], None] | None = None,
) -> TrainingResult:
    """Train an :class:`MLPClassifier` and keep the weights of its best validation epoch.

    Loss: ``BCEWithLogitsLoss``, with ``pos_weight = n_neg / n_pos`` of the training split when
    ``cfg.class_weighting == "balanced"`` (the weighting PyTorch documents for imbalanced data).
    Optimiser: Adam with ``cfg.learning_rate`` and ``cfg.weight_decay``. Mini-batches of
    ``cfg.batch_size`` rows are reshuffled every epoch by a torch.Generator seeded with
    ``cfg.seed``. Training stops after ``cfg.early_stopping_patience`` epochs without a strictly
    lower validation loss (never, when the patience is 0), or when the validation loss is no
    longer finite. Two calls with the same inputs give bit-identical weights.

    While it runs, torch uses one intra-op thread and flushes subnormal floats to zero (both
    process-wide settings, restored on return): each made small-network training many times
    faster here, and the single thread makes results independent of the core count.

    Args:
        cfg: Architecture and training hyperparameters.
        x_train: float32 (n_train, d) preprocessed training features.
        y_train: int64 (n_train,) training labels, 0 or 1, both present.
        x_val: float32 (n_val, d) preprocessed validation features.
        y_val: int64 (n_val,) validation labels, 0 or 1.
        on_epoch: Called with each epoch's record, after it is logged.

    Returns:
        The trained model (best epoch, eval mode) and the training history.

    Raises:
        ValueError: If shapes disagree, labels are not 0/1, features are not finite, or the
            training split lacks a class.
        FloatingPointError: If the validation loss is not finite after the first epoch (the
            learning rate is too high), so no usable weights exist.
    """
    x_tr, y_tr = _as_tensors(x_train, y_train, "train")
    x_va, y_va = _as_tensors(x_val, y_val, "val")
    if x_va.shape[1] != x_tr.shape[1]:
        raise ValueError(f"x_val has {x_va.shape[1]} features, x_train has {x_tr.shape[1]}")
    n_positive = int(y_tr.sum().item())
    n_negative = len(y_tr) - n_positive
    if n_positive == 0 or n_negative == 0:
        raise ValueError("y_train must hold both classes")

    start = time.perf_counter()
    set_seeds(cfg.seed)
    model = MLPClassifier(x_tr.shape[1], cfg.hidden_sizes, cfg.activation, cfg.dropout)
    pos_weight = n_negative / n_positive if cfg.class_weighting == "balanced" else None
    loss_fn = nn.BCEWithLogitsLoss(
        pos_weight=None if pos_weight is None else torch.tensor(pos_weight, dtype=torch.float32)
    )
    optimizer = torch.optim.Adam(
        model.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay
    )
    dataset = TensorDataset(x_tr, y_tr)
    # Sampling whole batches of indices lets TensorDataset slice once per batch instead of
    # collating rows one by one, which dominates the run time of small networks.
    sampler = BatchSampler(
        RandomSampler(dataset, generator=torch.Generator().manual_seed(cfg.seed)),
        batch_size=cfg.batch_size,
        drop_last=False,
    )
    loader = DataLoader(dataset, sampler=sampler, batch_size=None)

    history: list[EpochRecord] = []
    best_loss = math.inf
    best_state: dict[str, torch.Tensor] | None = None
    best_epoch = 0
    epochs_since_best = 0
    stopped_early = False
    with _small_network_cpu_settings():
        for epoch in range(1, cfg.epochs + 1):
            train_loss, train_accuracy = _train_epoch(
                model, loader, loss_fn, optimizer, cfg.decision_threshold
            )
            val_loss, val_accuracy, val_roc_auc = _validate(
                model, x_va, y_va, loss_fn, cfg.decision_threshold
            )
            record = EpochRecord(
                epoch, train_loss, train_accuracy, val_loss, val_accuracy, val_roc_auc
            )
            history.append(record)
            logger.info(
                "epoch %d/%d train_loss=%.4f val_loss=%.4f val_accuracy=%.4f val_roc_auc=%.4f",
                epoch,
                cfg.epochs,
                record.train_loss,
                record.val_loss,
                record.val_accuracy,
                record.val_roc_auc,
            )
            if on_epoch is not None:
                on_epoch(record)

            if not math.isfinite(record.val_loss):
                if best_state is None:
                    raise FloatingPointError(
                        f"training diverged: validation loss is {record.val_loss} at epoch "
                        f"{epoch}; lower learning_rate"
                    )
                logger.warning(
                    "validation loss is %s at epoch %d; stopping", record.val_loss, epoch
                )
                stopped_early = True
                break
            if record.val_loss < best_loss:
                best_loss = record.val_loss
                best_epoch = epoch
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                epochs_since_best = 0
            else:
                epochs_since_best += 1
            if cfg.early_stopping_patience and epochs_since_best >= cfg.early_stopping_patience:
                stopped_early = epoch < cfg.epochs
                break

    assert best_state is not None  # the first finite epoch always sets it
    model.load_state_dict(best_state)
    model.eval()
    return TrainingResult(
        model=model,
        history=history,
        best_epoch=best_epoch,
        stopped_early=stopped_early,
        pos_weight=pos_weight,
        seconds=time.perf_counter() - start,
    )
