"""Client-side computation: local training and the strategies' update vectors.

A strategy decides what each client sends (as a list of arrays, aggregated
as a weighted mean) and how the server turns that mean into the next global
model. The server never needs an individual update: every strategy's server
step uses only the weighted mean and the summed weight.

* FedAvg (McMahan et al. 2017): send Δ_k = w_k^local − w; w ← w + Σ n_k Δ_k / Σ n_k.
* FedProx (Li et al. 2020): FedAvg with a proximal term (μ/2)·||w − w_global||²
  in the local objective.
* FedNova (Wang et al. 2020): send the normalised update d_k = Δ_k / τ_k and
  τ_k (local steps, scaled by a public τ_max) in the same vector;
  w ← w + τ_eff · Σ n_k d_k / Σ n_k with τ_eff = Σ n_k τ_k / Σ n_k.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from secagg.exceptions import InvalidInputError

from .data import ClientData, Dataset
from .models import Model, Params

__all__ = [
    "LocalConfig",
    "Strategy",
    "local_train",
    "evaluate",
    "personalised_accuracy",
    "make_strategy",
]


@dataclass(frozen=True)
class LocalConfig:
    """Local training hyper-parameters.

    Attributes:
        epochs: Passes over the local data per round.
        batch_size: Minibatch size.
        lr: Learning rate of plain SGD.
    """

    epochs: int = 2
    batch_size: int = 16
    lr: float = 0.3

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or not self.lr > 0:
            raise InvalidInputError(
                f"local training needs epochs >= 1, batch_size >= 1 and lr > 0, got "
                f"{self.epochs}, {self.batch_size}, {self.lr}"
            )

    def steps(self, n_samples: int) -> int:
        """Local SGD steps for a client with ``n_samples`` samples."""
        return self.epochs * math.ceil(n_samples / self.batch_size)


def local_train(
    model: Model,
    params: Params,
    data: Dataset,
    cfg: LocalConfig,
    rng: np.random.Generator,
    prox_mu: float = 0.0,
    epochs: int | None = None,
) -> tuple[Params, int, float]:
    """Minibatch SGD from ``params`` on ``data``.

    Args:
        model: The model.
        params: Starting parameters (not modified).
        data: Local training data.
        cfg: Hyper-parameters.
        rng: Shuffling randomness.
        prox_mu: FedProx proximal coefficient μ (0 for plain SGD).
        epochs: Override of ``cfg.epochs``.

    Returns:
        ``(new parameters, number of SGD steps, mean training loss of the last epoch)``.
    """
    anchor = [p.copy() for p in params]
    w = [p.copy() for p in params]
    steps, last_losses = 0, list[float]()
    for _epoch in range(cfg.epochs if epochs is None else epochs):
        order = rng.permutation(len(data))
        last_losses = []
        for start in range(0, order.size, cfg.batch_size):
            idx = order[start : start + cfg.batch_size]
            loss, grads = model.loss_and_grad(w, data.x[idx], data.y[idx])
            if prox_mu:
                grads = [g + prox_mu * (p - a) for g, p, a in zip(grads, w, anchor, strict=True)]
            w = [p - cfg.lr * g for p, g in zip(w, grads, strict=True)]
            steps += 1
            last_losses.append(loss)
    return w, steps, float(np.mean(last_losses)) if last_losses else float("nan")


def evaluate(model: Model, params: Params, data: Dataset) -> tuple[float, float]:
    """``(accuracy, mean cross-entropy loss)`` of ``params`` on ``data``."""
    loss, _ = model.loss_and_grad(params, data.x, data.y)
    acc = float(np.mean(model.predict(params, data.x) == data.y))
    return acc, float(loss)


def personalised_accuracy(
    model: Model,
    params: Params,
    clients: list[ClientData],
    cfg: LocalConfig,
    rng: np.random.Generator,
    steps: int = 5,
) -> float:
    """Mean local-test accuracy after ``steps`` local SGD steps from the global model.

    Each client fine-tunes a copy of the global model on its own training
    part (a few minibatch steps) and is scored on its own test part; the
    result is the sample-weighted mean over clients.
    """
    correct, total = 0.0, 0
    for c in clients:
        w = [p.copy() for p in params]
        for _ in range(steps):
            idx = rng.choice(len(c.train), size=min(cfg.batch_size, len(c.train)), replace=False)
            _, grads = model.loss_and_grad(w, c.train.x[idx], c.train.y[idx])
            w = [p - cfg.lr * g for p, g in zip(w, grads, strict=True)]
        correct += float(np.sum(model.predict(w, c.test.x) == c.test.y))
        total += len(c.test)
    return correct / total


@dataclass(frozen=True)
class Strategy:
    """FedAvg, FedProx or FedNova: what a client sends and how the server steps.

    Attributes:
        name: "fedavg", "fedprox" or "fednova".
        prox_mu: FedProx's μ (used by "fedprox" only).
        tau_max: Public bound on local steps; FedNova sends τ_k / tau_max so
            the scalar stays within the encoder's clip range.
    """

    name: str = "fedavg"
    prox_mu: float = 0.0
    tau_max: int = 1

    def __post_init__(self) -> None:
        if self.name not in ("fedavg", "fedprox", "fednova"):
            raise InvalidInputError(
                f"strategy must be 'fedavg', 'fedprox' or 'fednova', got {self.name!r}"
            )
        if self.name == "fedprox" and not self.prox_mu > 0:
            raise InvalidInputError(f"FedProx needs a proximal mu > 0, got {self.prox_mu}")
        if self.tau_max < 1:
            raise InvalidInputError(f"tau_max must be >= 1, got {self.tau_max}")

    @property
    def mu(self) -> float:
        """Proximal coefficient used in local training."""
        return self.prox_mu if self.name == "fedprox" else 0.0

    def client_vector(self, delta: Params, steps: int) -> Params:
        """The arrays a client sends (aggregated as a weighted mean)."""
        if self.name != "fednova":
            return delta
        if steps > self.tau_max:
            raise InvalidInputError(f"{steps} local steps exceed the public tau_max {self.tau_max}")
        return [d / steps for d in delta] + [np.array([steps / self.tau_max])]

    def template(self, params: Params) -> Params:
        """Zero arrays with the shape of :meth:`client_vector`'s output."""
        zeros = [np.zeros_like(p) for p in params]
        return zeros + [np.zeros(1)] if self.name == "fednova" else zeros

    def server_step(self, params: Params, mean: Params) -> Params:
        """Next global model from the weighted mean of the client vectors."""
        if self.name != "fednova":
            return [p + m for p, m in zip(params, mean, strict=True)]
        tau_eff = float(mean[-1][0]) * self.tau_max
        return [p + tau_eff * m for p, m in zip(params, mean[:-1], strict=True)]


def make_strategy(name: str, prox_mu: float = 0.01, tau_max: int = 1) -> Strategy:
    """Build a strategy by name, filling FedProx's μ and FedNova's τ_max."""
    return Strategy(name, prox_mu if name == "fedprox" else 0.0, tau_max)
