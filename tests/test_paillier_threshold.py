"""Threshold Paillier: dealing, every t-subset, member policy and share proofs."""

from __future__ import annotations

import dataclasses
import itertools
import pickle

import pytest

pytest.importorskip("phe")
gmpy2 = pytest.importorskip("gmpy2")

from paillier_support import committee, make_session, primes  # noqa: E402

from secagg import crypto  # noqa: E402
from secagg.exceptions import (  # noqa: E402
    DecryptionRefused,
    InvalidInputError,
    MalformedMessageError,
    NotEnoughSharesError,
)
from secagg.paillier import (  # noqa: E402
    CommitteeMember,
    DecryptionShare,
    ThresholdPublicKey,
    deal,
    deal_from_primes,
)
from secagg.paillier.threshold import combine_plaintexts, lagrange_at_zero  # noqa: E402

BITS = 1024


@pytest.fixture(scope="module")
def round_3_of_5():  # noqa: ANN201
    """A 3-of-5 committee on the 1024-bit test primes, a session and every member's shares."""
    tpk, shares = committee(BITS, 5, 3)
    session = make_session(tpk, clients=4, n_min=3, max_colluders=1, length=150, bits=32)
    server = session.server()
    for u in (1, 2, 4):
        server.receive(session.bundle(u))
    request = server.request()
    members = [CommitteeMember(s) for s in shares]
    answers = [
        m.decryption_share(request, params=session.params, registry=session.registry)
        for m in members
    ]
    return tpk, session, server, request, answers


def test_every_t_subset_decrypts_the_sum(round_3_of_5) -> None:  # noqa: ANN001
    """Each of the 10 three-member subsets of the 5 holders recovers the same, correct sum."""
    tpk, session, server, request, answers = round_3_of_5
    expected = session.expected([1, 2, 4]).tolist()
    layout = server.layout
    assert layout.plaintexts >= 2
    for subset in itertools.combinations(answers, 3):
        plaintexts = combine_plaintexts(tpk, {a.holder: a.shares for a in subset})
        assert layout.unpack_sum(plaintexts, 3).tolist() == expected
    combined = server.combine([a.to_bytes() for a in answers])
    assert combined.used == (1, 2, 3) and combined.excluded == {}
    assert combined.result.contributors == (1, 2, 4)
    assert combined.result.words.tolist() == expected


def test_every_subset_of_a_2_of_3_committee_decrypts() -> None:
    """A 2-of-3 committee on 512-bit primes: every pair of holders decrypts the sum."""
    tpk, shares = committee(512, 3, 2)
    session = make_session(tpk, clients=3, n_min=2, max_colluders=0)
    server = session.server()
    for u in (1, 2, 3):
        server.receive(session.bundle(u))
    request = server.request()
    answers = [
        CommitteeMember(s).decryption_share(
            request, params=session.params, registry=session.registry
        )
        for s in shares
    ]
    for pair in itertools.combinations(answers, 2):
        assert (
            server.combine(list(pair)).result.words.tolist() == session.expected([1, 2, 3]).tolist()
        )


def test_committee_round_at_2048_bits() -> None:
    """A 2-of-3 committee dealt on the 2048-bit test primes decrypts a session's sum."""
    tpk, shares = committee(2048, 3, 2)
    assert tpk.key.bits == 2048 and not tpk.key.insecure_testing
    session = make_session(tpk, clients=3, n_min=2, max_colluders=0, bits=32, length=70)
    server = session.server()
    for u in (1, 3):
        server.receive(session.bundle(u))
    request = server.request()
    answers = [
        CommitteeMember(s).decryption_share(
            request, params=session.params, registry=session.registry
        )
        for s in shares[1:]
    ]
    combined = server.combine(answers)
    assert combined.used == (2, 3)
    assert combined.result.words.tolist() == session.expected([1, 3]).tolist()


def _shifted(answer: DecryptionShare, n: int, n_square: int, shift: int) -> DecryptionShare:
    """A share set whose first share is multiplied by (1 + N)^shift: it moves the plaintext."""
    first = answer.shares[0] * gmpy2.powmod(1 + n, shift, n_square) % n_square
    return dataclasses.replace(answer, shares=(first,) + answer.shares[1:])


def test_wrong_decryption_share_is_detected_by_its_proof(round_3_of_5) -> None:  # noqa: ANN001
    """A plaintext-shifting share is named and excluded; without proofs it would go unnoticed."""
    tpk, session, server, request, answers = round_3_of_5
    pk = tpk.key
    bad = _shifted(answers[1], pk.n, pk.n_square, 1)
    expected = session.expected([1, 2, 4]).tolist()
    # Combining exactly t shares without proofs yields a wrong sum and no error.
    silent = combine_plaintexts(tpk, {a.holder: a.shares for a in (answers[0], bad, answers[2])})
    assert server.layout.unpack_sum(silent, 3).tolist() != expected
    # With proofs: holder 2 is named and excluded, the others decrypt.
    combined = server.combine([answers[0], bad, answers[2], answers[3]])
    assert set(combined.excluded) == {2} and "does not verify" in combined.excluded[2]
    assert combined.used == (1, 3, 4)
    assert combined.result.words.tolist() == expected
    # Exactly t shares with one bad: refused, naming the culprit.
    with pytest.raises(
        NotEnoughSharesError, match="2 decryption shares verify.*holder 2: its proof"
    ):
        server.combine([answers[0], bad, answers[2]])


