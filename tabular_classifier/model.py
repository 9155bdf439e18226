"""The network: a multilayer perceptron that outputs one logit per row."""

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "leaky_relu": nn.LeakyReLU,
}
"""Activation names accepted by :class:`MLPClassifier`, as in ``ModelConfig.activation``."""

_FUNCTIONAL: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": torch.relu,
    "gelu": F.gelu,
    "tanh": torch.tanh,
    "leaky_relu": F.leaky_relu,
}
"""The functions each module of :data:`ACTIVATIONS` calls in its ``forward`` (same defaults:
exact GELU, LeakyReLU slope 0.01), for :meth:`MLPClassifier.infer`."""


class MLPClassifier(nn.Module):
    """Binary classifier: ``Linear -> activation -> Dropout`` per hidden layer, then ``Linear``.

    The last layer maps the last hidden width to a single output.

    The output is a logit; apply a sigmoid for the probability of the positive class. Layers live
    in ``self.layers`` (an ``nn.Sequential``), so state-dict keys are ``layers.<i>.weight`` and
    ``layers.<i>.bias``.

    Args:
        input_dim: Number of input features (the preprocessor's ``n_features_out``), >= 1.
        hidden_sizes: Width of each hidden layer, at least one layer, each >= 1.
        activation: One of :data:`ACTIVATIONS`.
        dropout: Dropout probability after each hidden layer, in [0, 1).

    Raises:
        ValueError: If an argument is outside the ranges above.
    """

    def __init__(
        self, input_dim: int, hidden_sizes: Sequence[int], activation: str, dropout: float
    ) -> None:
        super().__init__()
        if input_dim < 1:
            raise ValueError(f"input_dim must be >= 1, got {input_dim}")
        if not hidden_sizes or any(size < 1 for size in hidden_sizes):
            raise ValueError(f"hidden_sizes must be non-empty and positive, got {hidden_sizes}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.input_dim = int(input_dim)
        self.hidden_sizes = [int(size) for size in hidden_sizes]
        self.activation = activation
        self.dropout = float(dropout)
        layers: list[nn.Module] = []
        width = self.input_dim
        for size in self.hidden_sizes:
            layers += [nn.Linear(width, size), ACTIVATIONS[activation](), nn.Dropout(self.dropout)]
            width = size
        layers.append(nn.Linear(width, 1))
        self.layers = nn.Sequential(*layers)
        # A plain list (not registered twice in the state dict) of the same modules, for infer().
        self._linears: list[nn.Linear] = [m for m in layers if isinstance(m, nn.Linear)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Compute logits.

        Args:
            x: float32 tensor of shape (n, input_dim).

        Returns:
            float32 tensor of shape (n,): one logit per row.
        """
        logits: torch.Tensor = self.layers(x)
        return logits.squeeze(-1)

    def infer(self, x: torch.Tensor) -> torch.Tensor:
        """Eval-mode logits without ``nn.Module`` dispatch: what :meth:`forward` gives in eval mode.

        The same kernels in the same order (``F.linear``, then the activation's function), with
        dropout left out, as ``nn.Dropout`` is the identity in eval mode; so the result is
        bit-identical to ``self.eval()(x)`` (``tests/unit/test_mlp.py`` checks it). It skips
        about ten module calls: one-row scoring takes ~20 µs instead of ~40-65 µs on 2 cores
        (``benchmarks/serving_latency.py``, "Predictor: torch forward + sigmoid").

        Args:
            x: float32 tensor of shape (n, input_dim). Call it under ``torch.inference_mode()``
                or ``torch.no_grad()``; it does not switch autograd off itself.

        Returns:
            float32 tensor of shape (n,): one logit per row.

        Raises:
            RuntimeError: If the model is in training mode (dropout would not be applied).
        """
        if self.training:
            raise RuntimeError("MLPClassifier.infer is for eval mode; call model.eval() first")
        activation = _FUNCTIONAL[self.activation]
        hidden = x
        linears = self._linears
        for linear in linears[:-1]:
            hidden = activation(F.linear(hidden, linear.weight, linear.bias))
        last = linears[-1]
        logits: torch.Tensor = F.linear(hidden, last.weight, last.bias)
        return logits.squeeze(-1)

    def architecture(self) -> dict[str, Any]:
        """Return the constructor arguments, JSON-safe, for :meth:`from_architecture`."""
        return {
            "input_dim": self.input_dim,
            "hidden_sizes": list(self.hidden_sizes),
            "activation": self.activation,
            "dropout": self.dropout,
        }

    @classmethod
    def from_architecture(cls, architecture: Mapping[str, Any]) -> "MLPClassifier":
        """Build an untrained network from :meth:`architecture` output.

        Args:
            architecture: Mapping with the keys ``input_dim``, ``hidden_sizes``, ``activation``
                and ``dropout``.

        Returns:
            A freshly initialised network; load its weights with ``load_state_dict``.

        Raises:
            ValueError: If a key is missing or unknown, or a value is out of range.
        """
        expected = {"input_dim", "hidden_sizes", "activation", "dropout"}
        if set(architecture) != expected:
            raise ValueError(
                f"architecture: expected keys {sorted(expected)}, got {sorted(architecture)}"
            )
        return cls(
            input_dim=architecture["input_dim"],
            hidden_sizes=architecture["hidden_sizes"],
            activation=architecture["activation"],
            dropout=architecture["dropout"],
        )

    def linear_layers(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The linear layers' parameters, input to output, as float64 numpy copies.

        Returns:
            (weight of shape (out, in), bias of shape (out,)) per ``nn.Linear``.
        """
        return [
            (
                module.weight.detach().double().cpu().numpy(),
                module.bias.detach().double().cpu().numpy(),
            )
            for module in self.layers
            if isinstance(module, nn.Linear)
        ]

    def n_parameters(self) -> int:
        """Return the number of trainable parameters (weights and biases)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)
