"""Run one aggregation with n in-process clients and a dropout schedule.

:func:`run_round` wires a :class:`~secagg.protocol.server.Server` to n
:class:`~secagg.protocol.client.Client` objects through their byte interfaces (the
very messages a network would carry), lets chosen clients stop before a
given round, and reports the sum or the abort reason, the survivor set, the
time spent per round on the client and the server side, the bytes each
client sent per round and, on request, the server's transcript. It is what
simulations, benchmarks and the FedAvg loop use; a deployment drives the
same two classes over its own transport instead (docs/api.md).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .. import packing
from ..exceptions import InvalidInputError, MalformedMessageError
from .client import Client
from .codec import max_message_size
from .config import Config
from .messages import MaskedInput, decode, peek_header
from .pool import LocalClients, ProcessClients
from .registry import active_setup
from .server import Server
from .thresholds import check_int
from .vocabulary import ROUNDS, Mode, MsgType, State, default_rng

__all__ = ["ROUNDS", "MAX_WORKERS", "RoundResult", "TranscriptEntry", "run_round", "seeded_stream"]

#: Most worker processes :func:`run_round` starts.
MAX_WORKERS = 256


def seeded_stream(seed: bytes) -> Callable[[int], bytes]:
    """A deterministic byte source from a seed (SHAKE-256 of seed and a call counter).

    For reproducible tests only: key material in real use comes from the OS.
    """
    count = 0

    def draw(nbytes: int) -> bytes:
        nonlocal count
        count += 1
        return hashlib.shake_256(seed + count.to_bytes(8, "big")).digest(nbytes)

    return draw


@dataclass(frozen=True)
class TranscriptEntry:
    """One message the server received.

    Attributes:
        round: The round the server was collecting ("R0".."R4").
        sender: The client that sent it.
        length: Its size in bytes.
        sha256: Hex SHA-256 of the message.
        data: The message itself (``transcript="full"``), None in digest mode.
    """

    round: str
    sender: int
    length: int
    sha256: str
    data: bytes | None


@dataclass(frozen=True)
class RoundResult:
    """Outcome of :func:`run_round`.

    Attributes:
        sum: Σ_{u∈U3} x_u mod 2^b (``config.dtype``), None if the round aborted.
        survivors: U3, the clients whose masked input the server folded
            (empty if the round aborted before R2 closed).
        aborted: The server's abort reason, None on success.
        dropped: Client id -> round at which the server counted it dropped.
        reconstructed: ``{"self_mask": ids whose b was rebuilt, "pairwise":
            ids whose s^SK was rebuilt}`` (empty tuples if aborted).
        bad_holders: Holders whose R4 shares were found wrong and corrected.
        timings: Seconds per phase, e.g. ``"R1.client"`` (all clients'
            handling of the R1 request, summed) and ``"R1.server"`` (the
            server receiving R1 replies and closing R1), plus ``"total"``.
        bytes_sent: Client id -> round -> bytes that client sent.
        transcript: Every message the server received, in arrival order
            (``"full"`` or ``"digest"``), or None.
        masked_inputs: Client id -> the y_u the server received in R2,
            unpacked (only with ``transcript="full"``), else None.
    """

    sum: np.ndarray | None
    survivors: frozenset[int]
    aborted: str | None
    dropped: dict[int, str]
    reconstructed: dict[str, tuple[int, ...]]
    bad_holders: tuple[int, ...]
    timings: dict[str, float]
    bytes_sent: dict[int, dict[str, int]]
    transcript: list[TranscriptEntry] | None
    masked_inputs: dict[int, np.ndarray] | None


def _check_args(
    config: Config,
    inputs: Mapping[int, np.ndarray],
    dropouts: Mapping[int, str],
    transcript: str | None,
) -> None:
    if not isinstance(config, Config):
        raise InvalidInputError(f"config must be a Config, got {type(config).__name__}.")
    ids = set(range(1, config.n + 1))
    if not isinstance(inputs, Mapping) or set(inputs) != ids:
        got = sorted(inputs)[:8] if isinstance(inputs, Mapping) else type(inputs).__name__
        raise InvalidInputError(
            f"inputs must map every client id 1..{config.n} to its vector, got keys {got}."
        )
    bad = {u: r for u, r in dropouts.items() if u not in ids or r not in ROUNDS}
    if bad:
        raise InvalidInputError(
            f"dropouts must map client ids 1..{config.n} to one of {ROUNDS}, got {bad}."
        )
    if transcript not in (None, "full", "digest"):
        raise InvalidInputError(f"transcript must be None, 'full' or 'digest', got {transcript!r}.")


def run_round(
    config: Config,
    inputs: Mapping[int, np.ndarray],
    *,
    dropouts: Mapping[int, str] | None = None,
    transcript: Literal["full", "digest"] | None = None,
    nonce: bytes | None = None,
    signing_keys: Mapping[int, bytes] | None = None,
    rng: Callable[[int], bytes] | None = None,
    workers: int = 1,
) -> RoundResult:
    """Run one aggregation over clients 1..n in process.

    Args:
        config: The session config. In active mode with ``signing_keys=None``
            the runner creates the clients' Ed25519 keys and the config
            authority's key, and uses the config with its registry digest
            replaced by the digest of those keys.
        inputs: ``inputs[u]`` is client u's vector (length m, words < 2^b).
        dropouts: ``dropouts[u] = "R2"`` makes client u stop before replying
            to the R2 request (it never answers R2 or any later round). In
            semi_honest mode there is no R3, so "R3" means stopping before R4.
        transcript: ``"full"`` keeps every message the server received (and
            the unpacked masked inputs), ``"digest"`` only their round,
            sender, length and SHA-256; None keeps nothing.
        nonce: The session nonce (default: fresh from ``rng``).
        signing_keys: Active mode: client id -> Ed25519 signing key (32-byte
            seed); the config's registry digest must match their
            verification keys or the clients refuse the session.
        rng: Source of random bytes (default ``os.urandom``); inject only
            for reproducible tests. An injected rng seeds one stream per
            party (:func:`seeded_stream`), so results do not depend on
            ``workers``.
        workers: Processes that run the clients (default 1: all in this
            process). With N > 1, N forked workers each own the clients
            whose id is congruent to their index modulo N, so that key
            agreement, encryption and masking use every core; the server
            stays in this process and sees the replies in the same order,
            so the round's bytes are those of ``workers=1``. Needs the fork
            start method (Linux, macOS).

    Returns:
        The :class:`RoundResult`. An aborted round is reported (``aborted``
        holds the reason), never retried.

    Raises:
        InvalidInputError: Bad arguments (missing inputs, a vector of the
            wrong length or range, an unknown round name, missing keys, a
            worker count outside 1..MAX_WORKERS).
    """
    dropouts = dict(dropouts or {})
    _check_args(config, inputs, dropouts, transcript)
    workers = check_int("workers", workers, 1, MAX_WORKERS)
    draw = rng if rng is not None else default_rng
    if nonce is None:
        nonce = draw(32)
    n = config.n
    ids = range(1, n + 1)
    verify_keys = None
    authority_vk = None
    config_sig = None
    if config.mode is Mode.ACTIVE:
        setup = active_setup(config, nonce, signing_keys=signing_keys, rng=draw)
        config = setup.config
        signing_keys = setup.registry.signing_keys
        verify_keys = setup.registry.verify_keys
        authority_vk = setup.authority_vk
        config_sig = setup.config_signature
    # An injected rng seeds one stream per party, so that a client draws the
    # same bytes whichever process runs it (workers=1 and workers=N agree).
    seeds = None if rng is None else [rng(32) for _ in range(n + 1)]
    keys = signing_keys

    def build(u: int) -> Client:
        return Client(
            config,
            u,
            inputs[u],
            signing_key=None if keys is None else keys.get(u),
            verify_keys=verify_keys,
            authority_vk=authority_vk,
            rng=None if seeds is None else seeded_stream(seeds[u]),
        )

    if workers == 1:
        clients: LocalClients | ProcessClients = LocalClients(build, n)
    else:
        clients = ProcessClients(build, n, workers, max_message_size(config))
    try:
        server = Server(
            config,
            nonce=nonce,
            config_signature=config_sig,
            verify_keys=verify_keys,
            rng=None if seeds is None else seeded_stream(seeds[0]),
        )
        stop_at = {u: ROUNDS.index(r) for u, r in dropouts.items()}
        timings: dict[str, float] = {}
        bytes_sent: dict[int, dict[str, int]] = {u: {} for u in ids}
        entries: list[TranscriptEntry] | None = [] if transcript else None
        masked: dict[int, np.ndarray] | None = {} if transcript == "full" else None
        start_all = time.perf_counter()
        t0 = time.perf_counter()
        requests = server.start()
        timings["R0.server"] = time.perf_counter() - t0
        while server.state not in (State.COMPLETED, State.ABORTED):
            rnd = server.round
            assert rnd is not None
            index = ROUNDS.index(rnd)
            answering = [u for u in sorted(requests) if stop_at.get(u, len(ROUNDS)) > index]
            server_time = timings.get(f"{rnd}.server", 0.0)
            started = time.perf_counter()
            spent = 0.0  # server time within this loop
            for u, replies in clients.round(requests, answering):
                for reply in replies:
                    bytes_sent[u][rnd] = bytes_sent[u].get(rnd, 0) + len(reply)
                    if entries is not None:
                        entries.append(
                            TranscriptEntry(
                                rnd,
                                u,
                                len(reply),
                                hashlib.sha256(reply).hexdigest(),
                                bytes(reply) if transcript == "full" else None,
                            )
                        )
                    if masked is not None:
                        _keep_masked(masked, u, reply, config)
                    t0 = time.perf_counter()
                    server.receive(u, reply)
                    spent += time.perf_counter() - t0
            looped = time.perf_counter() - started
            t0 = time.perf_counter()
            requests = server.close_round()
            server_time += spent + time.perf_counter() - t0
            # With workers, the clients' time is the loop's wall time the
            # server did not use: what they cost the round, not their CPU sum.
            timings[f"{rnd}.client"] = looped - spent
            timings[f"{rnd}.server"] = server_time
        timings["total"] = time.perf_counter() - start_all
        # Let the clients still listening see the abort notice (they erase their secrets).
        clients.notify({u: note for u, note in requests.items() if stop_at.get(u, len(ROUNDS)) > 0})
    finally:
        clients.close()
    result = server.result
    return RoundResult(
        sum=None if result is None else result.sum,
        survivors=frozenset(server.u3) if result is not None else frozenset(server.u3),
        aborted=server.abort_reason,
        dropped=dict(server.dropped),
        reconstructed=(
            dict(result.reconstructed) if result is not None else {"self_mask": (), "pairwise": ()}
        ),
        bad_holders=() if result is None else result.bad_holders,
        timings=timings,
        bytes_sent=bytes_sent,
        transcript=entries,
        masked_inputs=masked,
    )


def _keep_masked(
    out: dict[int, np.ndarray], u: int, data: bytes | memoryview, config: Config
) -> None:
    """Unpack a masked input for the transcript (what the server saw)."""
    try:
        if peek_header(data)[0] != MsgType.MASKED_INPUT:
            return
        msg = decode(data, config)
    except MalformedMessageError:
        return
    assert isinstance(msg, MaskedInput)
    out[u] = packing.unpack(msg.packed, config.m, config.b)
