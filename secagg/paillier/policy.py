"""The decryption policy: which aggregate a decrypting party agrees to decrypt.

A key holder, and each member of a threshold committee, decrypts at most one
aggregate per session, and only one it recomputes itself from at least n_min
client bundles that each

- are bound to this session (session id in the bundle, its signature and
  its proof's challenges),
- come from distinct clients of the registry, signed with their registered
  Ed25519 key over the fingerprint of this decrypting party's public key,
- hold exactly the layout's number of ciphertexts, every one a unit modulo
  N^2 (gcd(c, N) = 1), and
- carry a valid batched proof of plaintext knowledge.

Without the proof one colluding registered client defeats any count rule: it
signs, as its own, the product of the inverses of the other honest
ciphertexts, and the "aggregate" decrypts to one victim's input. With it,
such a bundle is refused, because its sender cannot know the plaintext.

:func:`check_request` applies every rule and returns the recomputed
aggregate, or raises :class:`~secagg.exceptions.DecryptionRefused` naming the
first rule broken. "Once per session" is the role's state and lives in
:mod:`secagg.paillier.roles`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from .. import crypto
from ..exceptions import DecryptionRefused
from ._bigint import gmpy2, mpz
from .keys import PublicKey
from .messages import ClientBundle, DecryptionRequest
from .packing import PackingLayout
from .proofs import verify_plaintexts
from .session import SessionParams, check_registry

__all__ = ["KeyView", "VerifiedAggregate", "bundle_problem", "check_request", "multiply_slots"]


class KeyView(Protocol):
    """What the policy needs of a decrypting party's public key."""

    @property
    def fingerprint(self) -> bytes:
        """H(pk), which every client signature must cover."""
        ...

    @property
    def encryption_key(self) -> PublicKey:
        """The Paillier key the clients encrypt under."""
        ...


@dataclass(frozen=True)
class VerifiedAggregate:
    """An aggregate that passed the policy.

    Attributes:
        session_id: The session.
        contributors: Client ids, ascending.
        ciphertexts: The recomputed product, one ciphertext per plaintext slot.
    """

    session_id: bytes
    contributors: tuple[int, ...]
    ciphertexts: tuple[mpz, ...]


def _hex(data: bytes) -> str:
    return data[:8].hex() + "..."


def bundle_problem(
    bundle: ClientBundle,
    *,
    key: KeyView,
    params: SessionParams,
    registry: Mapping[int, bytes],
    layout: PackingLayout,
    check_proof: bool = True,
) -> str | None:
    """Why a client bundle is not acceptable in this session, or None.

    Args:
        bundle: The bundle.
        key: The decrypting party's public key (plain or threshold).
        params: The session.
        registry: Client id -> Ed25519 verification key.
        layout: The session's packing layout under ``key``.
        check_proof: Whether to verify the proof of plaintext knowledge (the
            costly check; a decrypting party always does).

    Returns:
        A sentence naming the client and the broken rule, or None.
    """
    uid = bundle.client_id
    pk = key.encryption_key
    if bundle.session_id != params.session_id:
        return (
            f"client {uid}'s ciphertexts are bound to session {_hex(bundle.session_id)}, "
            f"not to this session {_hex(params.session_id)}."
        )
    vk = registry.get(uid)
    if vk is None:
        return f"client {uid} is not in the registry."
    if bundle.key_fingerprint != key.fingerprint:
        return (
            f"client {uid} signed for the public key {_hex(bundle.key_fingerprint)}, not for "
            f"this party's key {_hex(key.fingerprint)}."
        )
    if bundle.nbytes != pk.nbytes or len(bundle.ciphertexts) != layout.plaintexts:
        return (
            f"client {uid} sent {len(bundle.ciphertexts)} ciphertexts of {2 * bundle.nbytes} "
            f"bytes; the layout needs {layout.plaintexts} of {2 * pk.nbytes} bytes."
        )
    if not crypto.ed25519_verify(vk, bundle.signed_bytes(), bundle.signature):
        return f"client {uid}'s signature does not verify under its registered key."
    for i, c in enumerate(bundle.ciphertexts):
        if not 0 < c < pk.n_square:
            return f"client {uid}'s ciphertext {i} is not in the range (0, N^2)."
        if gmpy2.gcd(c, pk.n) != 1:
            return f"client {uid}'s ciphertext {i} shares a factor with N (gcd(c, N) != 1)."
    if bundle.proof is None:
        return f"client {uid}'s bundle carries no proof of plaintext knowledge."
    if check_proof:
        reason = verify_plaintexts(pk, params.session_id, uid, bundle.ciphertexts, bundle.proof)
        if reason is not None:
            return f"client {uid}'s proof of plaintext knowledge fails: {reason}."
    return None


