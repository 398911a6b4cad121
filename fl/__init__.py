"""Federated learning on top of secagg: numpy models, non-IID clients, FedAvg /
FedProx / FedNova with every round's updates summed by secure aggregation,
optional differential privacy, and the demo (``python -m fl``).

Modules: :mod:`fl.data` (vendored digits, synthetic data, Dirichlet
partitions), :mod:`fl.models`, :mod:`fl.training` (local SGD, strategies),
:mod:`fl.secure` (the client/server boundary), :mod:`fl.server`,
:mod:`fl.federation` (the loop), :mod:`fl.plots`, :mod:`fl.cli`.
"""

from __future__ import annotations

__all__ = ["FLConfig", "run_federated"]


def __getattr__(name: str):  # lazy: importing fl must not pull in matplotlib or scipy
    if name in __all__:
        from . import federation

        return getattr(federation, name)
    raise AttributeError(name)
