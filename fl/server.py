"""The federated server: holds the global model and steps it with aggregates only.

Its one input is a round's :class:`fl.boundary.RoundOutcome`, of which it
reads the sum in Z_2^b over the survivors and the survivor count, and
decodes the sum with the public codec. It has no method that accepts an
individual client update, whatever the aggregator's server held.
"""

from __future__ import annotations

import numpy as np

from secagg.encoding import UpdateCodec

from .boundary import RoundOutcome
from .models import Params
from .training import Strategy

__all__ = ["Server"]


class Server:
    """Global model state and the strategy's server step.

    Args:
        params: Initial global parameters.
        strategy: FedAvg / FedProx / FedNova.
        codec: The public encoder shared with clients.
    """

    def __init__(self, params: Params, strategy: Strategy, codec: UpdateCodec) -> None:
        self._params = [p.copy() for p in params]
        self.strategy = strategy
        self.codec = codec

    @property
    def params(self) -> Params:
        """A copy of the current global parameters."""
        return [p.copy() for p in self._params]

    def broadcast(self) -> Params:
        """The global model sent to the sampled clients (a copy)."""
        return self.params

    def apply(self, outcome: RoundOutcome) -> float | None:
        """Decode the round's sum, divide by the summed weight and step the model.

        The sum is decoded as one over ``len(outcome.survivors)`` clients
        (U3), which the codec refuses beyond its ``n_max``.

        Returns:
            The summed weight, or None when nothing was released (model unchanged).

        Raises:
            InvalidInputError: If the codec does not fit the session's config,
                or the sum cannot be decoded.
        """
        if outcome.sum is None:
            return None
        self.codec.check_config(outcome.config)
        mean, total_weight = self.codec.decode_mean(np.asarray(outcome.sum), len(outcome.survivors))
        self._params = self.strategy.server_step(self._params, mean)
        return total_weight
