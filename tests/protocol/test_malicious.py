"""A malicious server against real clients, and corrupted shares at the server.

Each attack drives real :class:`~secagg.protocol.client.Client` objects with messages
the honest :class:`~secagg.protocol.server.Server` would never send, built with
``secagg.protocol.messages``. The tests pin the rules every client keeps in both modes:
it refuses (ABORTED, an abort notice and no share of anything) a request
that breaks a rule of PROTOCOL.md §8, and one R4 request never yields both
kinds of share of one client. They do not claim that semi_honest mode
resists a deviating server: it does not (§11), and
tests/protocol/test_deviating_server.py carries out the attacks that succeed there
and fail in active mode.

The last group corrupts R4 shares on their way to an honest server: within
the Reed-Solomon bound the server corrects them, names the bad holders and
outputs the exact sum; beyond it the server aborts naming the client, never
outputting a wrong sum.
"""

from __future__ import annotations

import dataclasses
import hashlib
import struct

import numpy as np
import pytest
from harness import (
    Harness,
    assert_refused,
    count_shares,
    only_aborts,
    shares_in,
    unmask_request,
)
from helpers import det_rng
from hypothesis import given, settings
from hypothesis import strategies as st

from secagg import crypto, shamir
from secagg.exceptions import InvalidInputError, NotEnoughSharesError
from secagg.protocol import messages as M
from secagg.protocol.client import Client
from secagg.protocol.config import Config
from secagg.protocol.policy import ClientPolicy
from secagg.protocol.vocabulary import State

P = shamir.P


# --------------------------------------------------------------------------
# semi_honest: asking for both share kinds of a live client


def test_both_share_kinds_of_one_live_client_single_request() -> None:
    """One R4 request yields one kind per owner: a live survivor's b share, never its s^SK share."""
    h = Harness(5, 3)
    h.until("R4")
    u3 = set(h.server.u3)
    for u in sorted(u3):
        entries = shares_in(h.send(u, unmask_request(h, u3)))
        kinds = {}
        for e in entries:
            assert e.id not in kinds, "two shares for one owner in one response"
            kinds[e.id] = e.kind
        assert kinds == {v: M.ShareKind.SELF_MASK for v in u3}


def test_short_shares_do_not_reconstruct() -> None:
    """With t - 1 shares of s^SK the server's reconstruction fails; with t it succeeds."""
    n, t, victim = 5, 3, 1
    h = Harness(n, t, seed=b"short")
    h.until("R4")
    u3 = set(h.server.u3)
    collected = {u: shares_in(h.send(u, unmask_request(h, u3 - {victim}))) for u in (2, 3)}
    sk = [(u, e.share) for u, es in collected.items() for e in es if e.id == victim]
    assert len(sk) == t - 1
    with pytest.raises(NotEnoughSharesError):
        shamir.reconstruct([x for x, _ in sk], [s for _, s in sk], t, 32)
    # A third holder told the same list would complete it: the bound is exactly t.
    more = shares_in(h.send(4, unmask_request(h, u3 - {victim})))
    sk += [(4, e.share) for e in more if e.id == victim]
    secret = shamir.reconstruct([x for x, _ in sk], [s for _, s in sk], t, 32)
    assert crypto.x25519_public(secret) == h.server.current.adverts[victim].s_pk


def test_resent_unmask_request_is_ignored() -> None:
    """A client answers R4 once; a second R4 request (any list) gets no reply at all."""
    h = Harness(5, 3)
    h.until("R4")
    u3 = set(h.server.u3)
    first = h.send(2, unmask_request(h, u3))
    assert len(shares_in(first)) == len(u3)
    assert h.clients[2].state is State.COMPLETED
    for listed in (u3, u3 - {1}, u3 - {1, 3}):
        assert h.send(2, unmask_request(h, listed)) == []
    assert h.clients[2].state is State.COMPLETED


def test_survivor_list_without_the_client_is_refused() -> None:
    """A client absent from the R4 survivor list refuses and reveals nothing."""
    h = Harness(5, 3)
    h.until("R4")
    u3 = set(h.server.u3)
    assert_refused(h, 2, h.send(2, unmask_request(h, u3 - {2})), "absent from the survivor list")