def test_share_proof_binds_holder_and_session(round_3_of_5) -> None:  # noqa: ANN001
    """A share set relabelled with another holder index or session is excluded."""
    tpk, _, server, _, answers = round_3_of_5
    relabelled = dataclasses.replace(answers[4], holder=2)
    combined = server.combine([answers[0], relabelled, answers[2], answers[3]])
    assert set(combined.excluded) == {2}
    moved = dataclasses.replace(answers[1], session_id=bytes(32))
    assert 2 in server.combine([answers[0], moved, answers[2], answers[3]]).excluded


def test_members_apply_the_policy(round_3_of_5) -> None:  # noqa: ANN001
    """Each member refuses a lone client, the inverse attack and a second request."""
    tpk, session, _, request, _ = round_3_of_5
    _, shares = committee(BITS, 5, 3)
    member = CommitteeMember(shares[0])
    kwargs = dict(params=session.params, registry=session.registry)
    with pytest.raises(DecryptionRefused, match="lone client"):
        member.decryption_share(dataclasses.replace(request, bundles=request.bundles[:1]), **kwargs)
    # Colluder 3 claims the inverse of client 2's ciphertexts with a borrowed proof.
    n_square = tpk.key.n_square
    by_id = {b.client_id: b for b in request.bundles}
    inverse = tuple(gmpy2.invert(c, n_square) for c in by_id[2].ciphertexts)
    attack = dataclasses.replace(session.bundle(3), ciphertexts=inverse, proof=by_id[2].proof)
    attack = dataclasses.replace(
        attack, signature=crypto.ed25519_sign(session.keys[3][0], attack.signed_bytes())
    )
    bundles = (by_id[1], by_id[2], attack)
    aggregate = tuple(
        a * b * c % n_square for a, b, c in zip(*(x.ciphertexts for x in bundles), strict=True)
    )
    forged = dataclasses.replace(request, bundles=bundles, aggregate=aggregate)
    with pytest.raises(DecryptionRefused, match="client 3's proof of plaintext knowledge fails"):
        member.decryption_share(forged, **kwargs)
    member.decryption_share(request, **kwargs)
    with pytest.raises(DecryptionRefused, match="member 1 already gave shares"):
        member.decryption_share(request, **kwargs)
    restarted = CommitteeMember(shares[0], answered_sessions=member.answered_sessions)
    with pytest.raises(DecryptionRefused, match="member 1 already gave shares"):
        restarted.decryption_share(request, **kwargs)


def test_dealing_rules() -> None:
    """t must exceed w/2 and be at most w; N below 2048 bits needs the testing flag."""
    p, q = primes(512)
    with pytest.raises(InvalidInputError, match="t must exceed w / 2"):
        deal_from_primes(p, q, holders=4, threshold=2, insecure_testing=True)
    with pytest.raises(InvalidInputError, match="at most w = 3"):
        deal_from_primes(p, q, holders=3, threshold=4, insecure_testing=True)
    with pytest.raises(InvalidInputError, match="at least 2048"):
        deal_from_primes(p, q, holders=3, threshold=2)
    tpk, shares = deal(512, holders=3, threshold=2, insecure_testing=True)
    assert tpk.key.bits == 512 and [s.index for s in shares] == [1, 2, 3]
    delta = tpk.delta
    for s in shares:
        expected = gmpy2.powmod(tpk.v, s.proof_exponent, tpk.key.n_square)
        assert tpk.verification_keys[s.index - 1] == expected
        assert delta == 6


def test_lagrange_coefficients_are_integers_that_interpolate() -> None:
    """Delta-scaled Lagrange coefficients at 0 reproduce Delta * f(0) for a random polynomial."""
    delta = 120  # 5!
    coefficients = [17, 5, 11]
    for subset in itertools.combinations(range(1, 6), 3):
        value = sum(
            lagrange_at_zero(subset, i, delta) * sum(c * i**k for k, c in enumerate(coefficients))
            for i in subset
        )
        assert value == delta * coefficients[0]


def test_threshold_key_encoding_and_secrecy(round_3_of_5) -> None:  # noqa: ANN001
    """The committee key round-trips strictly; key shares refuse pickling and hide s_i."""
    tpk = round_3_of_5[0]
    data = tpk.to_bytes()
    assert ThresholdPublicKey.from_bytes(data, insecure_testing=True) == tpk
    for bad in (data[:-1], data + b"\x00"):
        with pytest.raises(MalformedMessageError):
            ThresholdPublicKey.from_bytes(bad, insecure_testing=True)
    _, shares = committee(BITS, 5, 3)
    with pytest.raises(TypeError):
        pickle.dumps(shares[0])
    assert "index=1" in repr(shares[0])
