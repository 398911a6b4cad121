"""The federated server: holds the global model and only ever sees aggregates.

Its inputs are a :class:`fl.secure.ServerView` (the secure path: a sum in
Z_2^b over the survivors, decoded with the public codec) or, for the insecure
baseline only, an already-computed weighted mean. It has no method that
accepts an individual client update.
"""

from __future__ import annotations

import numpy as np

from secagg.encoding import UpdateCodec
from secagg.exceptions import InvalidInputError

from .models import Params
from .secure import ServerView
from .training import Strategy

__all__ = ["Server"]


class Server:
    """Global model state and the strategy's server step.

    Args:
        params: Initial global parameters.
        strategy: FedAvg / FedProx / FedNova.
        codec: The public encoder shared with clients (secure path).
    """

    def __init__(
        self, params: Params, strategy: Strategy, codec: UpdateCodec | None = None
    ) -> None:
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

    def apply_secure(self, view: ServerView) -> float | None:
        """Decode the secure sum, divide by the summed weight and step the model.

        The sum is decoded as one over ``len(view.survivors)`` clients (U3),
        which the codec refuses beyond its ``n_max``.

        Returns:
            The summed weight, or None when the session aborted (model unchanged).

        Raises:
            InvalidInputError: If no codec was configured, the codec does not
                fit the session's config, or the sum cannot be decoded.
        """
        if self.codec is None:
            raise InvalidInputError("the secure path needs the server to know the codec")
        if view.sum is None:
            return None
        if view.config is not None:
            self.codec.check_config(view.config)
        mean, total_weight = self.codec.decode_mean(np.asarray(view.sum), len(view.survivors))
        self._params = self.strategy.server_step(self._params, mean)
        return total_weight

    def apply_mean(self, mean: Params, total_weight: float) -> float:
        """Step the model with an already-averaged update (insecure baseline)."""
        self._params = self.strategy.server_step(self._params, mean)
        return total_weight
