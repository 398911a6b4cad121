"""What a server that deviates from the protocol can do (PROTOCOL.md §11).

semi_honest mode protects against a server that follows the protocol and
against up to c colluding holders per neighbourhood; it gives no protection
against a server that sends different clients different survivor lists. The
first tests here carry out two such attacks against real clients and
*succeed*: they document the limit. The same attacks in active mode fail,
because every client answering R4 holds t signatures on the very list it was
sent, from clients who signed no other.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from harness import Harness, count_shares, shares_in, unmask_request

from secagg import crypto, masking, packing, prg, shamir
from secagg.prg import pair_purpose
from secagg.protocol import messages as M
from secagg.protocol.vocabulary import AbortCode


def _secret(h: Harness, owner: int, kind: int, collected: dict[int, list[M.ShareEntry]]) -> bytes:
    """Rebuild one secret from the shares the attacking server collected."""
    got = {u: e.share for u, es in collected.items() for e in es if (e.id, e.kind) == (owner, kind)}
    xs = sorted(got)[: h.config.t]
    return shamir.reconstruct(xs, [got[x] for x in xs], h.config.t, 32)


def _unmask(h: Harness, v: int, b_v: bytes, pair_seeds: dict[int, bytes]) -> np.ndarray:
    """x_v from y_v, b_v and the pairwise seeds s_vw of every w in M_v."""
    masked = M.decode(h.replies["R2"][v][0])
    assert isinstance(masked, M.MaskedInput)
    y = packing.unpack(masked.packed, h.config.m, h.config.b)
    keys = [prg.derive_key(b_v, h.sid, "self")]
    signs = [-1]
    for w, s_vw in sorted(pair_seeds.items()):
        keys.append(prg.derive_key(s_vw, h.sid, pair_purpose(v, w)))
        signs.append(-1 if v < w else 1)  # y_v holds +PRG when v < w
    masking.apply_masks(y, keys, signs, h.config.b)
    return y


def _s_pk(h: Harness, u: int) -> bytes:
    advert = M.decode(h.replies["R0"][u][0])
    assert isinstance(advert, M.KeyAdvert)
    return advert.s_pk


def test_semi_honest_neighbours_declared_dropped_unmasks_a_victim() -> None:
    """semi_honest: 'w dropped' to w's holders, 'v survived' to v's holders, gives x_v.

    The server tells every client u the list U3 minus the victim's neighbours
    (u itself kept). Each holder checks only its own view: it is listed, its
    neighbours in the list all sent it shares, enough of its holders and of
    the cohort remain. So v's neighbours release shares of b_v, and the
    holders of each neighbour w release shares of s_w^SK, which gives every
    pairwise seed s_vw. This is the attack §11 says semi_honest cannot see.
    """
    h = Harness(12, 2, k=4, n_min=8, seed=b"deviating")
    h.until("R4")
    v = 3
    u3 = set(h.server.u3)
    assert u3 == set(range(1, 13))
    nbrs = set(h.server.neighbours(v))
    collected = {}
    for u in sorted(u3):
        collected[u] = shares_in(h.send(u, unmask_request(h, u3 - (nbrs - {u}))))
    counts = count_shares(collected)
    assert len(counts[(v, M.ShareKind.SELF_MASK)]) >= h.config.t
    assert all(len(counts[(w, M.ShareKind.SECRET_KEY)]) >= h.config.t for w in nbrs)
    b_v = _secret(h, v, M.ShareKind.SELF_MASK, collected)
    seeds = {}
    for w in nbrs:
        s_w = _secret(h, w, M.ShareKind.SECRET_KEY, collected)
        assert crypto.x25519_public(s_w) == _s_pk(h, w)
        seeds[w] = crypto.x25519_shared(s_w, _s_pk(h, v))
    np.testing.assert_array_equal(_unmask(h, v, b_v, seeds), h.inputs[v])


def test_active_per_client_lists_get_no_share() -> None:
    """Active: the same per-client views fail, each list carrying one signature, fewer than t.

    On the complete graph (the only active graph) the server shows each client
    a list without one other client, a different one for each. Every client
    signs what it was shown; no list gathers t signatures, so every R4
    request is refused and no share leaves any client.
    """
    n, t = 6, 4
    h = Harness(n, t, mode="active", n_min=n - 1, seed=b"deviating-active")
    h.until("R3")
    u3 = set(h.server.u3)
    shown = {u: u3 - {u % n + 1} for u in sorted(u3)}  # each list omits another client
    sigs = {}
    for u, listed in shown.items():
        reply = h.send(u, M.SurvivorRequest(h.sid, 0, n, tuple(sorted(listed))))
        sig = M.decode(reply[0])
        assert isinstance(sig, M.SurvivorSignature)
        sigs[u] = sig.signature
    for u, listed in shown.items():
        on_this = tuple(
            M.SignatureEntry(w, sigs[w]) for w in sorted(sigs) if shown[w] == listed and w in listed
        )
        replies = h.send(u, unmask_request(h, listed, on_this))
        assert shares_in(replies) == []
        assert h.clients[u].abort_code is AbortCode.TOO_FEW_SIGNATURES


CASES = [
    # (n, k, t): semi_honest configs on both graphs, with 2t > h and with 2t <= h.
    (5, 4, 3),
    (5, 4, 2),
    (6, 5, 3),
    (7, 6, 4),
    (8, 4, 2),
    (8, 4, 3),
    (10, 6, 3),
    (10, 6, 4),
]


@pytest.mark.parametrize(("n", "k", "t"), CASES)
def test_two_faced_unmask_semi_honest(n: int, k: int, t: int) -> None:
    """semi_honest: 'v survived' to some holders and 'v dropped' to others unmasks v iff 2t <= h.

    Each holder releases the one kind of share it was told to, so the server
    gets h - s shares of b_v and s of s_v^SK when s neighbours hear 'v
    dropped'. Both reach t for some s exactly when 2t <= h = k + 1; then the
    test rebuilds both secrets and recovers x_v. With 2t > h the majority
    stops this particular attack, though not the one above.
    """
    h = Harness(n, t, k=k, n_min=n - 1, seed=b"two-faced-%d-%d-%d" % (n, k, t))
    h.until("R4")
    victim = 1
    u3 = set(h.server.u3)
    nbrs = list(h.server.neighbours(victim))
    unmasked = False
    for size in range(len(nbrs) + 1):
        h_size = Harness(n, t, k=k, n_min=n - 1, seed=b"two-faced-%d-%d-%d" % (n, k, t))
        h_size.until("R4")
        told_dropped = set(nbrs[:size])
        collected = {}
        for u in sorted(u3):
            listed = u3 - {victim} if u in told_dropped else u3
            collected[u] = shares_in(h_size.send(u, unmask_request(h_size, listed)))
        counts = count_shares(collected)
        got_b = len(counts.get((victim, M.ShareKind.SELF_MASK), set()))
        got_sk = len(counts.get((victim, M.ShareKind.SECRET_KEY), set()))
        assert (got_b, got_sk) == (k + 1 - size, size)
        if min(got_b, got_sk) >= t:
            b_v = _secret(h_size, victim, M.ShareKind.SELF_MASK, collected)
            sk_v = _secret(h_size, victim, M.ShareKind.SECRET_KEY, collected)
            seeds = {w: crypto.x25519_shared(sk_v, _s_pk(h_size, w)) for w in nbrs}
            x_v = _unmask(h_size, victim, b_v, seeds)
            np.testing.assert_array_equal(x_v, h_size.inputs[victim])
            unmasked = True
    assert unmasked == (2 * t <= k + 1)


@pytest.mark.parametrize(("n", "t", "c"), [(5, 3, 0), (6, 4, 0), (6, 4, 1)])
def test_two_faced_lists_refused_in_active_mode(n: int, t: int, c: int) -> None:
    """Active: every split of the holders between 'v survived' and 'v dropped' leaves one kind < t.

    Each group signs the list it was shown and gets R4 with every signature
    the server holds on that list. 2t > h + c means two groups cannot both
    gather t signatures, so at most one kind of v's shares reaches t.
    """
    victim = 1
    others = list(range(2, n + 1))
    for size in range(len(others) + 1):
        for told_dropped in itertools.combinations(others, size):
            h = Harness(n, t, mode="active", c=c, n_min=n - 1, seed=b"two-faced-active")
            h.until("R3")
            u3 = set(h.server.u3)
            lists = {u: u3 - {victim} if u in told_dropped else u3 for u in sorted(u3)}
            sigs = {}
            for u, listed in lists.items():
                reply = h.send(u, M.SurvivorRequest(h.sid, 0, n, tuple(sorted(listed))))
                sigs[u] = M.decode(reply[0]).signature
            collected = {}
            for u, listed in lists.items():
                on_list = tuple(
                    M.SignatureEntry(w, sigs[w]) for w in sorted(sigs) if lists[w] == listed
                )
                collected[u] = shares_in(h.send(u, unmask_request(h, listed, on_list)))
            counts = count_shares(collected)
            got_b = len(counts.get((victim, M.ShareKind.SELF_MASK), set()))
            got_sk = len(counts.get((victim, M.ShareKind.SECRET_KEY), set()))
            assert min(got_b, got_sk) < t, (told_dropped, got_b, got_sk)
            if size > 1:
                break