def test_survivor_list_below_n_min_or_t_is_refused() -> None:
    """Lists with fewer than n_min survivors or t of H(u) are refused with no share."""
    h = Harness(6, 3, n_min=4)
    h.until("R4")
    assert_refused(h, 1, h.send(1, unmask_request(h, {1, 2, 3})), "n_min")
    h = Harness(8, 4, k=4)  # Harary ring: H(u) has 5 members
    h.until("R4")
    u = 1
    nbrs = set(h.server.neighbours(u))
    keep = set(range(1, 9)) - set(sorted(nbrs)[:3])  # 2 of H(u) left < t = 4
    assert_refused(h, u, h.send(u, unmask_request(h, keep)), "fewer than t")


def test_hidden_r1_ciphertexts_u2_equivocation() -> None:
    """Hiding v's R1 ciphertext from u: u then refuses any list claiming v survived."""
    h = Harness(5, 3, seed=b"hidden")
    h.until("R2")
    victim, target = 1, 2
    fwd = M.decode(h.requests[target])
    assert isinstance(fwd, M.ShareForward)
    hidden = M.ShareForward(h.sid, 0, tuple(ci for ci in fwd.ciphertexts if ci.sender != victim))
    reply = h.send(target, hidden)
    masked = M.decode(reply[0])
    assert isinstance(masked, M.MaskedInput)
    nbrs = h.server.neighbours(target)
    assert victim not in {nbrs[j] for j in masked.masking_positions()}
    # The honest server rejects the masked input (M_u differs from N(u) ∩ U2) ...
    for u in (1, 3, 4, 5):
        for r in h.clients[u].handle(h.requests[u]):
            h.server.receive(u, r)
    h.server.receive(target, reply[0])
    assert h.server.dropped.get(target) == "R2"
    # ... and a malicious one listing v in U3 to u gets nothing from u.
    assert_refused(h, target, h.send(target, unmask_request(h, {1, 2, 3, 4, 5})), "U3 ∩ N(u) ⊄ M_u")


def test_hidden_r1_ciphertexts_then_v_listed_dropped() -> None:
    """If the list says v dropped, u (never given v's shares) answers nothing for v."""
    h = Harness(5, 3, seed=b"hidden2")
    h.until("R2")
    victim, target = 1, 2
    fwd = M.decode(h.requests[target])
    hidden = M.ShareForward(h.sid, 0, tuple(c for c in fwd.ciphertexts if c.sender != victim))
    h.send(target, hidden)
    entries = shares_in(h.send(target, unmask_request(h, {2, 3, 4, 5})))
    assert victim not in {e.id for e in entries}


def test_foreign_ciphertext_sender_is_refused() -> None:
    """A forwarded ciphertext from a client whose advert u never got makes u refuse in R2."""
    h = Harness(8, 4, k=4, seed=b"foreign")
    h.until("R2")
    u = 1
    non_nbr = next(v for v in range(2, 9) if v not in h.server.neighbours(u))
    fwd = M.decode(h.requests[u])
    extra = M.CiphertextIn(non_nbr, bytes(32), bytes(M.CIPHERTEXT_LEN))
    forged = M.ShareForward(h.sid, 0, tuple(sorted((*fwd.ciphertexts, extra))))
    replies = h.send(u, forged)
    assert_refused(h, u, replies, "outside the neighbours")


def test_tampered_ciphertext_is_refused() -> None:
    """A flipped bit in a forwarded share ciphertext makes the receiver abort before masking."""
    h = Harness(5, 3, seed=b"tamper")
    h.until("R2")
    fwd = M.decode(h.requests[3])
    first = fwd.ciphertexts[0]
    bad = bytearray(first.ciphertext)
    bad[20] ^= 1
    forged = M.ShareForward(
        h.sid, 0, (M.CiphertextIn(first.sender, first.commitment, bytes(bad)), *fwd.ciphertexts[1:])
    )
    replies = h.send(3, forged)
    assert h.clients[3].state is State.ABORTED
    assert all(M.decode(r).TYPE == M.MsgType.ABORT for r in replies)


