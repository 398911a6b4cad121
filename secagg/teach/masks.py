"""The numbers behind the masking lesson: one real session with every mask laid open.

Runs one real session (:class:`~secagg.protocol.client.Client` and
:class:`~secagg.protocol.server.Server` objects, the bytes a network would
carry) on a tiny vector, with one client dropping out, and shows: the
session's graph (complete, or the Harary ring with its permutation drawn from
the session id); for each client its input x_u, each mask it adds and the
masked vector y_u the server received; how the server's sum loses its masks;
and which secrets the server rebuilt for whom, and why never both of one
client's.

To show the masks, the lesson reads each client's seeds just before it
masks (teaching code only: nothing else ever looks inside a client) and
recomputes every mask with the library's own PRG; :meth:`MaskingRun.masks_add_up`
checks that they add up to exactly the y_u the server received. Teaching
code: inputs, masks and seeds are throw-away values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import crypto, masking, packing, prg
from ..exceptions import SecAggError
from ..protocol import messages
from ..protocol.client import Client
from ..protocol.client_rounds import R2MaskedInputCollection
from ..protocol.config import Config
from ..protocol.graph import Graph
from ..protocol.server import Server
from ..protocol.vocabulary import ROUNDS, State
from .common import byte_source

__all__ = ["DROP_ROUNDS", "MAX_CLIENTS", "MaskingRun", "fate", "run_session", "tiny_session"]

DROP_ROUNDS = ("R1", "R2", "R4")
MAX_CLIENTS = 12


@dataclass(frozen=True)
class MaskingRun:
    """One session, with every mask laid open.

    Attributes:
        config: the session's config.
        session_id: the session id (it seeds the Harary ring's order).
        graph: who masks with whom.
        inputs: client -> x_u.
        dropped: client -> the round before whose reply it stopped.
        u2: clients whose shares the server forwarded (they shared their secrets).
        u3: clients whose masked input the server folded (the survivors).
        self_masks: client -> PRG(b_u), for each client that sent y_u.
        pair_masks: (u, v) with u < v -> PRG(s_uv), added by u and subtracted by v.
        masked: client -> y_u as the server received it.
        reconstructed: ``{"self_mask": ids whose b was rebuilt, "pairwise": ids
            whose s^SK was rebuilt}``.
        total: the server's result, Σ_{u∈U3} x_u mod 2^b (None if it aborted).
        abort: the server's abort reason, or None.
    """

    config: Config
    session_id: bytes
    graph: Graph
    inputs: dict[int, np.ndarray]
    dropped: dict[int, str]
    u2: tuple[int, ...]
    u3: tuple[int, ...]
    self_masks: dict[int, np.ndarray]
    pair_masks: dict[tuple[int, int], np.ndarray]
    masked: dict[int, np.ndarray]
    reconstructed: dict[str, tuple[int, ...]]
    total: np.ndarray | None
    abort: str | None

    @property
    def modulus(self) -> int:
        """2^b."""
        return 1 << self.config.b

    def partners(self, u: int) -> list[int]:
        """The neighbours u masked with (those whose shares reached it)."""
        return [v for v in self.graph.neighbours(u) if (min(u, v), max(u, v)) in self.pair_masks]

    def signed_pair(self, u: int, v: int) -> np.ndarray:
        """The pairwise mask as u adds it: +PRG(s_uv) if u < v, else -PRG(s_uv) (mod 2^b)."""
        mask = self.pair_masks[(min(u, v), max(u, v))].astype(np.int64)
        return mask if u < v else (-mask) % self.modulus

    def rebuilt_y(self, u: int) -> np.ndarray:
        """x_u + PRG(b_u) + Σ ±PRG(s_uv), from the laid-open masks (mod 2^b)."""
        acc = self.inputs[u].astype(np.int64) + self.self_masks[u]
        for v in self.partners(u):
            acc = acc + self.signed_pair(u, v)
        return acc % self.modulus

    def masks_add_up(self) -> bool:
        """Every y_u the server received equals x_u plus the masks shown."""
        return all(np.array_equal(self.rebuilt_y(u), self.masked[u]) for u in self.masked)

    def sum_steps(self) -> dict[str, np.ndarray]:
        """The server's sum, step by step (mod 2^b).

        Returns:
            ``"sum_y"``: Σ_{U3} y_u; ``"self"``: Σ_{U3} PRG(b_u); ``"dangling"``:
            the pairwise masks survivors share with clients outside U3;
            ``"result"``: sum_y - self - dangling; ``"plain"``: Σ_{U3} x_u.
        """
        mod = self.modulus
        zero = np.zeros(self.config.m, dtype=np.int64)
        sum_y = sum((self.masked[u].astype(np.int64) for u in self.u3), zero) % mod
        selfs = sum((self.self_masks[u].astype(np.int64) for u in self.u3), zero) % mod
        dangling = zero.copy()
        for u in self.u3:
            for v in self.partners(u):
                if v not in self.u3:
                    dangling = dangling + self.signed_pair(u, v)
        dangling %= mod
        plain = sum((self.inputs[u].astype(np.int64) for u in self.u3), zero) % mod
        return {
            "sum_y": sum_y,
            "self": selfs,
            "dangling": dangling,
            "result": (sum_y - selfs - dangling) % mod,
            "plain": plain,
        }


def _mask(key: bytes, config: Config) -> np.ndarray:
    vec = np.zeros(config.m, dtype=config.dtype)
    masking.apply_masks(vec, [key], [1], config.b)
    return vec


def _open_masks(
    state: R2MaskedInputCollection, request: bytes, config: Config
) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """PRG(b_u) and v -> PRG(s_uv), recomputed from a client's seeds before it masks."""
    session = state.session
    sid, me = session.session_id, session.client_id
    forward = messages.decode(request)
    assert isinstance(forward, messages.ShareForward)
    senders = [c.sender for c in forward.ciphertexts]
    own = _mask(prg.derive_key(bytes(state.b), sid, "self"), config)
    shared = crypto.x25519_load(state.s_sk).shared_many([state.s_pks[v] for v in senders])
    pairs = {
        v: _mask(prg.derive_key(s_uv, sid, prg.pair_purpose(me, v)), config)
        for v, s_uv in zip(senders, shared, strict=True)
    }
    return own, pairs


def run_session(
    config: Config,
    inputs: dict[int, np.ndarray],
    dropped: dict[int, str],
    seed: int | None = None,
) -> MaskingRun:
    """Run one semi_honest session with the given dropouts, laying every mask open.

    Args:
        config: a semi_honest config.
        inputs: client id -> x_u (length m, words < 2^b).
        dropped: client id -> "R1", "R2" or "R4": the round before whose reply it stops.
        seed: derive keys and nonce from this number (teaching only); None for the OS CSPRNG.

    Returns:
        The run, with its masks.

    Raises:
        SecAggError: bad inputs or dropouts.
    """
    bad = {u: r for u, r in dropped.items() if r not in DROP_ROUNDS or not 1 <= u <= config.n}
    if bad:
        raise SecAggError(
            f"dropouts must map client ids 1..{config.n} to one of {DROP_ROUNDS}, got {bad}."
        )
    rng = None if seed is None else byte_source(seed, "masking")
    clients = {u: Client(config, u, inputs[u].copy(), rng=rng) for u in range(1, config.n + 1)}
    server = Server(config, rng=rng)
    stop = {u: ROUNDS.index(r) for u, r in dropped.items()}
    self_masks: dict[int, np.ndarray] = {}
    pair_masks: dict[tuple[int, int], np.ndarray] = {}
    masked: dict[int, np.ndarray] = {}
    requests = server.start()
    while server.state not in (State.COMPLETED, State.ABORTED):
        rnd = server.round
        assert rnd is not None
        for u in sorted(requests):
            if stop.get(u, len(ROUNDS)) <= ROUNDS.index(rnd):
                continue
            state = clients[u].current
            if isinstance(state, R2MaskedInputCollection):
                self_masks[u], pairs = _open_masks(state, requests[u], config)
                for v, mask in pairs.items():
                    pair_masks[(min(u, v), max(u, v))] = mask
            for reply in clients[u].handle(requests[u]):
                msg = messages.decode(reply)
                if isinstance(msg, messages.MaskedInput):
                    masked[u] = packing.unpack(msg.packed, config.m, config.b)
                server.receive(u, reply)
        requests = server.close_round()
    result = server.result
    return MaskingRun(
        config=config,
        session_id=server.session_id,
        graph=server.graph,
        inputs=inputs,
        dropped=dict(dropped),
        u2=tuple(server.u2),
        u3=tuple(server.u3),
        self_masks={u: m for u, m in self_masks.items() if u in masked},
        pair_masks=pair_masks,
        masked=masked,
        reconstructed=dict(result.reconstructed) if result else {"self_mask": (), "pairwise": ()},
        total=None if result is None else result.sum,
        abort=server.abort_reason,
    )


def tiny_session(
    n: int = 6,
    k: int = 4,
    t: int = 3,
    m: int = 4,
    b: int = 8,
    drop: int = 3,
    drop_round: str = "R2",
    seed: int | None = None,
) -> MaskingRun:
    """A small session to look at: n clients with small random inputs, one dropping out.

    Args:
        n: clients, 3..12.
        k: neighbours (n - 1 for the complete graph, else even).
        t: threshold.
        m: words per vector, 1..8.
        b: bits per word, 4..16.
        drop: the client that drops out, 0 for none.
        drop_round: "R1", "R2" or "R4" (see :func:`run_session`).
        seed: fix inputs, keys and nonce (teaching only); None for fresh ones.

    Returns:
        The run.

    Raises:
        SecAggError: options out of range or a config rule broken.
    """
    if not 3 <= n <= MAX_CLIENTS or not 1 <= m <= 8 or not 4 <= b <= 16:
        raise SecAggError(
            f"need 3 <= n <= {MAX_CLIENTS}, 1 <= m <= 8 and 4 <= b <= 16 to keep the "
            f"printout readable, got n = {n}, m = {m}, b = {b}."
        )
    if not 0 <= drop <= n:
        raise SecAggError(f"the dropping client {drop} is not a client id 1..{n} (or 0 for none).")
    dropped = {drop: drop_round} if drop else {}
    config = Config(n=n, t=t, k=k, b=b, m=m, n_min=max(t, n - len(dropped)))
    gen = np.random.default_rng(seed)  # demo inputs, not key material
    top = min(20, (1 << b) // n)
    inputs = {u: gen.integers(0, top, size=m).astype(config.dtype) for u in range(1, n + 1)}
    return run_session(config, inputs, dropped, seed=seed)


FATE = {
    "survivor": "in U3 (survivor): b_{u} rebuilt, to strip its self mask; never s_{u}^SK",
    "R2": "in U2, not U3 (shared, then dropped): s_{u}^SK rebuilt, to remove the masks its "
    "neighbours added; never b_{u}",
    "R1": "not in U2 (dropped before sharing): nobody masked with it, nothing rebuilt",
}


def fate(run: MaskingRun, u: int) -> str:
    """What the server rebuilt for client u, and why."""
    if u in run.u3:
        key = "survivor"
    elif u in run.u2:
        key = "R2"
    else:
        key = "R1"
    return FATE[key].format(u=u)
