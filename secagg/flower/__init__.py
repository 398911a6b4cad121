"""secagg inside Flower (extra ``flower``, flwr 1.42): client mods, fit workflow, strategy.

- :func:`secagg_mod` and :class:`SecAggWorkflow` replace Flower's
  ``secaggplus_mod`` and ``SecAggPlusWorkflow`` in a legacy app;
- :func:`secagg_train_mod` and :class:`SecAggStrategy` bring secure
  aggregation to Message-API apps (``@app.train()``, ``flwr.serverapp.strategy``);
- :class:`Settings` holds the knobs; :class:`LoopbackGrid` runs a ServerApp's
  rounds against in-process ClientApps through Flower's own serialisation
  (tests, benchmarks).

docs/flower.md describes the stages, the node's storage and the trust
assumptions.
"""

from __future__ import annotations

from .client_mod import secagg_mod, secagg_train_mod
from .driver import RoundOutcome
from .loopback import LoopbackGrid
from .node import NodeStore
from .settings import Settings
from .strategy import SecAggStrategy
from .workflow import SecAggWorkflow

__all__ = [
    "LoopbackGrid",
    "NodeStore",
    "RoundOutcome",
    "SecAggStrategy",
    "SecAggWorkflow",
    "Settings",
    "secagg_mod",
    "secagg_train_mod",
]