def test_wrong_session_round_and_type_are_refused() -> None:
    """Another session id, an out-of-order round or a client-side type makes the client abort."""
    h = Harness(5, 3)
    h.until("R2")
    fwd = M.decode(h.requests[1])
    other = M.ShareForward(hashlib.sha256(b"other").digest(), 0, fwd.ciphertexts)
    assert_refused(h, 1, h.send(1, other), "session id")
    assert_refused(h, 2, h.send(2, unmask_request(h, {1, 2, 3, 4, 5})), "accepts only")
    assert_refused(h, 3, h.send(3, M.SurvivorSignature(h.sid, 4, bytes(64))), "accepts only")
    assert_refused(h, 4, h.send(4, b"SAGG garbage"), "")


# --------------------------------------------------------------------------
# config and policy


@pytest.mark.parametrize(
    "kwargs,why",
    [
        (dict(n=5, t=1, k=4, n_min=2), "t"),
        (dict(n=5, t=2, k=4, c=2, n_min=2), "t > c"),  # semi_honest: c holders must not rebuild
        (dict(n=5, t=3, k=4, n_min=2), "n_min"),
        (dict(n=8, t=5, k=4, n_min=5, mode="active", registry_digest=b"\1" * 32), "complete"),
        (
            dict(n=5, t=3, k=4, c=1, n_min=3, mode="active", registry_digest=b"\1" * 32),
            "2t > h + c",
        ),
        (dict(n=5, t=6, k=4, n_min=6), "h"),
    ],
)
def test_config_refuses_weak_parameters(kwargs: dict, why: str) -> None:
    """Config refuses t too low, n_min below t and active mode on a sparse graph, with a reason."""
    with pytest.raises(InvalidInputError) as exc:
        Config(b=16, m=4, **kwargs)
    assert why.split()[0] in str(exc.value), str(exc.value)


def _canonical(n, t, k, c, n_min, b, m, mode, digest=bytes(32)) -> bytes:
    fields = struct.pack(">BIIIIIBQB", 1, n, t, k, c, n_min, b, m, mode)
    return b"secagg/v1/config" + fields + digest


@pytest.mark.parametrize(
    "fields",
    [
        (5, 1, 4, 0, 1, 16, 4, 0),  # t = 1 hands every holder the secret
        (5, 2, 4, 2, 2, 16, 4, 0),  # t <= c
        (5, 3, 4, 0, 2, 16, 4, 0),  # n_min < t
        (8, 5, 4, 0, 5, 16, 4, 1),  # active on a sparse graph
        (5, 3, 4, 1, 3, 16, 4, 1),  # active with 2t <= h + c
    ],
)
def test_client_policy_refuses_weak_config_from_server(fields: tuple) -> None:
    """A policy-driven client refuses a weak config in R0 and advertises no key."""
    policy = ClientPolicy(gamma_max=0.0, min_n=3, min_t=2, min_n_min=2, registry_digest=None)
    client = Client(None, 1, np.zeros(4, dtype=np.uint32), policy=policy)
    cfg = _canonical(*fields)
    nonce = bytes(range(32))
    sid = hashlib.sha256(b"secagg/v1/session" + nonce + cfg).digest()
    sig = bytes(64) if fields[-1] == 1 else None
    replies = client.handle(M.ConfigRequest(sid, 0, cfg, nonce, sig).to_bytes())
    assert client.state is State.ABORTED
    assert only_aborts(replies)


def test_client_policy_minimums() -> None:
    """A valid config below the operator's minimum t or n_min is refused in R0."""
    cfg = Config(n=9, t=5, n_min=5, k=8, b=16, m=4)
    nonce = bytes(32)
    req = M.ConfigRequest(cfg.session_id(nonce), 0, cfg.canonical(), nonce, None).to_bytes()
    for policy, why in (
        (ClientPolicy(0.0, 3, 6, 2, None), "t"),
        (ClientPolicy(0.0, 3, 2, 7, None), "n_min"),
        (ClientPolicy(0.0, 10, 2, 2, None), "n"),
    ):
        client = Client(None, 1, np.zeros(4, dtype=np.uint32), policy=policy)
        assert only_aborts(client.handle(req))
        assert client.state is State.ABORTED and why in (client.abort_reason or "")
    ok = Client(None, 1, np.zeros(4, dtype=np.uint32), policy=ClientPolicy(0.0, 3, 2, 2, None))
    assert M.decode(ok.handle(req)[0]).TYPE == M.MsgType.KEY_ADVERT