def multiply_slots(pk: PublicKey, bundles: list[ClientBundle]) -> tuple[mpz, ...]:
    """The slot-wise product of the bundles' ciphertexts modulo N^2."""
    product = list(bundles[0].ciphertexts)
    for bundle in bundles[1:]:
        product = [a * c % pk.n_square for a, c in zip(product, bundle.ciphertexts, strict=True)]
    return tuple(product)


def check_request(
    request: DecryptionRequest,
    *,
    key: KeyView,
    params: SessionParams,
    registry: Mapping[int, bytes],
) -> VerifiedAggregate:
    """Apply the decryption policy to a request; return the recomputed aggregate.

    Args:
        request: What the aggregation server sent.
        key: The decrypting party's public key (plain or threshold).
        params: The session this party serves (from its own configuration,
            never from the request).
        registry: Client id -> Ed25519 verification key.

    Returns:
        The :class:`VerifiedAggregate`.

    Raises:
        DecryptionRefused: The first rule the request breaks, as a sentence.
        InvalidInputError: A malformed registry or a layout that does not fit.
    """
    registry = check_registry(registry)
    layout = params.layout(key.encryption_key)
    sid = params.session_id
    if request.session_id != sid:
        raise DecryptionRefused(
            f"the request is for session {_hex(request.session_id)}, but this party serves "
            f"session {_hex(sid)}; a ciphertext from another session is never decrypted."
        )
    ids = [b.client_id for b in request.bundles]
    if len(ids) == 1:
        raise DecryptionRefused(
            f"the request holds only client {ids[0]}'s ciphertexts; a lone client's "
            f"ciphertexts are never decrypted (n_min = {params.n_min})."
        )
    repeated = sorted(u for u, k in Counter(ids).items() if k > 1)
    if repeated:
        raise DecryptionRefused(
            f"clients {repeated} appear more than once in the request; contributors must be "
            "distinct."
        )
    if len(ids) < params.n_min:
        raise DecryptionRefused(
            f"the request holds {len(ids)} contributors; the policy needs at least "
            f"n_min = {params.n_min} distinct registered clients with valid proofs."
        )
    if len(ids) > layout.n_max:
        raise DecryptionRefused(
            f"the request holds {len(ids)} contributors, more than n_max = {layout.n_max}: "
            f"their sum could carry out of the {layout.headroom} headroom bits of a slot."
        )
    for bundle in request.bundles:
        reason = bundle_problem(bundle, key=key, params=params, registry=registry, layout=layout)
        if reason is not None:
            raise DecryptionRefused(f"refused: {reason}")
    ordered = sorted(request.bundles, key=lambda b: b.client_id)
    aggregate = multiply_slots(key.encryption_key, ordered)
    if tuple(request.aggregate) != aggregate:
        raise DecryptionRefused(
            "the server's aggregate differs from the product of the submitted ciphertexts; "
            "only the recomputed product would be decrypted, and a mismatch means a faulty "
            "server."
        )
    return VerifiedAggregate(sid, tuple(b.client_id for b in ordered), aggregate)
