"""The key holder's decryption policy: every refusal, and the colluding-client attack."""

from __future__ import annotations

import dataclasses
import os

import pytest

pytest.importorskip("phe")
gmpy2 = pytest.importorskip("gmpy2")

import numpy as np  # noqa: E402
from paillier_support import Session, encryptor, make_session, primes, private_key  # noqa: E402

from secagg import crypto  # noqa: E402
from secagg.exceptions import DecryptionRefused, InvalidInputError  # noqa: E402
from secagg.paillier import (  # noqa: E402
    ClientBundle,
    DecryptionRequest,
    KeyHolder,
    SessionParams,
)
from secagg.paillier.policy import bundle_problem, multiply_slots  # noqa: E402
from secagg.paillier.proofs import PlaintextProof, prove_plaintexts  # noqa: E402

BITS = 512


@pytest.fixture()
def setup() -> tuple[KeyHolder, Session, dict[int, ClientBundle]]:
    """A key holder on the 512-bit test key, a 4-client session and every honest bundle."""
    holder = KeyHolder(private_key(BITS))
    session = make_session(holder.public_key, clients=4, n_min=3, max_colluders=1)
    return holder, session, {u: session.bundle(u) for u in session.inputs}


def _request(session: Session, bundles: list[ClientBundle]) -> DecryptionRequest:
    pk = session.key.encryption_key
    return DecryptionRequest(
        session.params.session_id, pk.nbytes, multiply_slots(pk, bundles), tuple(bundles)
    )


def _resign(session: Session, bundle: ClientBundle, **changes: object) -> ClientBundle:
    """The bundle with fields changed and signed again by its (colluding) sender."""
    changed = dataclasses.replace(bundle, **changes)  # type: ignore[arg-type]
    seed = session.keys[changed.client_id][0]
    return dataclasses.replace(changed, signature=crypto.ed25519_sign(seed, changed.signed_bytes()))


def _decrypt(holder: KeyHolder, session: Session, request: DecryptionRequest):  # noqa: ANN202
    return holder.decrypt(request, params=session.params, registry=session.registry)


def test_honest_aggregate_is_decrypted_once_per_session(setup) -> None:  # noqa: ANN001
    """The key holder returns the ring sum of honest clients, then refuses a second request."""
    holder, session, bundles = setup
    request = _request(session, [bundles[1], bundles[2], bundles[3]])
    result = holder.decrypt(request.to_bytes(), params=session.params, registry=session.registry)
    assert result.contributors == (1, 2, 3)
    assert result.words.tolist() == session.expected([1, 2, 3]).tolist()
    with pytest.raises(DecryptionRefused, match="already decrypted .* at most one per session"):
        _decrypt(holder, session, _request(session, [bundles[1], bundles[2], bundles[4]]))


def test_lone_client_ciphertexts_are_refused(setup) -> None:  # noqa: ANN001
    """A request holding one client's ciphertexts is refused, whatever n_min says."""
    holder, session, bundles = setup
    with pytest.raises(DecryptionRefused, match="only client 2's ciphertexts; a lone client"):
        _decrypt(holder, session, _request(session, [bundles[2]]))


def test_fewer_than_n_min_contributors_are_refused(setup) -> None:  # noqa: ANN001
    """Two contributors are refused when n_min = 3."""
    holder, session, bundles = setup
    with pytest.raises(DecryptionRefused, match="2 contributors.*n_min = 3"):
        _decrypt(holder, session, _request(session, [bundles[1], bundles[3]]))


def test_missing_proof_is_refused(setup) -> None:  # noqa: ANN001
    """A validly signed bundle without a proof of plaintext knowledge is refused."""
    holder, session, bundles = setup
    bare = _resign(session, bundles[3], proof=None)
    assert ClientBundle.from_bytes(bare.to_bytes()) == bare
    with pytest.raises(DecryptionRefused, match="client 3's bundle carries no proof"):
        _decrypt(holder, session, _request(session, [bundles[1], bundles[2], bare]))


