"""Federated learning on top of secagg: numpy models, non-IID clients, FedAvg /
FedProx / FedNova with every round's updates summed by secure aggregation,
optional differential privacy, and the demo (``python -m fl``).

Modules, each importing only those listed before it: :mod:`fl.data`
(vendored digits, synthetic data, Dirichlet partitions), :mod:`fl.models`,
:mod:`fl.training` (local SGD, strategies), :mod:`fl.config` (the run's
configuration), :mod:`fl.privacy` (DP set-up and accounting), :mod:`fl.plan`
(the session plan), :mod:`fl.boundary` (the aggregation boundary),
:mod:`fl.aggregators` (masking and the plain baseline), :mod:`fl.paillier`
and :mod:`fl.paillier_runs` (packed Paillier, key holder or committee),
:mod:`fl.multiserver` (additive shares across servers), :mod:`fl.paths`
(the paths by name), :mod:`fl.audit`, :mod:`fl.server`,
:mod:`fl.federation` (the loop), :mod:`fl.plots`, :mod:`fl.report`,
:mod:`fl.compare` (aggregation paths side by side), :mod:`fl.progress`
(progress on stderr), :mod:`fl.cli`.

The demo lives in the repository, not in the installed package: run it from
a checkout (``make demo``).
"""

from __future__ import annotations

from .config import FLConfig
from .federation import run_federated

__all__ = ["FLConfig", "run_federated"]