def test_client_policy_may_require_a_majority() -> None:
    """2t > h is off by default; a policy that asks for it refuses t <= h/2 in R0."""
    cfg = Config(n=9, t=3, n_min=5, k=8, b=16, m=4)
    nonce = bytes(32)
    req = M.ConfigRequest(cfg.session_id(nonce), 0, cfg.canonical(), nonce, None).to_bytes()
    plain = Client(None, 1, np.zeros(4, dtype=np.uint32), policy=ClientPolicy(0.0, 3, 2, 2, None))
    assert M.decode(plain.handle(req)[0]).TYPE == M.MsgType.KEY_ADVERT
    strict = ClientPolicy(0.0, 3, 2, 2, None, require_majority=True)
    client = Client(None, 1, np.zeros(4, dtype=np.uint32), policy=strict)
    assert only_aborts(client.handle(req))
    assert client.state is State.ABORTED and "2t > h" in (client.abort_reason or "")


def test_client_refuses_session_id_not_derived_from_config() -> None:
    """An R0 request whose session id is not SHA-256(label ‖ nonce ‖ config) is refused."""
    cfg = Config(n=5, t=3, n_min=3, k=4, b=16, m=4)
    client = Client(cfg, 1, np.zeros(4, dtype=np.uint32))
    req = M.ConfigRequest(b"\7" * 32, 0, cfg.canonical(), bytes(32), None)
    assert only_aborts(client.handle(req.to_bytes()))
    assert client.state is State.ABORTED and "session id" in (client.abort_reason or "")


def test_client_refuses_other_config_than_its_own() -> None:
    """A client built for one config refuses an R0 request carrying another."""
    cfg = Config(n=5, t=3, n_min=3, k=4, b=16, m=4)
    other = Config(n=5, t=4, n_min=4, k=4, b=16, m=4)
    client = Client(cfg, 1, np.zeros(4, dtype=np.uint32))
    nonce = bytes(32)
    req = M.ConfigRequest(other.session_id(nonce), 0, other.canonical(), nonce, None)
    client.handle(req.to_bytes())
    assert client.state is State.ABORTED


# --------------------------------------------------------------------------
# active mode


def _signatures(h: Harness) -> dict[int, bytes]:
    return {
        u: M.decode(rs[0]).signature
        for u, rs in h.replies["R3"].items()
        if rs and M.decode(rs[0]).TYPE == M.MsgType.SURVIVOR_SIGNATURE
    }


def test_active_honest_round_completes() -> None:
    """Sanity: the harness runs an honest active round to the exact sum."""
    h = Harness(5, 3, mode="active")
    while h.server.state not in (State.COMPLETED, State.ABORTED):
        h.round()
    assert h.server.result is not None
    expected = sum(h.inputs[u].astype(np.int64) for u in range(1, 6)) % (1 << 16)
    assert list(h.server.result.sum) == list(expected)


def test_active_two_faced_survivor_lists() -> None:
    """Two U3 lists to two groups: a group never has t signatures on its list, so it refuses."""
    n, t = 5, 3
    h = Harness(n, t, mode="active", seed=b"two-faced-active")
    h.until("R3")
    full = set(h.server.u3)
    group_a, group_b = [1, 2, 3], [4, 5]
    list_a, list_b = full, full - {1}
    sig: dict[int, bytes] = {}
    for group, listed in ((group_a, list_a), (group_b, list_b)):
        for u in group:
            reply = h.send(u, M.SurvivorRequest(h.sid, 0, n, tuple(sorted(listed))))
            sig[u] = M.decode(reply[0]).signature
    entries = tuple(M.SignatureEntry(u, sig[u]) for u in sorted(sig) if u in list_b)
    b_entries = tuple(M.SignatureEntry(u, sig[u]) for u in group_b)
    # Group B: its own list with every survivor's signature (A's do not verify on it) ...
    assert_refused(h, 4, h.send(4, unmask_request(h, list_b, entries)), "does not verify")
    # ... or only the signatures that verify: 2 < t.
    assert_refused(h, 5, h.send(5, unmask_request(h, list_b, b_entries)), "fewer than t")
    # Group A answers for its list; the server gets b shares of client 1 but no s^SK share.
    a_sigs = tuple(M.SignatureEntry(u, sig[u]) for u in group_a)
    collected = {u: shares_in(h.send(u, unmask_request(h, list_a, a_sigs))) for u in group_a}
    counts = count_shares(collected)
    assert len(counts.get((1, M.ShareKind.SECRET_KEY), set())) < t


