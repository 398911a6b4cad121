"""Where the model lives in Flower's two kinds of ``train`` message.

A *legacy* app (``ClientApp(client_fn)``, ``DefaultWorkflow``) exchanges
FitIns and FitRes converted to records; a *Message-API* app
(``@app.train()``, ``flwr.serverapp.strategy``) exchanges one ArrayRecord and
a MetricRecord with the example count. :class:`Flavour` reads the global
parameters out of a request, the trained parameters and example count out of
the reply, and (on the server) builds what the strategy expects back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import flwr.compat.common.recorddict_compat as compat
import numpy as np
from flwr.app import Array, ArrayRecord, RecordDict
from flwr.common import Code, Parameters, ndarrays_to_parameters, parameters_to_ndarrays

from ..encoding import Layout
from ..exceptions import InvalidInputError

__all__ = [
    "Flavour",
    "Model",
    "TrainingError",
    "apply_mean",
    "legacy_parameters",
    "model_record",
    "read_global",
    "read_trained",
    "same_arrays",
    "update",
    "update_layout",
]


class Flavour(StrEnum):
    """The kind of Flower app a session runs in."""

    LEGACY = "legacy"
    MESSAGE = "message"


class TrainingError(InvalidInputError):
    """Local training failed or returned something that cannot be aggregated."""


@dataclass(frozen=True)
class Model:
    """A list of arrays and, for Message-API records, their names.

    Attributes:
        arrays: The arrays, in order.
        names: The ArrayRecord keys (Message API), else None.
    """

    arrays: tuple[np.ndarray, ...]
    names: tuple[str, ...] | None = None

    def to_record(self) -> ArrayRecord:
        """The arrays as an ArrayRecord (keyed by name, else by position)."""
        names = self.names or tuple(str(i) for i in range(len(self.arrays)))
        return ArrayRecord(dict(zip(names, (_array(a) for a in self.arrays), strict=True)))


def _array(a: np.ndarray) -> Array:
    return Array(np.ascontiguousarray(a))


def _single_array_record(content: RecordDict, what: str) -> tuple[str, ArrayRecord]:
    records = list(content.array_records.items())
    if len(records) != 1:
        raise TrainingError(f"{what} must hold exactly one ArrayRecord, it holds {len(records)}.")
    return records[0]


def read_global(content: RecordDict, flavour: Flavour) -> Model:
    """The global parameters a train request carries (protocol records removed).

    Args:
        content: The request's content.
        flavour: Legacy FitIns records or a Message-API ArrayRecord.

    Returns:
        The arrays (and their names for the Message API).

    Raises:
        TrainingError: The request does not hold them in the expected form.
    """
    try:
        if flavour is Flavour.LEGACY:
            fitins = compat.recorddict_to_fitins(content, keep_input=True)
            return Model(tuple(parameters_to_ndarrays(fitins.parameters)))
        _, record = _single_array_record(content, "a train request")
        return Model(tuple(record.to_numpy_ndarrays()), tuple(record.keys()))
    except TrainingError:
        raise
    except Exception as exc:  # Flower's converters raise KeyError, TypeError, ValueError
        raise TrainingError(
            f"the train request does not carry {flavour.value} parameters ({type(exc).__name__})."
        ) from exc


def read_trained(
    content: RecordDict, flavour: Flavour, sent: Model, weight_key: str
) -> tuple[Model, float]:
    """The trained parameters and the example count of a train reply.

    Args:
        content: The app's reply content.
        flavour: Legacy FitRes records or a Message-API reply.
        sent: The global parameters the node was sent (the layout to match).
        weight_key: MetricRecord key of the example count (Message API).

    Returns:
        The trained arrays and the example count.

    Raises:
        TrainingError: The reply reports a failure, lacks the parameters or the
            count, or its arrays differ from the global ones in number, names,
            shapes or dtypes.
    """
    try:
        if flavour is Flavour.LEGACY:
            fitres = compat.recorddict_to_fitres(content, keep_input=True)
            if fitres.status.code != Code.OK:
                raise TrainingError("the client's fit reported a failure status.")
            model = Model(tuple(parameters_to_ndarrays(fitres.parameters)))
            weight: object = fitres.num_examples
        else:
            _, record = _single_array_record(content, "a train reply")
            model = Model(tuple(record.to_numpy_ndarrays()), tuple(record.keys()))
            counts = [m[weight_key] for m in content.metric_records.values() if weight_key in m]
            if len(counts) != 1:
                raise TrainingError(
                    f"a train reply must give {weight_key!r} in exactly one MetricRecord, "
                    f"found it in {len(counts)}."
                )
            weight = counts[0]
    except TrainingError:
        raise
    except Exception as exc:
        raise TrainingError(
            f"the train reply is not a {flavour.value} fit result ({type(exc).__name__})."
        ) from exc
    if isinstance(weight, bool) or not isinstance(weight, (int, float)):
        raise TrainingError(f"the example count must be a number, got {type(weight).__name__}.")
    if not math.isfinite(weight) or weight < 0:
        raise TrainingError("the example count must be a finite number >= 0.")
    _check_same_layout(sent, model)
    return model, float(weight)


def _check_same_layout(sent: Model, trained: Model) -> None:
    if sent.names != trained.names:
        raise TrainingError(
            f"the trained arrays are named {trained.names}, the global ones {sent.names}."
        )
    if len(sent.arrays) != len(trained.arrays):
        raise TrainingError(
            f"training returned {len(trained.arrays)} arrays for {len(sent.arrays)} global ones."
        )
    for i, (a, b) in enumerate(zip(sent.arrays, trained.arrays, strict=True)):
        if a.shape != b.shape or a.dtype != b.dtype:
            raise TrainingError(
                f"trained array {i} has shape {b.shape} and dtype {b.dtype}; the global "
                f"one has {a.shape} and {a.dtype}."
            )


def update_layout(model: Model) -> Layout:
    """The codec layout of an update of ``model``: its shapes, in float64.

    Updates are encoded from float64 whatever the parameters' float dtype, so
    both sides build the same layout from the global parameters.

    Args:
        model: The global parameters.

    Returns:
        Their shapes, with float64 dtypes.

    Raises:
        TrainingError: A parameter array is not floating point.
    """
    for i, a in enumerate(model.arrays):
        if not np.issubdtype(a.dtype, np.floating):
            raise TrainingError(
                f"parameter array {i} has dtype {a.dtype}; only floating-point parameters "
                "can be aggregated."
            )
    if not model.arrays:
        raise TrainingError("the model has no parameter array.")
    return Layout(
        tuple(tuple(int(d) for d in a.shape) for a in model.arrays),
        tuple(np.dtype(np.float64) for _ in model.arrays),
    )


def update(sent: Model, trained: Model) -> list[np.ndarray]:
    """The update: trained minus global, array by array, in float64."""
    return [
        np.subtract(t, s, dtype=np.float64)
        for s, t in zip(sent.arrays, trained.arrays, strict=True)
    ]


def apply_mean(sent: Model, mean: Sequence[np.ndarray]) -> Model:
    """The global parameters plus the mean update, in the global arrays' dtypes."""
    return Model(
        tuple(
            np.add(s, d, dtype=np.float64).astype(s.dtype, copy=False)
            for s, d in zip(sent.arrays, mean, strict=True)
        ),
        sent.names,
    )


def model_record(content: RecordDict, flavour: Flavour) -> ArrayRecord:
    """The ArrayRecord holding the global parameters of a train request.

    Raises:
        TrainingError: The request does not hold it in the expected form.
    """
    if flavour is Flavour.LEGACY:
        record = content.array_records.get("fitins.parameters")
        if record is None:
            raise TrainingError("the train request carries no legacy FitIns parameters.")
        return record
    return _single_array_record(content, "a train request")[1]


def same_arrays(a: ArrayRecord, b: ArrayRecord) -> bool:
    """True when two ArrayRecords hold the same names, dtypes, shapes and bytes."""
    if a is b:
        return True
    if list(a.keys()) != list(b.keys()):
        return False
    return all(
        (x.dtype, tuple(x.shape), x.stype, x.data) == (y.dtype, tuple(y.shape), y.stype, y.data)
        for x, y in zip(a.values(), b.values(), strict=True)
    )


def legacy_parameters(model: Model) -> Parameters:
    """The model as legacy ``Parameters``."""
    return ndarrays_to_parameters(list(model.arrays))
