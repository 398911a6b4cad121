"""What an encoded model update is made of: its layout and its single-use words.

- :class:`Layout` remembers the shapes and dtypes of a list of float arrays,
  flattens them into one float64 vector and restores them after decoding.
- :class:`Quantized` is a clipped, scaled, rounded update before the ring
  embedding, with what clipping changed.
- :class:`EncodedUpdate` holds one client's ring words and hands them out
  once (:meth:`EncodedUpdate.take`): two sums over different survivor sets
  that share an update would let the server difference them and isolate it.

:class:`secagg.encoding.UpdateCodec` produces these; ``secagg.encoding``
re-exports every name here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .exceptions import InvalidInputError

__all__ = ["Layout", "Quantized", "EncodedUpdate", "UpdateReusedError"]


class UpdateReusedError(InvalidInputError):
    """An encoded update was submitted to a second aggregation session."""


@dataclass(frozen=True)
class Layout:
    """Shapes and dtypes of a list of arrays, to flatten them and restore them.

    Attributes:
        shapes: Shape of each array, in order.
        dtypes: Floating dtype of each array, in order.
    """

    shapes: tuple[tuple[int, ...], ...]
    dtypes: tuple[np.dtype, ...]

    @classmethod
    def of(cls, arrays: Sequence[np.ndarray]) -> Layout:
        """Record the layout of ``arrays`` (floating dtypes only).

        Raises:
            InvalidInputError: If the list is empty or an array is not floating point.
        """
        if len(arrays) == 0:
            raise InvalidInputError("an update must contain at least one array, got none")
        shapes, dtypes = [], []
        for i, a in enumerate(arrays):
            a = np.asarray(a)
            if not np.issubdtype(a.dtype, np.floating):
                raise InvalidInputError(
                    f"array {i} has dtype {a.dtype}; only floating-point arrays can be encoded"
                )
            shapes.append(tuple(int(s) for s in a.shape))
            dtypes.append(a.dtype)
        return cls(tuple(shapes), tuple(dtypes))

    @property
    def size(self) -> int:
        """Total number of scalars over all arrays."""
        return sum(math.prod(s) for s in self.shapes)

    def flatten(self, arrays: Sequence[np.ndarray]) -> np.ndarray:
        """Concatenate ``arrays`` (which must match this layout) into one float64 vector.

        Raises:
            InvalidInputError: On a count, shape or dtype mismatch, or a NaN/infinite value.
        """
        if len(arrays) != len(self.shapes):
            raise InvalidInputError(
                f"expected {len(self.shapes)} arrays for this layout, got {len(arrays)}"
            )
        parts = []
        for i, (a, shape, dtype) in enumerate(zip(arrays, self.shapes, self.dtypes, strict=True)):
            a = np.asarray(a)
            if tuple(a.shape) != shape or a.dtype != dtype:
                raise InvalidInputError(
                    f"array {i} has shape {a.shape} and dtype {a.dtype}; "
                    f"the layout expects {shape} and {dtype}"
                )
            parts.append(a.astype(np.float64, copy=False).ravel())
        vec = np.concatenate(parts) if parts else np.zeros(0)
        # A finite sum means every value is finite (NaN and infinities carry
        # through a sum); only otherwise, or on an overflowing sum, look closer.
        with np.errstate(over="ignore", invalid="ignore"):
            total = float(vec.sum())
        if not math.isfinite(total) and not np.all(np.isfinite(vec)):
            bad = int(np.count_nonzero(~np.isfinite(vec)))
            raise InvalidInputError(f"the update holds {bad} NaN or infinite values")
        return vec

    def unflatten(self, vec: np.ndarray) -> list[np.ndarray]:
        """Split a flat vector back into arrays of this layout's shapes and dtypes.

        Raises:
            InvalidInputError: If the vector length differs from :attr:`size`.
        """
        vec = np.asarray(vec)
        if vec.ndim != 1 or vec.size != self.size:
            raise InvalidInputError(
                f"a flat vector of length {self.size} is needed, got shape {vec.shape}"
            )
        out, pos = [], 0
        for shape, dtype in zip(self.shapes, self.dtypes, strict=True):
            size = math.prod(shape)
            out.append(vec[pos : pos + size].reshape(shape).astype(dtype))
            pos += size
        return out


@dataclass(frozen=True)
class Quantized:
    """A clipped, scaled, stochastically rounded vector (before ring embedding).

    Attributes:
        values: int64 vector.
        clipped_fraction: Fraction of coordinates changed by clipping.
        norm_clipped: Whether L2 clipping shortened the vector.
    """

    values: np.ndarray
    clipped_fraction: float
    norm_clipped: bool = False


class EncodedUpdate:
    """One client's update in Z_{2^b}, usable in exactly one aggregation session.

    Attributes:
        bits: Ring width b.
        weight: The client weight encoded in the last slot.
        clipped_fraction: Fraction of update coordinates that clipping changed.
        norm_clipped: Whether L2 clipping (DP) shortened the update.
        n_max: Largest number of summands the ring width was chosen for (None:
            unknown); a session over more clients could wrap.
    """

    def __init__(
        self,
        words: np.ndarray,
        bits: int,
        weight: float,
        clipped_fraction: float,
        norm_clipped: bool = False,
        n_max: int | None = None,
    ) -> None:
        self._words: np.ndarray | None = words
        self.n_max = n_max
        self.bits = bits
        self.weight = weight
        self.clipped_fraction = clipped_fraction
        self.norm_clipped = norm_clipped
        self.length = int(words.size)

    @property
    def used(self) -> bool:
        """Whether :meth:`take` has already handed the words out."""
        return self._words is None

    def take(self) -> np.ndarray:
        """Hand out the ring words for one aggregation session, then forget them.

        Returns:
            The words (dtype uint32 for b <= 32, else uint64).

        Raises:
            UpdateReusedError: On a second call. Two sums over different
                survivor sets could isolate this update; a retried round must
                encode a fresh update (new rounding randomness and DP noise).
        """
        if self._words is None:
            raise UpdateReusedError(
                "this encoded update was already submitted to an aggregation session; an "
                "update goes into at most one session, so a retried round must re-encode it"
            )
        words, self._words = self._words, None
        return words

    def __repr__(self) -> str:  # never show the words themselves
        state = "used" if self.used else "unused"
        return f"EncodedUpdate(length={self.length}, bits={self.bits}, {state})"
