"""MLPClassifier: shapes, rebuild from its architecture, parameter count."""

from __future__ import annotations

import pytest
import torch

from tabular_classifier.model import ACTIVATIONS, MLPClassifier


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_forward_returns_one_float32_logit_per_row(activation: str) -> None:
    model = MLPClassifier(5, [8, 4], activation, 0.1).eval()
    for n in (1, 7):
        logits = model(torch.randn(n, 5))
        assert logits.shape == (n,)
        assert logits.dtype == torch.float32


def test_layer_structure() -> None:
    model = MLPClassifier(3, [4, 2], "gelu", 0.25)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Linear", "GELU", "Dropout", "Linear", "GELU", "Dropout", "Linear"]
    assert model.layers[2].p == 0.25


def test_parameter_count() -> None:
    model = MLPClassifier(30, [32, 16], "relu", 0.0)
    assert model.n_parameters() == (30 * 32 + 32) + (32 * 16 + 16) + (16 + 1)


def test_rebuild_from_architecture_reproduces_outputs() -> None:
    torch.manual_seed(0)
    model = MLPClassifier(6, [5], "tanh", 0.3).eval()
    architecture = model.architecture()
    assert architecture == {
        "input_dim": 6,
        "hidden_sizes": [5],
        "activation": "tanh",
        "dropout": 0.3,
    }
    rebuilt = MLPClassifier.from_architecture(architecture)
    rebuilt.load_state_dict(model.state_dict())
    rebuilt.eval()
    x = torch.randn(4, 6)
    assert torch.equal(rebuilt(x), model(x))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, [4], "relu", 0.0), "input_dim"),
        ((3, [], "relu", 0.0), "hidden_sizes"),
        ((3, [4, 0], "relu", 0.0), "hidden_sizes"),
        ((3, [4], "sigmoid", 0.0), "activation"),
        ((3, [4], "relu", 1.0), "dropout"),
    ],
)
def test_invalid_arguments(args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MLPClassifier(*args)


def test_from_architecture_rejects_unknown_keys() -> None:
    architecture = MLPClassifier(3, [4], "relu", 0.0).architecture() | {"bias": False}
    with pytest.raises(ValueError, match="architecture: expected keys"):
        MLPClassifier.from_architecture(architecture)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("hidden", [[8], [16, 8, 4]])
def test_infer_is_bit_identical_to_the_eval_forward(activation: str, hidden: list[int]) -> None:
    torch.manual_seed(3)
    model = MLPClassifier(6, hidden, activation, 0.3).eval()
    for n in (1, 7, 1000):
        # Wide inputs, so negative pre-activations (LeakyReLU's slope, GELU's tail) matter.
        x = 4.0 * torch.randn(n, 6)
        with torch.inference_mode():
            expected = model(x)
            got = model.infer(x)
        assert got.shape == (n,) and got.dtype == torch.float32
        assert torch.equal(got, expected), (activation, hidden, n)


def test_infer_refuses_training_mode() -> None:
    model = MLPClassifier(3, [4], "relu", 0.5)
    with pytest.raises(RuntimeError, match="eval mode"):
        model.infer(torch.zeros(1, 3))