def test_bad_proof_is_refused(setup) -> None:  # noqa: ANN001
    """A bundle whose proof response was altered (and re-signed) is refused."""
    holder, session, bundles = setup
    p = bundles[2].proof
    assert p is not None
    for proof in (
        PlaintextProof(p.commitment, (p.z_message + 1) % session.key.encryption_key.n, p.z_random),
        PlaintextProof(p.commitment, p.z_message, p.z_random + 1),
    ):
        bad = _resign(session, bundles[2], proof=proof)
        with pytest.raises(DecryptionRefused, match="client 2's proof of plaintext knowledge"):
            _decrypt(holder, session, _request(session, [bundles[1], bad, bundles[3]]))


def test_ciphertext_from_another_session_is_refused(setup) -> None:  # noqa: ANN001
    """A bundle made for another session is refused, as is one relabelled with this session."""
    holder, session, bundles = setup
    other = make_session(session.key, clients=4, n_min=3, max_colluders=1, seed=1)
    foreign = other.bundle(3)
    with pytest.raises(DecryptionRefused, match="client 3's ciphertexts are bound to session"):
        _decrypt(holder, session, _request(session, [bundles[1], bundles[2], foreign]))
    # Relabelled and re-signed by a colluder: the proof's challenges bind the old session.
    relabelled = _resign(session, foreign, session_id=session.params.session_id)
    with pytest.raises(DecryptionRefused, match="client 3's proof of plaintext knowledge"):
        _decrypt(holder, session, _request(session, [bundles[1], bundles[2], relabelled]))


def test_request_for_another_session_is_refused(setup) -> None:  # noqa: ANN001
    """A request whose session id is not the key holder's session is refused."""
    holder, session, bundles = setup
    request = dataclasses.replace(
        _request(session, [bundles[1], bundles[2], bundles[3]]), session_id=os.urandom(32)
    )
    with pytest.raises(DecryptionRefused, match="request is for session .* another session"):
        _decrypt(holder, session, request)


def test_unregistered_duplicate_and_forged_bundles_are_refused(setup) -> None:  # noqa: ANN001
    """Unknown senders, repeated senders and bad signatures are each refused by name."""
    holder, session, bundles = setup
    b1, b2, b3 = bundles[1], bundles[2], bundles[3]
    with pytest.raises(DecryptionRefused, match=r"clients \[2\] appear more than once"):
        _decrypt(holder, session, _request(session, [b1, b2, b2]))
    stranger = dataclasses.replace(b3, client_id=99)
    with pytest.raises(DecryptionRefused, match="client 99 is not in the registry"):
        _decrypt(holder, session, _request(session, [b1, b2, stranger]))
    forged = dataclasses.replace(b3, client_id=4)  # client 3's bundle claimed by client 4
    with pytest.raises(DecryptionRefused, match="client 4's signature does not verify"):
        _decrypt(holder, session, _request(session, [b1, b2, forged]))


def test_bundle_signed_for_another_public_key_is_refused(setup) -> None:  # noqa: ANN001
    """A client that signed another key's fingerprint (a substituted key) is refused."""
    holder, session, bundles = setup
    moved = _resign(session, bundles[3], key_fingerprint=bytes(32))
    with pytest.raises(DecryptionRefused, match="client 3 signed for the public key 0000"):
        _decrypt(holder, session, _request(session, [bundles[1], bundles[2], moved]))


def test_ciphertext_sharing_a_factor_with_n_is_refused(setup) -> None:  # noqa: ANN001
    """A ciphertext with gcd(c, N) != 1 is refused before any decryption."""
    holder, session, bundles = setup
    p, _ = primes(BITS)
    cts = (gmpy2.mpz(p) * 5,) + bundles[3].ciphertexts[1:]
    bad = _resign(session, bundles[3], ciphertexts=cts)
    with pytest.raises(DecryptionRefused, match=r"ciphertext 0 shares a factor with N"):
        _decrypt(holder, session, _request(session, [bundles[1], bundles[2], bad]))


def test_server_aggregate_must_match_the_recomputed_product(setup) -> None:  # noqa: ANN001
    """A request whose aggregate is not the product of its bundles is refused."""
    holder, session, bundles = setup
    request = _request(session, [bundles[1], bundles[2], bundles[3]])
    wrong = (request.aggregate[0] * bundles[4].ciphertexts[0],) + request.aggregate[1:]
    with pytest.raises(DecryptionRefused, match="aggregate differs"):
        _decrypt(holder, session, dataclasses.replace(request, aggregate=wrong))


