"""Communication graph: complete, or a Harary ring drawn from the session id (§7).

On a sparse graph (even k <= n - 2) client ``pi[p]`` sits at ring position p
and its neighbours are the k clients at positions p ± 1, ..., p ± k/2 (mod
n). The permutation pi is a Fisher-Yates shuffle driven by the AES-128-CTR
keystream of a key derived from the session id, so every party computes the
same graph and nobody chooses it (except by grinding nonces; see
PROTOCOL.md §11).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator

import numpy as np

from ..crypto import hkdf_sha256
from ..exceptions import InvalidInputError
from ..prg import keystream
from .config import Config
from .vocabulary import MAX_N

__all__ = ["GRAPH_INFO", "Graph", "harary_permutation"]

GRAPH_INFO = b"secagg/v1/graph"
# Keystream is read in blocks of this many bytes (a multiple of the AES block).
_BLOCK_BYTES = 4096
_AES_BLOCK = 16


def _graph_key(session_id: bytes) -> bytes:
    return hkdf_sha256(session_id, b"", GRAPH_INFO, 16)


def _words(key: bytes) -> Iterator[int]:
    """Little-endian u32 words of the keystream of ``key``, read lazily in blocks."""
    counter = 0
    while True:
        block = keystream(key, _BLOCK_BYTES, counter=counter)
        counter += _BLOCK_BYTES // _AES_BLOCK
        yield from np.frombuffer(block, dtype="<u4").tolist()


def _check_session_id(session_id: object) -> bytes:
    if not isinstance(session_id, (bytes, bytearray, memoryview)) or len(session_id) != 32:
        got = (
            f"{len(session_id)} bytes"
            if isinstance(session_id, (bytes, bytearray, memoryview))
            else type(session_id).__name__
        )
        raise InvalidInputError(f"the session id must be 32 bytes, got {got}.")
    return bytes(session_id)


def harary_permutation(session_id: bytes, n: int) -> list[int]:
    """The ring order pi of PROTOCOL.md §7: pi[p] is the client at position p.

    Args:
        session_id: The 32-byte session id.
        n: Number of clients.

    Returns:
        A permutation of 1..n as a list (index = ring position).

    Raises:
        InvalidInputError: ``session_id`` is not 32 bytes or n is out of range.
    """
    sid = _check_session_id(session_id)
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_N:
        raise InvalidInputError(f"n must be an integer in 1..{MAX_N}, got {n!r}.")
    pi = list(range(1, n + 1))
    words = _words(_graph_key(sid))
    for i in range(n - 1, 0, -1):
        bound = i + 1
        # Largest multiple of bound below 2^32: words at or above it are
        # rejected so that w mod bound is exactly uniform.
        limit = (1 << 32) - ((1 << 32) % bound)
        w = next(words)
        while w >= limit:
            w = next(words)
        j = w % bound
        pi[i], pi[j] = pi[j], pi[i]
    return pi


class Graph:
    """Who neighbours whom in one session. Neighbourhoods are symmetric.

    Build it with :meth:`Graph.build`. On the complete graph the ring
    position of client u is u - 1 (no permutation is drawn).
    """

    __slots__ = ("_n", "_k", "_order", "_position", "_cache")

    def __init__(self, n: int, k: int, order: list[int]) -> None:
        """Use :meth:`Graph.build`; this constructor trusts its arguments."""
        self._n = n
        self._k = k
        self._order = tuple(order)
        position = [0] * (n + 1)
        for p, u in enumerate(order):
            position[u] = p
        self._position = position
        self._cache: dict[int, tuple[int, ...]] = {}

    @classmethod
    def build(cls, config: Config, session_id: bytes) -> Graph:
        """The graph of a session.

        Args:
            config: The session's validated config (n, k).
            session_id: The 32-byte session id (seeds the ring order).

        Returns:
            The complete graph if ``config.k == n - 1``, else the Harary ring.

        Raises:
            InvalidInputError: ``config`` is not a Config or ``session_id`` is
                not 32 bytes.
        """
        if not isinstance(config, Config):
            raise InvalidInputError(f"Graph.build needs a Config, got {type(config).__name__}.")
        sid = _check_session_id(session_id)
        if config.complete:
            return cls(config.n, config.k, list(range(1, config.n + 1)))
        if cls is Graph:
            return _harary_graph(sid, config.n, config.k)
        return cls(config.n, config.k, harary_permutation(sid, config.n))

    @property
    def n(self) -> int:
        """Number of clients."""
        return self._n

    @property
    def k(self) -> int:
        """Neighbours per client."""
        return self._k

    @property
    def complete(self) -> bool:
        """True for the complete graph (k = n - 1)."""
        return self._k == self._n - 1

    @property
    def order(self) -> tuple[int, ...]:
        """The ring order: ``order[p]`` is the client at position p."""
        return self._order

    def _check(self, u: object) -> int:
        if isinstance(u, bool) or not isinstance(u, (int, np.integer)) or not 1 <= u <= self._n:
            raise InvalidInputError(f"client id must be an integer in 1..{self._n}, got {u!r}.")
        return int(u)

    def ring_position(self, u: int) -> int:
        """0-based ring position of client u."""
        return self._position[self._check(u)]

    def neighbours(self, u: int) -> tuple[int, ...]:
        """The k neighbours of u, in increasing id (u itself excluded)."""
        u = self._check(u)
        cached = self._cache.get(u)
        if cached is not None:
            return cached
        n = self._n
        if self.complete:
            result = tuple(v for v in range(1, n + 1) if v != u)
        else:
            p = self._position[u]
            order = self._order
            half = self._k // 2
            # k <= n - 2, so positions p - half .. p + half are all distinct.
            result = tuple(
                sorted(order[(p + off) % n] for off in range(-half, half + 1) if off != 0)
            )
        self._cache[u] = result
        return result

    def holders(self, u: int) -> tuple[int, ...]:
        """H(u) = N(u) ∪ {u}: the holders of u's shares, in increasing id."""
        u = self._check(u)
        return tuple(sorted((*self.neighbours(u), u)))

    def are_neighbours(self, u: int, v: int) -> bool:
        """True when u and v are neighbours (symmetric; False for u == v)."""
        u, v = self._check(u), self._check(v)
        if u == v:
            return False
        if self.complete:
            return True
        dist = abs(self._position[u] - self._position[v])
        return min(dist, self._n - dist) <= self._k // 2

    def cut_gaps(self, alive: Iterable[int]) -> list[tuple[int, int]]:
        """Runs of >= k/2 consecutive ring positions with no client of ``alive``.

        On a Harary ring two clients are neighbours when their positions are
        at most k/2 apart, so consecutive survivors around the ring stay
        linked unless k/2 or more positions between them are missing. One
        such run leaves a path; two or more split the survivors into
        components, and the sum of each component could be learned on its
        own (PROTOCOL.md §8). O(n).

        Args:
            alive: The surviving client ids (e.g. U3).

        Returns:
            (first position, length) of each such run, in ring order; empty
            for the complete graph or an empty ``alive``.
        """
        if self.complete:
            return []
        positions = sorted(self._position[self._check(u)] for u in set(alive))
        if not positions:
            return []
        half = self._k // 2
        n = self._n
        gaps = []
        for before, after in zip(positions, positions[1:] + [positions[0] + n], strict=True):
            length = after - before - 1
            if length >= half:
                gaps.append(((before + 1) % n, length))
        return sorted(gaps)

    def survivors_connected(self, alive: Iterable[int]) -> bool:
        """True when the graph induced on ``alive`` is connected (see :meth:`cut_gaps`)."""
        return len(self.cut_gaps(alive)) < 2

    def __repr__(self) -> str:
        kind = "complete" if self.complete else "harary"
        return f"Graph(n={self._n}, k={self._k}, {kind})"


# Every client and the server of a session build the same ring; in one
# process (the runner, tests, simulations) drawing the permutation once per
# party cost O(n) each, O(n^2) in all. The graph is a public function of the
# public session id and nothing mutates it, so sharing it is harmless; the
# bound keeps a few recent sessions only.
@functools.lru_cache(maxsize=8)
def _harary_graph(session_id: bytes, n: int, k: int) -> Graph:
    return Graph(n, k, harary_permutation(session_id, n))
