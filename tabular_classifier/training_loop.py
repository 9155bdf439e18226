"""The training loop: mini-batch Adam on binary cross-entropy, early stopping on validation loss.

Progress goes to the ``tabular_classifier.training`` logger (one INFO line per epoch) and to an
optional per-epoch callback, so that orchestration code can forward metrics to a tracker
without this module knowing about it. :func:`tabular_classifier.training.fit_bundle` calls
:func:`train_classifier` to build a model bundle.
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

from tabular_classifier.model import MLPClassifier
from tabular_classifier.model_config import ModelConfig

# The logger of tabular_classifier.training, where this loop lived before: log configurations
# and tests select training's progress lines by that name.
logger = logging.getLogger("tabular_classifier.training")


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
            the predictions are not finite; None on epochs where it was not computed (only
            every ``val_auc_every``-th epoch computes it, see ``ModelConfig.val_auc_every``).
    """

    epoch: int
    train_loss: float
    train_accuracy: float
    val_loss: float
    val_accuracy: float
    val_roc_auc: float | None

    def metrics(self) -> dict[str, float]:
        """The epoch's metrics by name, for a tracker (``mlflow.log_metrics(..., step=epoch)``).

        Returns:
            ``train_loss``, ``train_accuracy``, ``val_loss`` and ``val_accuracy``, plus
            ``val_roc_auc`` on the epochs that computed it, so that its series has no
            placeholder points.
        """
        metrics = {
            "train_loss": self.train_loss,
            "train_accuracy": self.train_accuracy,
            "val_loss": self.val_loss,
            "val_accuracy": self.val_accuracy,
        }
        if self.val_roc_auc is not None:
            metrics["val_roc_auc"] = self.val_roc_auc
        return metrics


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
        seconds: Wall-clock duration of the epochs (training and validation), in seconds;
            input checks, model and optimizer creation are done before the clock starts.
        best_val_roc_auc: Validation ROC AUC of ``model`` (the best epoch's weights): the best
            epoch's record value, or computed once after training when that epoch was not one
            of the ``val_auc_every``-th. NaN under the same conditions as ``val_roc_auc``.
    """

    model: MLPClassifier
    history: list[EpochRecord]
    best_epoch: int
    stopped_early: bool
    pos_weight: float | None
    seconds: float
    best_val_roc_auc: float


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
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int,
    generator: torch.Generator,
    loss_fn: nn.Module,
    optimizer: torch.optim.Optimizer,
    threshold: float,
) -> tuple[float, float]:
    """Run one epoch of mini-batch updates; return its mean training loss and accuracy.

    The rows are shuffled once per epoch, by one ``torch.randperm`` drawn from ``generator``
    and applied to whole tensors (one gather of the split per epoch); mini-batches are then
    contiguous slices ``x[i : i + batch_size]`` of the permuted copy, views that cost no copy.
    The permuted copy holds one more copy of the training split for the epoch's duration
    (n x d x 4 bytes: 72 MB for 600k x 30).

    Loss and correct counts are accumulated in tensors (float64 and int64) and read back once,
    at the end of the epoch: no per-batch ``.item()``, which forces a host synchronisation on
    an accelerator and costs a Python round trip on CPU.

    Args:
        model: The network, set to training mode here.
        x: float32 (n, d) training features.
        y: float32 (n,) training labels, 0.0 or 1.0.
        batch_size: Rows per mini-batch; the last batch holds the remainder.
        generator: Seeded generator of the shuffles; advanced by one permutation.
        loss_fn: The loss, mean-reduced over a batch.
        optimizer: The optimizer of ``model``'s parameters.
        threshold: Probability at or above which a row counts as predicted positive.

    Returns:
        (mean loss over the epoch's rows weighted by batch size, accuracy in [0, 1]).
    """
    model.train()
    n_rows = len(y)
    order = torch.randperm(n_rows, generator=generator)
    x_epoch = x[order]
    y_epoch = y[order]
    loss_sum = torch.zeros((), dtype=torch.float64)
    correct = torch.zeros((), dtype=torch.int64)
    for start in range(0, n_rows, batch_size):
        xb = x_epoch[start : start + batch_size]
        yb = y_epoch[start : start + batch_size]
        optimizer.zero_grad(set_to_none=True)
        logits = model(xb)
        loss = loss_fn(logits, yb)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            loss_sum += loss.detach().double() * len(yb)
            correct += ((torch.sigmoid(logits) >= threshold) == (yb == 1.0)).sum()
    return float(loss_sum) / n_rows, int(correct) / n_rows


def _validate(
    model: MLPClassifier,
    x_val: torch.Tensor,
    y_val: torch.Tensor,
    loss_fn: nn.Module,
    threshold: float,
    with_auc: bool = True,
) -> tuple[float, float, float | None]:
    """Score the validation split in eval mode.

    Returns:
        (loss, accuracy at ``threshold``, ROC AUC). The AUC is None when ``with_auc`` is
        False, NaN when the labels hold one class or the probabilities are not finite.
    """
    model.eval()
    with torch.no_grad():
        logits = model(x_val)
        loss = float(loss_fn(logits, y_val).item())
    proba = torch.sigmoid(logits.double()).numpy()
    labels = y_val.numpy().astype(np.int64)
    accuracy = float(np.mean((proba >= threshold) == labels))
    if not with_auc:
        return loss, accuracy, None
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
    ``cfg.seed`` (one permutation per epoch, then contiguous slices: see :func:`_train_epoch`).
    The validation loss and accuracy are computed every epoch, the validation ROC AUC every
    ``cfg.val_auc_every`` epochs (epochs ``k, 2k, ...``); the best epoch's AUC is computed
    after training when it was skipped. Training stops after ``cfg.early_stopping_patience``
    epochs without a strictly lower validation loss (never, when the patience is 0), or when
    the validation loss is no longer finite. Two calls with the same inputs give bit-identical
    weights.

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

    set_seeds(cfg.seed)
    model = MLPClassifier(x_tr.shape[1], cfg.hidden_sizes, cfg.activation, cfg.dropout)
    pos_weight = n_negative / n_positive if cfg.class_weighting == "balanced" else None
    loss_fn = nn.BCEWithLogitsLoss(
        pos_weight=None if pos_weight is None else torch.tensor(pos_weight, dtype=torch.float32)
    )
    # Created before the clock starts: the first Adam of a process imports torch._dynamo and
    # about 900 other modules (1.1 s here, 1.6-2.6 s in issue 16's measurements).
    optimizer = torch.optim.Adam(
        model.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay
    )
    shuffle_generator = torch.Generator().manual_seed(cfg.seed)

    # Accuracy per epoch is only monitored; a threshold rule is chosen after training.
    monitor_threshold = cfg.decision_threshold if isinstance(cfg.decision_threshold, float) else 0.5
    history: list[EpochRecord] = []
    best_loss = math.inf
    best_state: dict[str, torch.Tensor] | None = None
    best_epoch = 0
    epochs_since_best = 0
    stopped_early = False
    start = time.perf_counter()
    with _small_network_cpu_settings():
        for epoch in range(1, cfg.epochs + 1):
            train_loss, train_accuracy = _train_epoch(
                model,
                x_tr,
                y_tr,
                cfg.batch_size,
                shuffle_generator,
                loss_fn,
                optimizer,
                monitor_threshold,
            )
            val_loss, val_accuracy, val_roc_auc = _validate(
                model,
                x_va,
                y_va,
                loss_fn,
                monitor_threshold,
                with_auc=epoch % cfg.val_auc_every == 0,
            )
            record = EpochRecord(
                epoch, train_loss, train_accuracy, val_loss, val_accuracy, val_roc_auc
            )
            history.append(record)
            logger.info(
                "epoch %d/%d train_loss=%.4f val_loss=%.4f val_accuracy=%.4f%s",
                epoch,
                cfg.epochs,
                record.train_loss,
                record.val_loss,
                record.val_accuracy,
                "" if record.val_roc_auc is None else f" val_roc_auc={record.val_roc_auc:.4f}",
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
                if stopped_early:
                    logger.info(
                        "early stopping at epoch %d of %d: no lower validation loss for %d "
                        "epochs; keeping epoch %d (val_loss=%.4f)",
                        epoch,
                        cfg.epochs,
                        cfg.early_stopping_patience,
                        best_epoch,
                        best_loss,
                    )
                break

    assert best_state is not None  # the first finite epoch always sets it
    if not stopped_early:
        logger.info(
            "trained %d epochs; keeping epoch %d (val_loss=%.4f)",
            len(history),
            best_epoch,
            best_loss,
        )
    model.load_state_dict(best_state)
    best_val_roc_auc = history[best_epoch - 1].val_roc_auc
    if best_val_roc_auc is None:
        with _small_network_cpu_settings():
            best_val_roc_auc = _validate(model, x_va, y_va, loss_fn, monitor_threshold)[2]
        assert best_val_roc_auc is not None  # with_auc=True always returns a float
    model.eval()
    return TrainingResult(
        model=model,
        history=history,
        best_epoch=best_epoch,
        stopped_early=stopped_early,
        pos_weight=pos_weight,
        seconds=time.perf_counter() - start,
        best_val_roc_auc=best_val_roc_auc,
    )
