"""Run one multi-server session in process: n clients, S servers, a combiner.

:func:`run_session` creates every key, splits each client's vector, delivers
the bundles (minus the dropouts), lets the servers agree on the set U of
clients every server accepted, has each server sign U and release its partial
sum, and combines them. It drives the same byte interfaces a deployment
would, and reports what each server held. Simulations, tests and benchmarks
use it; a deployment moves the bytes itself (docs/multiserver.md).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

import numpy as np

from .. import crypto, packing
from ..exceptions import InvalidInputError, SecAggError
from .client import split_update
from .combiner import combine
from .params import MultiServerConfig
from .server import ShareServer
from .wire import PartialSum, ReleaseRequest, SetSignature, SetStatement, ShareBundle

__all__ = ["ServerView", "SessionOutcome", "run_session"]


@dataclass(frozen=True)
class ServerView:
    """What one server held in the session.

    Attributes:
        index: The server's index (S - 1 is the correction server).
        accepted: Clients whose bundle it accepted.
        refused: Client -> the reason its bundle was refused.
        bytes_received: Bytes of the bundles it accepted.
        signed: The client set it signed, or None.
        partial: The partial sum it released (uniformly distributed on its
            own for every server), or None.
        received: Correction server, when asked to keep them: client -> the
            correction vector it accepted from that client (uniform on its
            own while one seed stays secret). None otherwise (a seed server
            receives sealed 32-byte seeds, not vectors).
    """

    index: int
    accepted: frozenset[int]
    refused: dict[int, str]
    bytes_received: int
    signed: frozenset[int] | None
    partial: np.ndarray | None
    received: dict[int, np.ndarray] | None = None


@dataclass(frozen=True)
class SessionOutcome:
    """Outcome of :func:`run_session`.

    Attributes:
        sum: Σ_{u∈U} x_u mod 2^b, None if the session aborted.
        members: U (empty if aborted).
        aborted: Why no sum was released, None on success.
        servers: One :class:`ServerView` per server.
        timings: Seconds: ``"client.split"`` (all clients together),
            ``"server.<j>.receive"``, ``"server.<j>.release"``, ``"combine"``,
            ``"total"``.
        bytes_sent: Client id -> bytes it sent to all servers together.
    """

    sum: np.ndarray | None
    members: frozenset[int]
    aborted: str | None
    servers: tuple[ServerView, ...]
    timings: dict[str, float]
    bytes_sent: dict[int, int]


def run_session(
    inputs: Mapping[int, np.ndarray],
    *,
    servers: int,
    b: int,
    n_min: int,
    corrupt_clients: int = 0,
    dropouts: Collection[int] = (),
    lost: Mapping[int, Collection[int]] | None = None,
    rng: Callable[[int], bytes] | None = None,
    keep_received: bool = False,
) -> SessionOutcome:
    """Run one session over clients 1..n.

    Args:
        inputs: Client id (exactly 1..n) -> its vector (length m, words < 2^b).
        servers: S, the number of servers (2..255).
        b: Ring bits.
        n_min: Fewest clients the sum may cover.
        corrupt_clients: C, recorded in the config (C < n_min).
        dropouts: Clients that send nothing.
        lost: Client -> servers its bundle never reaches.
        rng: Source of every random byte; None uses the OS CSPRNG (inject
            only in deterministic tests).
        keep_received: Report the correction vectors the correction server
            accepted (:attr:`ServerView.received`), for audits of what it held.

    Returns:
        The :class:`SessionOutcome`. A session with fewer than n_min clients
        reaching every server is reported as aborted, never retried.

    Raises:
        InvalidInputError: Bad arguments.
    """
    draw = rng if rng is not None else os.urandom
    n = len(inputs)
    if sorted(inputs) != list(range(1, n + 1)):
        raise InvalidInputError("inputs must map every client id 1..n to its vector.")
    m = int(np.asarray(inputs[1]).shape[0]) if n else 0
    lost = dict(lost or {})
    bad = [u for u in list(dropouts) + list(lost) if u not in inputs]
    if bad:
        raise InvalidInputError(f"dropouts and lost name unknown clients {sorted(bad)[:8]}.")
    if any(not 0 <= j < servers for js in lost.values() for j in js):
        raise InvalidInputError(f"lost must name server indices in 0..{servers - 1}, got {lost}.")
    start = time.perf_counter()
    client_keys = {u: crypto.ed25519_keypair(draw)[0] for u in inputs}
    server_sig = [crypto.ed25519_keypair(draw)[0] for _ in range(servers)]
    seed_sks = [crypto.x25519_keypair(draw)[0] for _ in range(max(servers - 1, 0))]
    config = MultiServerConfig(
        seed_keys=tuple(crypto.x25519_public(sk) for sk in seed_sks),
        server_verify_keys=tuple(crypto.ed25519_public(sk) for sk in server_sig),
        registry={u: crypto.ed25519_public(sk) for u, sk in client_keys.items()},
        n_min=n_min,
        corrupt_clients=corrupt_clients,
        b=b,
        m=m,
    )
    sid = config.session_id(draw(32))
    nodes = [
        ShareServer(
            config,
            sid,
            j,
            signing_key=server_sig[j],
            seed_key=seed_sks[j] if j < config.correction_server else None,
        )
        for j in range(config.S)
    ]
    timings = {"client.split": 0.0, "combine": 0.0}
    for j in range(config.S):
        timings[f"server.{j}.receive"] = timings[f"server.{j}.release"] = 0.0
    refused: list[dict[int, str]] = [{} for _ in range(config.S)]
    kept: dict[int, np.ndarray] = {}
    bytes_sent = {u: 0 for u in inputs}
    skip = set(dropouts)
    for u in sorted(inputs):
        if u in skip:
            continue
        t0 = time.perf_counter()
        bundles = split_update(config, sid, u, client_keys[u], inputs[u], rng=rng)
        timings["client.split"] += time.perf_counter() - t0
        for j, data in bundles.items():
            if j in lost.get(u, ()):
                continue
            bytes_sent[u] += len(data)
            t0 = time.perf_counter()
            try:
                accepted = nodes[j].receive(data)
            except SecAggError as exc:
                refused[j][u] = str(exc)
                accepted = False
            timings[f"server.{j}.receive"] += time.perf_counter() - t0
            if keep_received and accepted and j == config.correction_server:
                payload = ShareBundle.from_bytes(data, config).payload
                kept[u] = packing.unpack(payload, config.m, config.b)
    members = frozenset.intersection(*(node.accepted for node in nodes))
    aborted = None
    total = None
    partials: list[np.ndarray | None] = [None] * config.S
    if len(members) < n_min:
        aborted = (
            f"only {len(members)} clients reached every server with a valid bundle, fewer than "
            f"n_min = {n_min}; no server signs or releases anything."
        )
    else:
        statement = SetStatement(sid, n, members)
        sigs = [SetSignature.from_bytes(node.sign(statement), config) for node in nodes]
        request = ReleaseRequest(statement, tuple(s.signature for s in sigs))
        released = []
        for j, node in enumerate(nodes):
            t0 = time.perf_counter()
            released.append(node.release(request))
            timings[f"server.{j}.release"] = time.perf_counter() - t0
            part = PartialSum.from_bytes(released[-1], config)
            partials[j] = packing.unpack(part.packed, config.m, config.b)
        t0 = time.perf_counter()
        total = combine(config, sid, released).sum
        timings["combine"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - start
    views = tuple(
        ServerView(
            index=j,
            accepted=node.accepted,
            refused=refused[j],
            bytes_received=node.bytes_received,
            signed=node.signed,
            partial=partials[j],
            received=dict(kept) if keep_received and j == config.correction_server else None,
        )
        for j, node in enumerate(nodes)
    )
    return SessionOutcome(
        sum=total,
        members=members if aborted is None else frozenset(),
        aborted=aborted,
        servers=views,
        timings=timings,
        bytes_sent=bytes_sent,
    )
