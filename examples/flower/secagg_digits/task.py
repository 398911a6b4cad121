"""Data, model and local training of the example (numpy only, deterministic).

The digits travel inside the app bundle (``digits.json``: the repository's
``fl/data/digits.csv.gz``, base64-encoded and checked against its SHA-256).
Node ``p`` of ``n`` trains on a seeded Dirichlet label-skew partition of the
training split; the server evaluates on the held-out test split. Training is
reproducible from (seed, partition, round), so a test can recompute every
node's update.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
from pathlib import Path

import numpy as np

DIGITS_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"
N_FEATURES, N_CLASSES = 64, 10
TEST_FRACTION = 0.2

Params = list[np.ndarray]


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """All 1797 digits: pixels scaled to [0, 1] and labels 0..9.

    Raises:
        ValueError: The bundled copy is not the recorded file.
    """
    doc = json.loads(Path(__file__).with_name("digits.json").read_text())
    raw = base64.b64decode(doc["csv_gz_base64"])
    if hashlib.sha256(raw).hexdigest() != DIGITS_SHA256:
        raise ValueError("the bundled digits are not the recorded copy (SHA-256 differs).")
    table = np.loadtxt(io.BytesIO(gzip.decompress(raw)), delimiter=",", dtype=np.float64)
    return table[:, :64] / 16.0, table[:, 64].astype(np.int64)


def split(seed: int) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """(train, test) halves of the digits, shuffled with ``seed``."""
    x, y = load_digits()
    order = np.random.default_rng(seed).permutation(y.size)
    n_test = int(round(TEST_FRACTION * y.size))
    test, train = order[:n_test], order[n_test:]
    return (x[train], y[train]), (x[test], y[test])


def partition(
    partition_id: int, num_partitions: int, seed: int, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    """Node ``partition_id``'s share of the training split (Dirichlet label skew).

    Raises:
        ValueError: A partition id outside 0..num_partitions-1, or no draw in
            100 gives every node at least 10 samples.
    """
    if not 0 <= partition_id < num_partitions:
        raise ValueError(f"partition-id must lie in 0..{num_partitions - 1}, got {partition_id}.")
    (x, y), _ = split(seed)
    rng = np.random.default_rng([seed, num_partitions])
    for _ in range(100):
        parts: list[list[np.ndarray]] = [[] for _ in range(num_partitions)]
        for c in range(N_CLASSES):
            idx = rng.permutation(np.flatnonzero(y == c))
            cuts = np.cumsum(rng.dirichlet(np.full(num_partitions, alpha)))[:-1] * idx.size
            for i, chunk in enumerate(np.split(idx, cuts.astype(int))):
                parts[i].append(chunk)
        sizes = [sum(c.size for c in p) for p in parts]
        if min(sizes) >= 10:
            mine = np.sort(np.concatenate(parts[partition_id]))
            return x[mine], y[mine]
    raise ValueError(f"no Dirichlet({alpha}) draw gave all {num_partitions} nodes 10 samples.")


def initial_params() -> Params:
    """Zero weights and biases of the softmax regression."""
    return [np.zeros((N_FEATURES, N_CLASSES)), np.zeros(N_CLASSES)]


def _loss_and_grad(params: Params, x: np.ndarray, y: np.ndarray) -> tuple[float, Params]:
    w, b = params
    z = x @ w + b
    z -= z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    loss = -float(logp[np.arange(y.size), y].mean())
    g = np.exp(logp)
    g[np.arange(y.size), y] -= 1.0
    g /= y.size
    return loss, [x.T @ g + 1e-4 * w, g.sum(axis=0)]


def train(
    params: Params,
    data: tuple[np.ndarray, np.ndarray],
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    seed: int,
    partition_id: int,
    server_round: int,
) -> tuple[Params, float]:
    """Minibatch SGD from ``params``; returns the new parameters and the last loss."""
    x, y = data
    rng = np.random.default_rng([seed, partition_id, server_round])
    w = [p.astype(np.float64, copy=True) for p in params]
    loss = float("nan")
    for _ in range(epochs):
        order = rng.permutation(y.size)
        for start in range(0, y.size, batch_size):
            idx = order[start : start + batch_size]
            loss, grads = _loss_and_grad(w, x[idx], y[idx])
            w = [p - lr * g for p, g in zip(w, grads, strict=True)]
    return w, loss


def evaluate(params: Params, data: tuple[np.ndarray, np.ndarray]) -> tuple[float, float]:
    """(loss, accuracy) of ``params`` on ``data``."""
    x, y = data
    loss, _ = _loss_and_grad(params, x, y)
    w, b = params
    return loss, float(np.mean(np.argmax(x @ w + b, axis=1) == y))