def test_active_list_differs_from_signed_one() -> None:
    """R4 carrying another list than the one the client signed is refused, even with t sigs."""
    n, t = 5, 3
    h = Harness(n, t, mode="active", seed=b"differ")
    h.until("R3")
    full = set(h.server.u3)
    sigs = {}
    for u in (1, 2, 3):
        req = M.SurvivorRequest(h.sid, 0, n, tuple(sorted(full - {5})))
        sigs[u] = M.decode(h.send(u, req)[0]).signature
    req4 = M.decode(h.send(4, M.SurvivorRequest(h.sid, 0, n, tuple(sorted(full))))[0])
    assert req4.TYPE == M.MsgType.SURVIVOR_SIGNATURE
    entries = tuple(M.SignatureEntry(u, s) for u, s in sorted(sigs.items()))
    assert_refused(h, 4, h.send(4, unmask_request(h, full - {5}, entries)), "not the one")


def test_active_resent_r3_is_refused() -> None:
    """A second survivor request (same or other list) makes the client abort: one signature only."""
    for second in ("same", "other"):
        h = Harness(5, 3, mode="active")
        h.until("R3")
        full = tuple(sorted(h.server.u3))
        first = h.send(2, M.SurvivorRequest(h.sid, 0, 5, full))
        assert M.decode(first[0]).TYPE == M.MsgType.SURVIVOR_SIGNATURE
        lst = full if second == "same" else full[1:]
        replies = h.send(2, M.SurvivorRequest(h.sid, 0, 5, lst))
        assert_refused(h, 2, replies, "accepts only")
        assert not any(M.decode(r).TYPE == M.MsgType.SURVIVOR_SIGNATURE for r in replies)


def test_active_resent_r4_gets_nothing() -> None:
    """After answering R4 once, an active client ignores any further R4 request."""
    h = Harness(5, 3, mode="active")
    h.until("R4")
    req = h.requests[1]
    assert shares_in(h.send(1, req))
    assert h.send(1, req) == []


def test_active_signatures_replayed_from_session_with_same_id() -> None:
    """Survivor signatures from an earlier session with the same session id do not verify."""
    n, t = 5, 3
    keys_rng = det_rng(b"registry")
    signing = {u: crypto.ed25519_keypair(keys_rng)[0] for u in range(1, n + 1)}
    authority = crypto.ed25519_keypair(keys_rng)
    nonce = b"\x42" * 32
    old = Harness(
        n, t, mode="active", seed=b"s1", nonce=nonce, signing_keys=signing, authority=authority
    )
    old.until("R4")
    old_sigs = _signatures(old)
    new = Harness(
        n, t, mode="active", seed=b"s2", nonce=nonce, signing_keys=signing, authority=authority
    )
    assert new.sid == old.sid
    new.until("R3")
    u3 = tuple(sorted(new.server.u3))
    new.send(1, M.SurvivorRequest(new.sid, 0, n, u3))
    replayed = tuple(M.SignatureEntry(u, s) for u, s in sorted(old_sigs.items()))
    assert_refused(new, 1, new.send(1, unmask_request(new, u3, replayed)), "does not verify")


def test_active_advert_replayed_from_session_with_same_id() -> None:
    """A client's old advert (valid signature, same session id) replayed to it is refused."""
    n, t = 5, 3
    keys_rng = det_rng(b"registry2")
    signing = {u: crypto.ed25519_keypair(keys_rng)[0] for u in range(1, n + 1)}
    authority = crypto.ed25519_keypair(keys_rng)
    nonce = b"\x43" * 32
    old = Harness(
        n, t, mode="active", seed=b"a1", nonce=nonce, signing_keys=signing, authority=authority
    )
    old.until("R1")
    old_fwd = M.decode(old.requests[1])
    new = Harness(
        n, t, mode="active", seed=b"a2", nonce=nonce, signing_keys=signing, authority=authority
    )
    new.until("R1")
    fwd = M.decode(new.requests[1])
    stale = tuple(old_fwd.adverts[0] if a.id == 1 else a for a in fwd.adverts)
    assert_refused(new, 1, new.send(1, M.AdvertForward(new.sid, 0, stale)), "own advert")


