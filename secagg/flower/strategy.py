"""Secure aggregation for Flower's Message-API strategies (``flwr.serverapp.strategy``).

Flower 1.42 has no secure aggregation for these strategies. :class:`SecAggStrategy`
wraps one (FedAvg, or any strategy whose ``aggregate_train`` takes a weighted
mean of the replies' ArrayRecords)::

    strategy = SecAggStrategy(FedAvg(fraction_evaluate=0.0), dropout=0.2)
    result = strategy.start(grid=grid, initial_arrays=arrays, num_rounds=3)

and the ClientApp adds :func:`~secagg.flower.client_mod.secagg_train_mod`.
Each round, ``configure_train`` lets the wrapped strategy sample the nodes
and build their instructions, then runs the protocol over the grid up to
the masked upload (training happens in the first stage) and returns no
message of its own, so ``start()``'s train exchange is empty. ``aggregate_train``
runs the unmasking and hands the wrapped strategy a single reply holding the
aggregate (weight 1), so its own averaging returns that aggregate unchanged.
A failed round returns ``(None, None)``: ``start()`` keeps the model.
Evaluation is the wrapped strategy's, unchanged (its metrics are not
protected).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flwr.app import ArrayRecord, ConfigRecord, Message, MetricRecord, RecordDict
from flwr.app.message_type import MessageType
from flwr.serverapp.grid import Grid
from flwr.serverapp.strategy import Strategy

from ..exceptions import InvalidInputError, SecAggError
from .driver import RoundOutcome, RoundSession, failed_round
from .settings import Settings
from .training import Flavour

__all__ = ["SecAggStrategy"]


class SecAggStrategy(Strategy):
    """A Message-API strategy whose training rounds aggregate securely.

    Args:
        strategy: The wrapped strategy (e.g. ``flwr.serverapp.strategy.FedAvg``).
        settings: The knobs, or None to build them from ``knobs``.
        **knobs: Fields of :class:`~secagg.flower.settings.Settings`.

    Attributes:
        outcomes: One :class:`~secagg.flower.driver.RoundOutcome` per round.

    Raises:
        InvalidInputError: A knob is out of range, or both forms are given.
    """

    def __init__(self, strategy: Strategy, settings: Settings | None = None, **knobs: Any) -> None:
        if settings is not None and knobs:
            raise InvalidInputError("give either a Settings object or its fields, not both.")
        if not isinstance(strategy, Strategy):
            raise InvalidInputError(
                f"SecAggStrategy wraps a flwr.serverapp Strategy, got {type(strategy).__name__}."
            )
        self.strategy = strategy
        self.settings = settings if settings is not None else Settings(**knobs)
        self.weight_key = str(getattr(strategy, "weighted_by_key", "num-examples"))
        self.outcomes: list[RoundOutcome] = []
        self._pending: RoundSession | None = None

    def summary(self) -> None:
        """Log the wrapped strategy's summary."""
        self.strategy.summary()

    def configure_train(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        """Sample, train and collect the masked updates; nothing is left to send.

        Returns:
            An empty list (the protocol's exchanges already happened on ``grid``).
        """
        self._pending = None
        messages = list(self.strategy.configure_train(server_round, arrays, config, grid))
        if not messages:
            self.outcomes.append(failed_round(server_round, "the strategy sampled no node"))
            return []
        requests: dict[int, RecordDict] = {}
        for message in messages:
            if message.metadata.message_type != MessageType.TRAIN:
                raise InvalidInputError(
                    "the wrapped strategy must send plain train messages, got "
                    f"{message.metadata.message_type!r}."
                )
            requests[message.metadata.dst_node_id] = message.content
        try:
            session = RoundSession(
                self.settings, grid, server_round, Flavour.MESSAGE, requests, self.weight_key
            )
        except SecAggError as exc:
            self.outcomes.append(failed_round(server_round, str(exc)))
            return []
        self.outcomes.append(session.run(stop_before_unmasking=True))
        self._pending = session
        return []

    def aggregate_train(
        self, server_round: int, replies: Iterable[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        """Unmask, then let the wrapped strategy aggregate the aggregate.

        Returns:
            The wrapped strategy's result, or ``(None, None)`` when the round failed.
        """
        session, self._pending = self._pending, None
        if session is None or session.outcome.server_round != server_round:
            return None, None
        outcome = session.run()
        if not outcome.completed or outcome.model is None:
            return None, None
        content = RecordDict(
            {"arrays": outcome.model.to_record(), "metrics": MetricRecord({self.weight_key: 1})}
        )
        aggregate = Message(
            content, dst_node_id=outcome.survivors[0], message_type=MessageType.TRAIN
        )
        return self.strategy.aggregate_train(server_round, [aggregate])

    def configure_evaluate(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        """The wrapped strategy's evaluation round."""
        return self.strategy.configure_evaluate(server_round, arrays, config, grid)

    def aggregate_evaluate(
        self, server_round: int, replies: Iterable[Message]
    ) -> MetricRecord | None:
        """The wrapped strategy's evaluation aggregation."""
        return self.strategy.aggregate_evaluate(server_round, replies)
