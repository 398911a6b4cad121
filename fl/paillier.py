"""The Paillier aggregators: packed Paillier with a key holder or a threshold committee.

Each round is one session of :mod:`secagg.paillier` over the round's clients.
Every client that does not stop before the upload (:data:`~fl.boundary.UPLOAD_ROUND`,
the same rule as the plain baseline) packs its encoded words, encrypts them,
proves knowledge of the plaintexts and signs the bundle; the aggregation
server checks each bundle and multiplies the ciphertexts. The key holder
(:class:`PaillierAggregator`), or t members of a committee
(:class:`ThresholdPaillierAggregator`), then decrypt that one aggregate,
each under its own policy: at least n_min distinct registered clients with
valid proofs (n_min from the session plan, C its colluding clients), once
per session id, which is fresh each round. The aggregation server holds
ciphertexts only.

The keys are made once per run, not per round (:mod:`fl.paillier_runs`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from secagg import crypto
from secagg.encoding import EncodedUpdate
from secagg.exceptions import AbortedError, NotEnoughSharesError
from secagg.paillier import (
    AggregationServer,
    CommitteeMember,
    Encryptor,
    KeyHolder,
    PaillierClient,
    SessionParams,
    ThresholdPublicKey,
)
from secagg.paillier.policy import KeyView
from secagg.protocol.config import Config

from .boundary import UPLOAD_ROUND, RoundOutcome, ServerHeld, survivors_of, take_inputs

__all__ = [
    "HELD_CIPHERTEXTS",
    "HELD_CIPHERTEXTS_COMMITTEE",
    "PaillierAggregator",
    "ThresholdPaillierAggregator",
]

#: The key holder path: the aggregation server never holds a private key.
HELD_CIPHERTEXTS = ServerHeld(
    "Paillier ciphertexts of each survivor's packed update and their product; the key "
    "holder decrypted that one aggregate",
    updates_in_clear=False,
    uniform_words=False,
)
#: The committee path: no single party can decrypt.
HELD_CIPHERTEXTS_COMMITTEE = ServerHeld(
    "Paillier ciphertexts of each survivor's packed update and their product; t committee "
    "members' proven decryption shares of that one aggregate",
    updates_in_clear=False,
    uniform_words=False,
)


@dataclass(frozen=True)
class _Collected:
    """The aggregation server of one round after every survivor's bundle arrived."""

    server: AggregationServer
    params: SessionParams
    registry: dict[int, bytes]
    survivors: frozenset[int]
    dropped: dict[int, str]
    bytes_sent: dict[int, dict[str, int]]
    timings: dict[str, float]


def _params(config: Config, colluders: int, session_id: bytes) -> SessionParams:
    """One session's parameters: m, b and n_min from the Config, n_max = n."""
    return SessionParams(
        session_id,
        length=config.m,
        bits=config.b,
        n_max=config.n,
        n_min=config.n_min,
        max_colluders=colluders,
    )


def _check_session(key: KeyView, config: Config, colluders: int) -> None:
    """Refuse, before any update is taken, what no session of this config could accept.

    Raises:
        InvalidInputError: n_min < C + 2 (a sum could hold a single honest
            input), or a slot of b + ceil(log2 n) bits does not fit the key.
    """
    _params(config, colluders, bytes(32)).layout(key.encryption_key)


def _collect(
    key: KeyView,
    encryptor: Encryptor,
    config: Config,
    colluders: int,
    client_keys: Mapping[int, bytes],
    encoded: Mapping[int, EncodedUpdate],
    dropouts: Mapping[int, str],
) -> _Collected:
    """Open a session with a fresh id; every survivor encrypts, proves, signs and uploads."""
    inputs = take_inputs(encoded, dropouts, config)
    survivors = survivors_of(sorted(inputs), dropouts)
    params = _params(config, colluders, os.urandom(32))
    registry = {sid: crypto.ed25519_public(client_keys[sid]) for sid in inputs}
    server = AggregationServer(key, params=params, registry=registry)
    timings = {"client": 0.0, "server": 0.0}
    bytes_sent: dict[int, dict[str, int]] = {u: {} for u in inputs}
    for u in sorted(survivors):
        start = time.perf_counter()
        client = PaillierClient(
            key,
            pinned_fingerprint=key.fingerprint,
            params=params,
            client_id=u,
            signing_key=client_keys[u],
            encryptor=encryptor,
        )
        data = client.submit(inputs[u]).to_bytes()
        mid = time.perf_counter()
        server.receive(data)
        timings["client"] += mid - start
        timings["server"] += time.perf_counter() - mid
        bytes_sent[u][UPLOAD_ROUND] = len(data)
    dropped = {u: r for u, r in dropouts.items() if u not in survivors}
    return _Collected(server, params, registry, survivors, dropped, bytes_sent, timings)


def _outcome(
    held: ServerHeld,
    config: Config,
    got: _Collected,
    words: np.ndarray | None,
    contributors: Sequence[int],
    releases: Mapping[str, frozenset[int]],
    aborted: str | None,
) -> RoundOutcome:
    timings = dict(got.timings)
    timings["total"] = sum(timings.values())
    return RoundOutcome(
        held=held,
        sum=None if words is None else np.asarray(words).astype(config.dtype),
        survivors=frozenset(contributors) if words is not None else got.survivors,
        aborted=aborted,
        dropped=got.dropped,
        received=None,
        reconstructed={},
        timings=timings,
        bytes_sent=got.bytes_sent,
        config=config,
        releases=dict(releases),
    )