def test_active_signature_from_dropped_client() -> None:
    """A signature entry from a client outside U3 makes the client refuse."""
    n, t = 6, 4
    h = Harness(n, t, mode="active", seed=b"dropped-signer")
    h.until("R3", skip={"R2": (6,)})
    u3 = tuple(sorted(h.server.u3))
    assert 6 not in u3
    sigs = {u: M.decode(h.send(u, M.SurvivorRequest(h.sid, 0, n, u3))[0]).signature for u in u3}
    # Client 6 (registered, dropped before its masked input) is added as a signer.
    forged = tuple(
        sorted([*(M.SignatureEntry(u, s) for u, s in sigs.items()), M.SignatureEntry(6, sigs[1])])
    )
    assert_refused(h, 2, h.send(2, unmask_request(h, u3, forged)), "not a survivor")


def test_active_signature_by_unregistered_key() -> None:
    """Signatures made with keys outside the registry never count towards t."""
    n, t = 5, 3
    h = Harness(n, t, mode="active", seed=b"unregistered")
    h.until("R3")
    u3 = tuple(sorted(h.server.u3))
    mine = M.decode(h.send(1, M.SurvivorRequest(h.sid, 0, n, u3))[0]).signature
    rogue_sk, _ = crypto.ed25519_keypair(det_rng(b"rogue"))
    s_msg = h.server.current.signed_message()
    forged = tuple(
        M.SignatureEntry(u, mine if u == 1 else crypto.ed25519_sign(rogue_sk, s_msg))
        for u in (1, 2, 3)
    )
    assert_refused(h, 1, h.send(1, unmask_request(h, u3, forged)), "does not verify")


def test_active_signer_id_above_n_is_malformed() -> None:
    """A signature entry for an id outside 1..n is malformed: the client refuses."""
    n, t = 5, 3
    h = Harness(n, t, mode="active", seed=b"above-n")
    h.until("R3")
    u3 = tuple(sorted(h.server.u3))
    mine = M.decode(h.send(1, M.SurvivorRequest(h.sid, 0, n, u3))[0]).signature
    forged = (M.SignatureEntry(1, mine), M.SignatureEntry(6, mine), M.SignatureEntry(7, mine))
    data = unmask_request(h, u3, forged).to_bytes()
    assert h.clients[1].handle(data)
    assert h.clients[1].state is State.ABORTED
    assert "outside" in (h.clients[1].abort_reason or "")


def test_active_unsigned_config_or_wrong_registry_is_refused() -> None:
    """Active mode: a config without the authority's signature, or another registry, is refused."""
    h = Harness(5, 3, mode="active", seed=b"cfg")
    req = M.decode(h.requests[1])
    bad_sig = dataclasses.replace(req, signature=bytes(64))
    assert only_aborts(h.send(1, bad_sig))
    assert h.clients[1].state is State.ABORTED and "signature" in h.clients[1].abort_reason
    other = dataclasses.replace(h.config, registry_digest=b"\5" * 32)
    a_sk, a_vk = crypto.ed25519_keypair(det_rng(b"auth"))
    c = Client(
        other,
        2,
        h.inputs[2],
        signing_key=h.signing_keys[2],
        verify_keys=h.verify_keys,
        authority_vk=a_vk,
    )
    sig = crypto.ed25519_sign(a_sk, crypto.config_message(h.nonce, other.canonical()))
    r = M.ConfigRequest(other.session_id(h.nonce), 0, other.canonical(), h.nonce, sig)
    assert only_aborts(c.handle(r.to_bytes()))
    assert c.state is State.ABORTED and "registry" in (c.abort_reason or "")


# --------------------------------------------------------------------------
# corrupted shares at the (honest) server


def _corrupt(data: bytes, seed: int) -> bytes:
    """Replace every share in an UnmaskResponse by another valid-looking share."""
    msg = M.decode(data)
    assert isinstance(msg, M.UnmaskResponse)
    out = []
    for e in msg.shares:
        vals = [
            (int.from_bytes(e.share[i : i + 8], "little") + seed + 1) % P for i in range(0, 40, 8)
        ]
        out.append(M.ShareEntry(e.id, e.kind, b"".join(v.to_bytes(8, "little") for v in vals)))
    return M.UnmaskResponse(msg.session_id, msg.sender, tuple(out)).to_bytes()


