"""The legacy fit workflow: the drop-in replacement for Flower's ``SecAggPlusWorkflow``.

Used exactly where ``SecAggPlusWorkflow`` goes::

    workflow = DefaultWorkflow(fit_workflow=SecAggWorkflow(dropout=0.2))

with a ``LegacyContext`` and a legacy strategy (``flwr.server.strategy``). Each
round it asks the strategy for its sample (``configure_fit``), runs one
secure-aggregation session over the sampled nodes (:class:`RoundSession`),
and hands the strategy one ``FitRes`` carrying the aggregate: the global
parameters plus the weighted mean update of the survivors, with
``num_examples = 1`` and no metrics (neither ever left a node in the clear).
Nodes left out are reported to ``aggregate_fit`` as failures. A round that
fails (too few nodes, too few survivors) is logged and leaves the model
unchanged; the next round runs normally.
"""

from __future__ import annotations

from typing import Any, cast

import flwr.compat.common.recorddict_compat as compat
from flwr.app import Context
from flwr.common import Code, FitRes, Status
from flwr.server.compat.legacy_context import LegacyContext
from flwr.server.workflow.constant import MAIN_CONFIGS_RECORD, MAIN_PARAMS_RECORD, Key
from flwr.serverapp.grid import Grid

from ..exceptions import InvalidInputError, SecAggError
from .driver import RoundOutcome, RoundSession, failed_round
from .settings import Settings
from .training import Flavour, legacy_parameters

__all__ = ["SecAggWorkflow"]


class SecAggWorkflow:
    """Secure aggregation as a legacy fit workflow (replaces ``SecAggPlusWorkflow``).

    Args:
        settings: The knobs, or None to build them from ``knobs``.
        **knobs: Fields of :class:`~secagg.flower.settings.Settings`
            (``dropout``, ``corrupt``, ``k``, ``t``, ``n_min``, ``clip``,
            ``quantization_bits``, ``max_weight``, ``timeout``, ...).

    Attributes:
        outcomes: One :class:`~secagg.flower.driver.RoundOutcome` per round run.

    Raises:
        InvalidInputError: A knob is out of range, or both forms are given.
    """

    def __init__(self, settings: Settings | None = None, **knobs: Any) -> None:
        if settings is not None and knobs:
            raise InvalidInputError("give either a Settings object or its fields, not both.")
        self.settings = settings if settings is not None else Settings(**knobs)
        self.outcomes: list[RoundOutcome] = []

    def __call__(self, grid: Grid, context: Context) -> None:
        """Run one round's fit with secure aggregation.

        Raises:
            TypeError: The context is not a ``LegacyContext``.
        """
        if not isinstance(context, LegacyContext):
            raise TypeError(f"Expect a LegacyContext, but get {type(context).__name__}.")
        cfg = context.state.config_records[MAIN_CONFIGS_RECORD]
        server_round = cast(int, cfg[Key.CURRENT_ROUND])
        parameters = compat.arrayrecord_to_parameters(
            context.state.array_records[MAIN_PARAMS_RECORD], keep_input=True
        )
        instructions = context.strategy.configure_fit(
            server_round=server_round, parameters=parameters, client_manager=context.client_manager
        )
        if not instructions:
            self.outcomes.append(failed_round(server_round, "the strategy sampled no node"))
            return
        proxies = {proxy.node_id: proxy for proxy, _ in instructions}
        requests = {
            proxy.node_id: compat.fitins_to_recorddict(fitins, True)
            for proxy, fitins in instructions
        }
        try:
            session = RoundSession(self.settings, grid, server_round, Flavour.LEGACY, requests)
        except SecAggError as exc:
            self.outcomes.append(failed_round(server_round, str(exc)))
            return
        outcome = session.run()
        self.outcomes.append(outcome)
        if not outcome.completed or outcome.model is None:
            return
        fitres = FitRes(
            status=Status(code=Code.OK, message="secure aggregate"),
            parameters=legacy_parameters(outcome.model),
            num_examples=1,
            metrics={},
        )
        failures: list[Any] = [
            Exception(f"node {nid} left the secure aggregation at {why}")
            for nid, why in sorted(outcome.dropped.items())
        ]
        survivor = proxies[outcome.survivors[0]]
        aggregated, metrics = context.strategy.aggregate_fit(
            server_round, [(survivor, fitres)], failures
        )
        if aggregated:
            context.state.array_records[MAIN_PARAMS_RECORD] = compat.parameters_to_arrayrecord(
                aggregated, True
            )
            context.history.add_metrics_distributed_fit(server_round=server_round, metrics=metrics)