@dataclass(frozen=True)
class PaillierAggregator:
    """Packed Paillier with a key holder: one session per call.

    Attributes:
        config: The session Config (n, b, m and n_min are used).
        key_holder: The run's key holder (it remembers the sessions it decrypted).
        encryptor: The fixed-base table for its public key, shared by the clients.
        client_keys: Session id -> that client's long-term Ed25519 seed.
        colluders: C, the registered clients assumed to collude with the server.

    Raises:
        InvalidInputError: On construction, n_min < C + 2 or a packing slot
            that does not fit the key (before any update is taken).
    """

    config: Config
    key_holder: KeyHolder
    encryptor: Encryptor
    client_keys: Mapping[int, bytes]
    colluders: int = 0

    def __post_init__(self) -> None:
        _check_session(self.key_holder.public_key, self.config, self.colluders)

    @property
    def held(self) -> ServerHeld:
        """Ciphertexts and their product; only the aggregate is decrypted."""
        return HELD_CIPHERTEXTS

    def aggregate(
        self, encoded: Mapping[int, EncodedUpdate], dropouts: Mapping[int, str]
    ) -> RoundOutcome:
        """One session: survivors upload bundles, the key holder decrypts the aggregate.

        Args:
            encoded: Session id (1..n) -> encoded update, for every client.
            dropouts: Session id -> round ("R0".."R4") before whose reply it
                stops; before R2 or earlier means it sends nothing.

        Returns:
            The sum over the survivors, or why nothing was decrypted (fewer
            than n_min bundles).

        Raises:
            InvalidInputError, UpdateReusedError: As :func:`fl.boundary.take_inputs`.
            DecryptionRefused: The key holder's policy refused the request
                (never for honest clients).
        """
        holder = self.key_holder
        got = _collect(
            holder.public_key,
            self.encryptor,
            self.config,
            self.colluders,
            self.client_keys,
            encoded,
            dropouts,
        )
        try:
            request = got.server.request()
        except AbortedError as exc:
            return _outcome(HELD_CIPHERTEXTS, self.config, got, None, (), {}, str(exc))
        start = time.perf_counter()
        result = holder.decrypt(request.to_bytes(), params=got.params, registry=got.registry)
        got.timings["decrypt"] = time.perf_counter() - start
        members = frozenset(result.contributors)
        releases = {"key holder": members}
        return _outcome(
            HELD_CIPHERTEXTS, self.config, got, result.words, result.contributors, releases, None
        )


@dataclass(frozen=True)
class ThresholdPaillierAggregator:
    """Packed Paillier with a t-of-w committee: one session per call.

    The server asks the members one after another until t proven shares
    verify; each member applies the decryption policy on its own.

    Attributes:
        config: The session Config (n, b, m and n_min are used).
        public_key: The committee's public key.
        members: The run's committee members (each remembers the sessions it answered).
        encryptor: The fixed-base table for the key, shared by the clients.
        client_keys: Session id -> that client's long-term Ed25519 seed.
        colluders: C, the registered clients assumed to collude with the server.

    Raises:
        InvalidInputError: On construction, as :class:`PaillierAggregator`.
    """

    config: Config
    public_key: ThresholdPublicKey
    members: tuple[CommitteeMember, ...]
    encryptor: Encryptor
    client_keys: Mapping[int, bytes]
    colluders: int = 0

    def __post_init__(self) -> None:
        _check_session(self.public_key, self.config, self.colluders)

    @property
    def held(self) -> ServerHeld:
        """Ciphertexts, their product, and t members' decryption shares of it."""
        return HELD_CIPHERTEXTS_COMMITTEE

    def aggregate(
        self, encoded: Mapping[int, EncodedUpdate], dropouts: Mapping[int, str]
    ) -> RoundOutcome:
        """One session decrypted by t members (arguments as :class:`PaillierAggregator`).

        Raises:
            InvalidInputError, UpdateReusedError: As :func:`fl.boundary.take_inputs`.
            DecryptionRefused: A member's policy refused the request (never
                for honest clients).
        """
        held = HELD_CIPHERTEXTS_COMMITTEE
        got = _collect(
            self.public_key,
            self.encryptor,
            self.config,
            self.colluders,
            self.client_keys,
            encoded,
            dropouts,
        )
        try:
            request = got.server.request().to_bytes()
        except AbortedError as exc:
            return _outcome(held, self.config, got, None, (), {}, str(exc))
        start = time.perf_counter()
        answers, answered = [], []
        combined, reason = None, "no committee member answered"
        for member in self.members:
            answers.append(
                member.decryption_share(request, params=got.params, registry=got.registry)
            )
            answered.append(member.index)
            if len(answers) < self.public_key.threshold:
                continue
            try:
                combined = got.server.combine(answers)
                break
            except NotEnoughSharesError as exc:
                reason = str(exc)
        got.timings["decrypt"] = time.perf_counter() - start
        if combined is None:
            return _outcome(held, self.config, got, None, (), {}, reason)
        contributors = combined.result.contributors
        releases = {f"committee member {i}": frozenset(contributors) for i in answered}
        return _outcome(held, self.config, got, combined.result.words, contributors, releases, None)