def _run_with_bad_holders(n: int, t: int, bad: tuple[int, ...], drop_r2: tuple[int, ...] = ()):
    h = Harness(n, t, seed=b"corrupt" + bytes(bad))
    h.until("R4", skip={"R2": drop_r2})
    for u, req in sorted(h.requests.items()):
        for r in h.clients[u].handle(req):
            h.server.receive(u, _corrupt(r, u) if u in bad else r)
    h.server.close_round()
    return h


@pytest.mark.parametrize("bad", [(), (3,), (2, 7)])
def test_corrupted_shares_within_rs_bound_are_corrected(bad: tuple[int, ...]) -> None:
    """Up to floor((h - t)/2) wrong holders: exact sum, and exactly those holders named."""
    n, t = 9, 5  # h = 9: corrects up to 2 wrong shares per secret
    h = _run_with_bad_holders(n, t, bad)
    res = h.server.result
    assert res is not None, h.server.abort_reason
    assert res.bad_holders == tuple(sorted(bad))
    expected = sum(h.inputs[u].astype(np.int64) for u in res.survivors) % (1 << 16)
    assert list(res.sum) == list(expected)


def test_corrupted_shares_with_dropout_are_corrected() -> None:
    """Wrong shares of a dropped client's s^SK are corrected too, with its masks removed."""
    h = _run_with_bad_holders(9, 5, (4,), drop_r2=(1,))
    res = h.server.result
    assert res is not None, h.server.abort_reason
    assert 1 in res.reconstructed["pairwise"] and 4 in res.bad_holders
    expected = sum(h.inputs[u].astype(np.int64) for u in res.survivors) % (1 << 16)
    assert list(res.sum) == list(expected)


@pytest.mark.parametrize("bad", [(1, 2, 3), (2, 4, 6, 8), (1, 2, 3, 4, 5)])
def test_corrupted_shares_beyond_rs_bound_abort(bad: tuple[int, ...]) -> None:
    """More wrong holders than RS can correct: the server aborts naming a client, no sum."""
    h = _run_with_bad_holders(9, 5, bad)
    assert h.server.result is None
    assert h.server.state is State.ABORTED
    assert "client " in (h.server.abort_reason or "")


def _scramble(data: bytes, salt: bytes) -> bytes:
    """Replace every share in an UnmaskResponse by pseudo-random field values."""
    msg = M.decode(data)
    assert isinstance(msg, M.UnmaskResponse)
    out = []
    for e in msg.shares:
        raw = hashlib.sha256(salt + struct.pack(">II", msg.sender, e.id)).digest()
        raw += hashlib.sha256(raw).digest()
        vals = [int.from_bytes(raw[i : i + 8], "little") % P for i in range(0, 40, 8)]
        out.append(M.ShareEntry(e.id, e.kind, b"".join(v.to_bytes(8, "little") for v in vals)))
    return M.UnmaskResponse(msg.session_id, msg.sender, tuple(out)).to_bytes()


@settings(max_examples=30, deadline=None)
@given(st.sets(st.integers(1, 9), max_size=6), st.binary(min_size=8, max_size=8))
def test_corrupted_shares_never_give_a_wrong_sum(bad: set[int], salt: bytes) -> None:
    """Any set of wrong holders: exact sum up to the RS bound (2 of 9), else abort; never wrong."""
    h = Harness(9, 5, seed=b"prop" + bytes(sorted(bad)))
    h.until("R4")
    for u, req in sorted(h.requests.items()):
        for r in h.clients[u].handle(req):
            h.server.receive(u, _scramble(r, salt) if u in bad else r)
    h.server.close_round()
    res = h.server.result
    # The server interpolates from the t = 5 lowest holder ids first and decodes
    # all 9 shares (naming every wrong holder) only when that fails its check;
    # wrong shares outside those five are then harmless and go unreported.
    first = bad & {1, 2, 3, 4, 5}
    if len(bad) <= 2 or not first:
        assert res is not None, h.server.abort_reason
        assert res.bad_holders == (tuple(sorted(bad)) if first else ())
        expected = sum(h.inputs[u].astype(np.int64) for u in res.survivors) % (1 << 16)
        assert list(res.sum) == list(expected)
    else:
        assert res is None and "client " in (h.server.abort_reason or "")
