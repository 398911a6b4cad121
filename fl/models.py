"""Numpy models with hand-written gradients: softmax regression and a
one-hidden-layer MLP. Parameters are lists of float64 arrays, the form the
secure aggregation encoder flattens and restores."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from secagg.exceptions import InvalidInputError

__all__ = ["Model", "SoftmaxRegression", "MLP", "make_model", "Params"]

Params = list[np.ndarray]


def _softmax_xent(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy and its gradient with respect to the logits."""
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    n = y.size
    loss = -float(logp[np.arange(n), y].mean())
    g = np.exp(logp)
    g[np.arange(n), y] -= 1.0
    return loss, g / n


class Model(Protocol):
    """What the training loop needs from a model."""

    def init(self, rng: np.random.Generator) -> Params: ...

    def loss_and_grad(
        self, params: Params, x: np.ndarray, y: np.ndarray
    ) -> tuple[float, Params]: ...

    def predict(self, params: Params, x: np.ndarray) -> np.ndarray: ...


class SoftmaxRegression:
    """Multinomial logistic regression: logits = x W + b, with L2 weight decay."""

    def __init__(self, dim: int, n_classes: int, weight_decay: float = 1e-4) -> None:
        self.dim, self.n_classes, self.weight_decay = dim, n_classes, weight_decay

    def init(self, rng: np.random.Generator) -> Params:
        """Zero weights and biases (the loss is convex; zeros are a fine start)."""
        return [np.zeros((self.dim, self.n_classes)), np.zeros(self.n_classes)]

    def loss_and_grad(self, params: Params, x: np.ndarray, y: np.ndarray) -> tuple[float, Params]:
        """Mean cross-entropy plus ``weight_decay/2 * ||W||^2`` and its gradient."""
        w, b = params
        loss, g = _softmax_xent(x @ w + b, y)
        loss += 0.5 * self.weight_decay * float(np.sum(w * w))
        return loss, [x.T @ g + self.weight_decay * w, g.sum(axis=0)]

    def predict(self, params: Params, x: np.ndarray) -> np.ndarray:
        """Predicted class per row."""
        w, b = params
        return np.argmax(x @ w + b, axis=1)


class MLP:
    """One hidden layer with tanh: logits = tanh(x W1 + b1) W2 + b2."""

    def __init__(
        self, dim: int, n_classes: int, hidden: int = 32, weight_decay: float = 1e-4
    ) -> None:
        self.dim, self.n_classes, self.hidden = dim, n_classes, hidden
        self.weight_decay = weight_decay

    def init(self, rng: np.random.Generator) -> Params:
        """Glorot-uniform weights, zero biases."""
        a1 = np.sqrt(6.0 / (self.dim + self.hidden))
        a2 = np.sqrt(6.0 / (self.hidden + self.n_classes))
        return [
            rng.uniform(-a1, a1, (self.dim, self.hidden)),
            np.zeros(self.hidden),
            rng.uniform(-a2, a2, (self.hidden, self.n_classes)),
            np.zeros(self.n_classes),
        ]

    def loss_and_grad(self, params: Params, x: np.ndarray, y: np.ndarray) -> tuple[float, Params]:
        """Mean cross-entropy plus weight decay on W1, W2; backpropagated gradient."""
        w1, b1, w2, b2 = params
        h = np.tanh(x @ w1 + b1)
        loss, g = _softmax_xent(h @ w2 + b2, y)
        wd = self.weight_decay
        loss += 0.5 * wd * float(np.sum(w1 * w1) + np.sum(w2 * w2))
        gw2 = h.T @ g + wd * w2
        gb2 = g.sum(axis=0)
        gh = (g @ w2.T) * (1.0 - h * h)
        gw1 = x.T @ gh + wd * w1
        gb1 = gh.sum(axis=0)
        return loss, [gw1, gb1, gw2, gb2]

    def predict(self, params: Params, x: np.ndarray) -> np.ndarray:
        """Predicted class per row."""
        w1, b1, w2, b2 = params
        return np.argmax(np.tanh(x @ w1 + b1) @ w2 + b2, axis=1)


def make_model(name: str, dim: int, n_classes: int, hidden: int = 32) -> SoftmaxRegression | MLP:
    """Build a model by name ("softmax" or "mlp").

    Raises:
        InvalidInputError: On an unknown name.
    """
    if name == "softmax":
        return SoftmaxRegression(dim, n_classes)
    if name == "mlp":
        return MLP(dim, n_classes, hidden)
    raise InvalidInputError(f"model must be 'softmax' or 'mlp', got {name!r}")
