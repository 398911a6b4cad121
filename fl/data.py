"""Data for the federated demo: the vendored digits set, a synthetic option,
and seeded Dirichlet label-skew partitions (non-IID clients)."""

from __future__ import annotations

import gzip
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from secagg.exceptions import InvalidInputError

__all__ = [
    "DIGITS_SHA256",
    "Dataset",
    "ClientData",
    "load_digits",
    "make_synthetic",
    "train_test_split",
    "dirichlet_partition",
    "make_clients",
]

DIGITS_PATH = Path(__file__).with_name("data") / "digits.csv.gz"
DIGITS_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"


@dataclass(frozen=True)
class Dataset:
    """Features (float64, one row per sample), integer labels and the class count."""

    x: np.ndarray
    y: np.ndarray
    n_classes: int

    def __len__(self) -> int:
        return int(self.y.size)

    def subset(self, idx: np.ndarray) -> Dataset:
        """Rows ``idx`` as a new Dataset."""
        return Dataset(self.x[idx], self.y[idx], self.n_classes)


@dataclass(frozen=True)
class ClientData:
    """One client's local data: a training part and a local test part."""

    cid: int
    train: Dataset
    test: Dataset


def load_digits(path: Path | str | None = None) -> Dataset:
    """Load the vendored UCI digits (1797 × 64, pixels scaled to [0, 1]).

    Args:
        path: Alternative file location (default: the vendored copy).

    Returns:
        The data set with 10 classes.

    Raises:
        InvalidInputError: If the file is missing, its SHA-256 differs from the
            recorded one, or its content is not 1797 rows of 64 pixels + label.
    """
    p = Path(path) if path is not None else DIGITS_PATH
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise InvalidInputError(f"cannot read the digits data at {p}: {exc}") from exc
    digest = hashlib.sha256(raw).hexdigest()
    if digest != DIGITS_SHA256:
        raise InvalidInputError(
            f"the digits file {p} has SHA-256 {digest}, not the recorded {DIGITS_SHA256}; "
            "it is not the vendored copy (see fl/data/README.md)"
        )
    table = np.loadtxt(io.BytesIO(gzip.decompress(raw)), delimiter=",", dtype=np.float64)
    if table.shape != (1797, 65):
        raise InvalidInputError(f"expected 1797 rows of 65 values, got shape {table.shape}")
    x = table[:, :64] / 16.0
    y = table[:, 64].astype(np.int64)
    return Dataset(x, y, 10)


def make_synthetic(
    n_samples: int = 2000, dim: int = 20, n_classes: int = 5, seed: int = 0
) -> Dataset:
    """A Gaussian-blob classification problem (one blob per class), seeded.

    Args:
        n_samples: Number of samples (>= n_classes).
        dim: Feature dimension (>= 1).
        n_classes: Number of classes (>= 2).
        seed: Seed of the generator (public data: a numpy seed is fine here).
    """
    if n_classes < 2 or dim < 1 or n_samples < n_classes:
        raise InvalidInputError(
            f"synthetic data needs n_classes >= 2, dim >= 1 and n_samples >= n_classes; got "
            f"n_samples={n_samples}, dim={dim}, n_classes={n_classes}"
        )
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 1.0, (n_classes, dim))
    y = rng.integers(0, n_classes, n_samples)
    x = centres[y] + rng.normal(0.0, 0.8, (n_samples, dim))
    return Dataset(x, y.astype(np.int64), n_classes)


def train_test_split(
    data: Dataset, test_fraction: float, rng: np.random.Generator
) -> tuple[Dataset, Dataset]:
    """Shuffle and split ``data`` into (train, test).

    Raises:
        InvalidInputError: If the fraction is outside (0, 1) or leaves a side empty.
    """
    if not 0 < test_fraction < 1:
        raise InvalidInputError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    idx = rng.permutation(len(data))
    n_test = int(round(test_fraction * len(data)))
    if n_test == 0 or n_test == len(data):
        raise InvalidInputError(
            f"a test fraction of {test_fraction} leaves an empty side for {len(data)} samples"
        )
    return data.subset(idx[n_test:]), data.subset(idx[:n_test])


def dirichlet_partition(
    y: np.ndarray,
    n_clients: int,
    alpha: float,
    rng: np.random.Generator,
    min_size: int = 10,
    max_tries: int = 1000,
) -> list[np.ndarray]:
    """Label-skewed split: each class is divided among clients by Dirichlet(α) weights.

    Small α gives each client few classes (strongly non-IID); large α tends to
    IID. Redrawn until every client holds at least ``min_size`` samples.

    Args:
        y: Labels.
        n_clients: Number of clients (>= 1).
        alpha: Dirichlet concentration (> 0).
        rng: Seeded generator (reproducible partitions).
        min_size: Least samples per client.
        max_tries: Redraws before giving up.

    Returns:
        One index array per client (disjoint, covering every sample).

    Raises:
        InvalidInputError: On bad parameters, or if no draw gives every client
            ``min_size`` samples.
    """
    y = np.asarray(y)
    if n_clients < 1 or not alpha > 0:
        raise InvalidInputError(
            f"a partition needs n_clients >= 1 and alpha > 0, got {n_clients} and {alpha}"
        )
    if n_clients * min_size > y.size:
        raise InvalidInputError(
            f"{y.size} samples cannot give {n_clients} clients {min_size} samples each"
        )
    classes = np.unique(y)
    for _ in range(max_tries):
        parts: list[list[np.ndarray]] = [[] for _ in range(n_clients)]
        for c in classes:
            idx = rng.permutation(np.flatnonzero(y == c))
            props = rng.dirichlet(np.full(n_clients, alpha))
            cuts = (np.cumsum(props)[:-1] * idx.size).astype(int)
            for i, chunk in enumerate(np.split(idx, cuts)):
                parts[i].append(chunk)
        out = [np.sort(np.concatenate(p)) for p in parts]
        if min(p.size for p in out) >= min_size:
            return out
    raise InvalidInputError(
        f"no Dirichlet(alpha={alpha}) draw in {max_tries} tries gave all {n_clients} clients "
        f"at least {min_size} samples; raise alpha or lower min_size"
    )


def make_clients(
    train: Dataset,
    n_clients: int,
    alpha: float,
    rng: np.random.Generator,
    local_test_fraction: float = 0.2,
) -> list[ClientData]:
    """Partition ``train`` among clients (Dirichlet label skew), each keeping a
    local test part for personalised evaluation. Client ids are 1..n_clients."""
    # At least 10 samples per client when the data allow it, never fewer than 2
    # (one to train on, one for the local test part).
    min_size = max(2, min(10, len(train) // (4 * n_clients)))
    parts = dirichlet_partition(train.y, n_clients, alpha, rng, min_size=min_size)
    clients = []
    for cid, idx in enumerate(parts, start=1):
        idx = rng.permutation(idx)
        n_test = max(1, int(round(local_test_fraction * idx.size)))
        clients.append(ClientData(cid, train.subset(idx[n_test:]), train.subset(idx[:n_test])))
    return clients
