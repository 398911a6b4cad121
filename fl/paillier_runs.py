"""The Paillier paths of a run: keys made once, one aggregator per round.

:class:`PaillierRounds` and :class:`ThresholdPaillierRounds` are
:data:`~fl.boundary.AggregatorFactory` objects. Each is built once per run
and holds what every round shares: the key holder's key or the dealer's
committee key (generated here, or given: the tests pass the cached keys),
the encryption table, and each client's long-term Ed25519 key (the plan's,
in active mode). A key below 2048 bits is refused unless
``insecure_testing`` is passed (tests only).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from secagg import crypto
from secagg.exceptions import InvalidInputError
from secagg.paillier import (
    CommitteeMember,
    Encryptor,
    KeyHolder,
    KeyShare,
    PackingLayout,
    PrivateKey,
    ThresholdPublicKey,
    deal,
)
from secagg.paillier.keys import MIN_MODULUS_BITS

from .paillier import PaillierAggregator, ThresholdPaillierAggregator
from .plan import SessionPlan

__all__ = ["PaillierRounds", "ThresholdPaillierRounds"]


def _check_bits(bits: int, insecure_testing: bool) -> None:
    if bits < MIN_MODULUS_BITS and not insecure_testing:
        raise InvalidInputError(
            f"a {bits}-bit Paillier key is insecure; keys below {MIN_MODULUS_BITS} bits are "
            "allowed only with insecure_testing (tests only)."
        )


class _ClientKeys:
    """Each client's long-term Ed25519 seed, made when it is first sampled (or the plan's)."""

    def __init__(self) -> None:
        self._seeds: dict[int, bytes] = {}

    def for_session(self, plan: SessionPlan, session: Mapping[int, int]) -> dict[int, bytes]:
        """Session id -> the seed of the client it stands for."""
        if plan.keys is not None:
            return {sid: plan.keys.signing_keys[cid] for sid, cid in session.items()}
        for cid in session.values():
            if cid not in self._seeds:
                self._seeds[cid] = crypto.ed25519_keypair()[0]
        return {sid: self._seeds[cid] for sid, cid in session.items()}


def _layout_note(bits: int, plan: SessionPlan) -> str:
    cfg = plan.config
    layout = PackingLayout(bits, cfg.b, cfg.n, cfg.m)
    return (
        f"{layout.slots} slots of {layout.slot_bits} bits per plaintext, "
        f"{layout.plaintexts} ciphertexts per client; n_min = {cfg.n_min}, C = {plan.colluders}"
    )


class PaillierRounds:
    """The key holder path of a run (an :data:`~fl.boundary.AggregatorFactory`).

    Made once per run: the key holder (a fresh key of ``bits`` bits, or the
    given one), the encryption table and the clients' long-term keys; each
    call gives one round's :class:`PaillierAggregator`.

    Args:
        bits: Modulus length of a fresh key (2048 or more unless ``insecure_testing``).
        insecure_testing: Allow keys below 2048 bits (tests only).
        private_key: Use this key instead of generating one (tests: the cached keys).

    Raises:
        InvalidInputError: A key below 2048 bits without ``insecure_testing``.
    """

    def __init__(
        self,
        *,
        bits: int = MIN_MODULUS_BITS,
        insecure_testing: bool = False,
        private_key: PrivateKey | None = None,
    ) -> None:
        start = time.perf_counter()
        if private_key is None:
            _check_bits(bits, insecure_testing)
            self.key_holder = KeyHolder.generate(bits, insecure_testing=insecure_testing)
        else:
            _check_bits(private_key.public_key.bits, insecure_testing)
            self.key_holder = KeyHolder(private_key)
        self.keygen_seconds = time.perf_counter() - start
        self.encryptor = Encryptor(self.key_holder.public_key)
        self._clients = _ClientKeys()

    def __call__(self, plan: SessionPlan, session: Mapping[int, int]) -> PaillierAggregator:
        """The aggregator of one round."""
        keys = self._clients.for_session(plan, session)
        return PaillierAggregator(
            plan.config, self.key_holder, self.encryptor, keys, plan.colluders
        )

    def describe(self, plan: SessionPlan) -> str:
        """One line on the keys and the packing."""
        bits = self.key_holder.public_key.bits
        return (
            f"packed Paillier, key holder: {bits}-bit key (made once per run in "
            f"{self.keygen_seconds:.1f}s); {_layout_note(bits, plan)}"
        )


class ThresholdPaillierRounds:
    """The committee path of a run (an :data:`~fl.boundary.AggregatorFactory`).

    Made once per run: the dealer's t-of-w committee key (dealt on fresh
    safe primes, or the given committee), the members, the encryption table
    and the clients' long-term keys.

    Args:
        bits: Modulus length of a fresh key (2048 or more unless ``insecure_testing``).
        holders: w, the committee size.
        threshold: t, the members needed to decrypt (t > w / 2).
        insecure_testing: Allow keys below 2048 bits (tests only).
        committee: Use this dealt key and shares (tests: the cached primes).

    Raises:
        InvalidInputError: A key below 2048 bits without ``insecure_testing``,
            or a committee the dealer refuses (t <= w / 2).
    """

    def __init__(
        self,
        *,
        bits: int = MIN_MODULUS_BITS,
        holders: int = 5,
        threshold: int = 3,
        insecure_testing: bool = False,
        committee: tuple[ThresholdPublicKey, Sequence[KeyShare]] | None = None,
    ) -> None:
        start = time.perf_counter()
        if committee is None:
            _check_bits(bits, insecure_testing)
            committee = deal(
                bits, holders=holders, threshold=threshold, insecure_testing=insecure_testing
            )
        tpk, shares = committee
        _check_bits(tpk.key.bits, insecure_testing)
        self.keygen_seconds = time.perf_counter() - start
        self.public_key = tpk
        self.members = tuple(CommitteeMember(s) for s in shares)
        self.encryptor = Encryptor(tpk.encryption_key)
        self._clients = _ClientKeys()

    def __call__(
        self, plan: SessionPlan, session: Mapping[int, int]
    ) -> ThresholdPaillierAggregator:
        """The aggregator of one round."""
        keys = self._clients.for_session(plan, session)
        return ThresholdPaillierAggregator(
            plan.config, self.public_key, self.members, self.encryptor, keys, plan.colluders
        )

    def describe(self, plan: SessionPlan) -> str:
        """One line on the committee and the packing."""
        tpk = self.public_key
        return (
            f"packed Paillier, {tpk.threshold}-of-{tpk.holders} committee: {tpk.key.bits}-bit "
            f"key (dealt once per run in {self.keygen_seconds:.1f}s); "
            f"{_layout_note(tpk.key.bits, plan)}"
        )