def test_more_than_n_max_contributors_are_refused() -> None:
    """A request over more clients than the headroom holds is refused (overflow)."""
    holder = KeyHolder(private_key(BITS))
    session = make_session(holder.public_key, clients=4, n_max=3, n_min=2, max_colluders=0)
    request = _request(session, [session.bundle(u) for u in (1, 2, 3, 4)])
    with pytest.raises(DecryptionRefused, match="4 contributors, more than n_max = 3.*carry"):
        _decrypt(holder, session, request)


def _inverse_attack(session: Session, bundles: dict[int, ClientBundle], proof) -> ClientBundle:  # noqa: ANN001
    """Colluder 3 submits, as its own, the inverse of honest client 2's ciphertexts."""
    n_square = session.key.encryption_key.n_square
    inverted = tuple(gmpy2.invert(c, n_square) for c in bundles[2].ciphertexts)
    return _resign(session, bundles[3], ciphertexts=inverted, proof=proof)


def test_colluding_client_inverse_attack_is_refused_for_lack_of_a_valid_proof(setup) -> None:  # noqa: ANN001
    """The product-of-inverses bundle decrypts to the victim's input and is refused (proof)."""
    holder, session, bundles = setup
    pk = session.key.encryption_key
    layout = session.params.layout(pk)
    # The attack works without proofs: the aggregate of {1, 2, 3} is client 1's input alone.
    attack = _inverse_attack(session, bundles, proof=None)
    aggregate = multiply_slots(pk, [bundles[1], bundles[2], attack])
    leaked = layout.unpack_sum([private_key(BITS).decrypt(c) for c in aggregate], 1)
    assert np.array_equal(leaked, session.inputs[1])
    # With every proof a colluder can make, the key holder refuses.
    zeros = [0] * len(attack.ciphertexts)
    made_up = prove_plaintexts(
        pk, encryptor(BITS).table, session.params.session_id, 3, attack.ciphertexts, zeros, zeros
    )
    for proof, reason in (
        (None, "client 3's bundle carries no proof"),
        (bundles[2].proof, "client 3's proof of plaintext knowledge fails"),
        (bundles[3].proof, "client 3's proof of plaintext knowledge fails"),
        (made_up, "client 3's proof of plaintext knowledge fails"),
    ):
        bundle = _inverse_attack(session, bundles, proof)
        kwargs = dict(key=pk, params=session.params, registry=session.registry, layout=layout)
        if proof is not None:  # everything but the proof is in order
            assert bundle_problem(bundle, check_proof=False, **kwargs) is None  # type: ignore[arg-type]
        with pytest.raises(DecryptionRefused, match=reason):
            _decrypt(holder, session, _request(session, [bundles[1], bundles[2], bundle]))
    # Refusals do not use up the session: the honest aggregate is still decrypted.
    result = _decrypt(holder, session, _request(session, [bundles[1], bundles[2], bundles[4]]))
    assert result.words.tolist() == session.expected([1, 2, 4]).tolist()


def test_session_parameters_are_validated() -> None:
    """n_min >= C + 2, n_min <= n_max and a 32-byte session id are required."""
    sid = bytes(32)
    with pytest.raises(InvalidInputError, match="single honest input.*at least max_colluders"):
        SessionParams(sid, length=4, bits=8, n_max=10, n_min=3, max_colluders=2)
    with pytest.raises(InvalidInputError, match="n_min = 5 exceeds n_max = 4"):
        SessionParams(sid, length=4, bits=8, n_max=4, n_min=5)
    with pytest.raises(InvalidInputError, match="32 bytes, got 31"):
        SessionParams(bytes(31), length=4, bits=8, n_max=4, n_min=2)


def test_once_per_session_survives_a_restart_when_the_record_is_kept(setup) -> None:  # noqa: ANN001
    """A key holder restored with its decrypted_sessions still refuses those sessions."""
    holder, session, bundles = setup
    request = _request(session, [bundles[1], bundles[2], bundles[3]])
    _decrypt(holder, session, request)
    assert holder.decrypted_sessions == {session.params.session_id}
    restarted = KeyHolder(private_key(BITS), decrypted_sessions=holder.decrypted_sessions)
    with pytest.raises(DecryptionRefused, match="already decrypted"):
        _decrypt(restarted, session, request)
