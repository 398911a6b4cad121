"""Abort notices carry a rule from a fixed vocabulary and a peer id, nothing else (§8).

Every refusal path of the client is driven here, in both modes, by real
clients receiving the messages a misbehaving server (or peer) would produce.
Each must leave exactly one notice whose reason is ``code`` or ``code:peer``
from :class:`~secagg.protocol.vocabulary.AbortCode`: no number derived from the
client's input, keys or shares can travel in it. The detailed sentence stays
in the client (``abort_reason``). The last tests check that the server names
the sender of bad ciphertexts in its own abort reason.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pytest
from harness import Harness, unmask_request

from secagg.protocol import messages as M
from secagg.protocol.client import Client
from secagg.protocol.config import Config
from secagg.protocol.policy import ClientPolicy
from secagg.protocol.vocabulary import AbortCode, State, parse_notice_reason

Scenario = Callable[[], tuple[Client, list[bytes], int]]


def _forward(h: Harness, u: int) -> M.Message:
    return M.decode(h.requests[u])


def _with_adverts(h: Harness, u: int, change: Callable[[list[M.Advert]], list[M.Advert]]) -> bytes:
    fwd = _forward(h, u)
    assert isinstance(fwd, M.AdvertForward)
    return M.AdvertForward(h.sid, 0, tuple(change(list(fwd.adverts)))).to_bytes()


def _with_ciphertexts(
    h: Harness, u: int, change: Callable[[list[M.CiphertextIn]], list[M.CiphertextIn]]
) -> bytes:
    fwd = _forward(h, u)
    assert isinstance(fwd, M.ShareForward)
    return M.ShareForward(h.sid, 0, tuple(change(list(fwd.ciphertexts)))).to_bytes()


def _replace_key(adverts: list[M.Advert], v: int, key: bytes) -> list[M.Advert]:
    return [a._replace(c_pk=key) if a.id == v else a for a in adverts]


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :]


def _config_request(cfg: Config, nonce: bytes = bytes(32)) -> bytes:
    return M.ConfigRequest(cfg.session_id(nonce), 0, cfg.canonical(), nonce, None).to_bytes()


def _policy_client(vector: np.ndarray, **policy: object) -> Client:
    fields: dict[str, object] = dict(
        gamma_max=0.0, min_n=3, min_t=2, min_n_min=2, registry_digest=None
    )
    fields.update(policy)
    return Client(None, 1, vector, policy=ClientPolicy(**fields))  # type: ignore[arg-type]


def _run(h: Harness, u: int, data: bytes) -> tuple[Client, list[bytes], int]:
    return h.clients[u], h.send(u, data), h.config.n


# --------------------------------------------------------------------- R0

SEMI = Config(n=5, t=3, k=4, b=16, m=6, n_min=3)


def r0_unexpected() -> tuple[Client, list[bytes], int]:
    h = Harness(5, 3)
    return _run(h, 1, M.AdvertForward(h.sid, 0, ()).to_bytes())


def r0_malformed() -> tuple[Client, list[bytes], int]:
    h = Harness(5, 3)
    return _run(h, 1, h.requests[1][:-7])


def r0_other_config() -> tuple[Client, list[bytes], int]:
    client = Client(SEMI, 1, np.zeros(6, dtype=np.uint32))
    other = dataclasses.replace(SEMI, t=4, n_min=4)
    return client, client.handle(_config_request(other)), 5


def r0_policy() -> tuple[Client, list[bytes], int]:
    client = _policy_client(np.zeros(6, dtype=np.uint32), min_n=6)
    return client, client.handle(_config_request(SEMI)), 5


def r0_policy_max_n() -> tuple[Client, list[bytes], int]:
    client = _policy_client(np.zeros(6, dtype=np.uint32), max_n=4)
    return client, client.handle(_config_request(SEMI)), 5


def r0_input_does_not_fit() -> tuple[Client, list[bytes], int]:
    # The server chose b = 16; this client's private words need 17 bits.
    secret = np.array([70001, 3, 99999, 12345, 0, 65536], dtype=np.uint32)
    client = _policy_client(secret)
    return client, client.handle(_config_request(SEMI)), 5


def r0_session_id() -> tuple[Client, list[bytes], int]:
    client = Client(SEMI, 1, np.zeros(6, dtype=np.uint32))
    req = M.ConfigRequest(b"\x07" * 32, 0, SEMI.canonical(), bytes(32), None)
    return client, client.handle(req.to_bytes()), 5


def r0_config_signature() -> tuple[Client, list[bytes], int]:
    h = Harness(5, 3, mode="active")
    req = _forward(h, 1)
    assert isinstance(req, M.ConfigRequest) and req.signature is not None
    return _run(h, 1, dataclasses.replace(req, signature=_flip(req.signature, 3)).to_bytes())


def r0_registry() -> tuple[Client, list[bytes], int]:
    h = Harness(5, 3, mode="active")
    assert h.verify_keys is not None and h.signing_keys is not None
    keys = dict(h.verify_keys)
    keys[2] = keys[3]
    client = Client(
        h.config,
        1,
        h.inputs[1],
        signing_key=h.signing_keys[1],
        verify_keys=keys,
        authority_vk=h.authority_vk,
    )
    return client, client.handle(h.requests[1]), 5


# --------------------------------------------------------------------- R1


def r1_not_neighbours() -> tuple[Client, list[bytes], int]:
    h = Harness(8, 2, k=4, n_min=2)
    h.until("R1")
    nbrs = set(h.server.neighbours(1))
    stranger = min(set(range(2, 9)) - nbrs)
    fwd = _forward(h, 1)
    assert isinstance(fwd, M.AdvertForward)
    advert = M.decode(h.replies["R0"][stranger][0])
    assert isinstance(advert, M.KeyAdvert)
    extra = M.Advert(stranger, advert.c_pk, advert.s_pk, None)
    adverts = tuple(sorted([*fwd.adverts, extra]))
    return _run(h, 1, M.AdvertForward(h.sid, 0, adverts).to_bytes())


def r1_small_order_key() -> tuple[Client, list[bytes], int]:
    h = Harness(5, 3)
    h.until("R1")
    return _run(h, 1, _with_adverts(h, 1, lambda a: _replace_key(a, 4, bytes(32))))


def r1_repeated_key() -> tuple[Client, list[bytes], int]:
    h = Harness(5, 3)
    h.until("R1")
    key = next(a.c_pk for a in _forward(h, 1).adverts if a.id == 2)  # type: ignore[union-attr]
    return _run(h, 1, _with_adverts(h, 1, lambda a: _replace_key(a, 3, key)))


def r1_too_few_holders() -> tuple[Client, list[bytes], int]:
    h = Harness(5, 3)
    h.until("R1")
    return _run(h, 1, _with_adverts(h, 1, lambda a: [x for x in a if x.id in (1, 2)]))


def r1_own_advert() -> tuple[Client, list[bytes], int]:
    h = Harness(5, 3, mode="active")
    h.until("R1")
    return _run(h, 1, _with_adverts(h, 1, lambda a: [x for x in a if x.id != 1]))


def r1_advert_signature() -> tuple[Client, list[bytes], int]:
    h = Harness(5, 3, mode="active")
    h.until("R1")

    def spoil(adverts: list[M.Advert]) -> list[M.Advert]:
        return [
            a._replace(signature=_flip(a.signature, 0)) if a.id == 5 and a.signature else a
            for a in adverts
        ]

    return _run(h, 1, _with_adverts(h, 1, spoil))


def r1_too_few_adverts() -> tuple[Client, list[bytes], int]:
    h = Harness(5, 3, mode="active", n_min=5)
    h.until("R1")
    return _run(h, 1, _with_adverts(h, 1, lambda a: [x for x in a if x.id != 5]))


# --------------------------------------------------------------------- R2


def r2_outside_sender() -> tuple[Client, list[bytes], int]:
    h = Harness(8, 2, k=4, n_min=2)
    h.until("R2")
    nbrs = set(h.server.neighbours(1))
    stranger = min(set(range(2, 9)) - nbrs)

    def add(cts: list[M.CiphertextIn]) -> list[M.CiphertextIn]:
        fake = M.CiphertextIn(stranger, bytes(32), cts[0].ciphertext)
        return sorted([*cts, fake])

    return _run(h, 1, _with_ciphertexts(h, 1, add))


def r2_bad_ciphertext() -> tuple[Client, list[bytes], int]:
    h = Harness(5, 3)
    h.until("R2")

    def spoil(cts: list[M.CiphertextIn]) -> list[M.CiphertextIn]:
        return [c._replace(ciphertext=_flip(c.ciphertext, 20)) if c.sender == 4 else c for c in cts]

    return _run(h, 1, _with_ciphertexts(h, 1, spoil))


def r2_too_few_holders() -> tuple[Client, list[bytes], int]:
    h = Harness(5, 3)
    h.until("R2")
    return _run(h, 1, _with_ciphertexts(h, 1, lambda cts: cts[:1]))


def r2_wrong_session() -> tuple[Client, list[bytes], int]:
    h = Harness(5, 3)
    h.until("R2")
    fwd = _forward(h, 1)
    return _run(h, 1, dataclasses.replace(fwd, session_id=b"\x09" * 32).to_bytes())


def r2_abort_for_other_session() -> tuple[Client, list[bytes], int]:
    h = Harness(5, 3)
    h.until("R2")
    return _run(h, 1, M.AbortNotice(b"\x09" * 32, 0, "stop").to_bytes())


# --------------------------------------------------------------------- R3 / R4


def r4_not_a_survivor() -> tuple[Client, list[bytes], int]:
    h = Harness(5, 3)
    h.until("R4")
    return _run(h, 1, unmask_request(h, {2, 3, 4, 5}).to_bytes())


def r4_not_subset() -> tuple[Client, list[bytes], int]:
    h = Harness(5, 3)
    h.until("R2")
    h.send(1, _with_ciphertexts(h, 1, lambda cts: [c for c in cts if c.sender != 5]))
    return _run(h, 1, unmask_request(h, {1, 2, 3, 4, 5}).to_bytes())


def r4_below_n_min() -> tuple[Client, list[bytes], int]:
    h = Harness(6, 3, n_min=5)
    h.until("R4")
    return _run(h, 1, unmask_request(h, {1, 2, 3, 4}).to_bytes())


def r4_too_few_holders() -> tuple[Client, list[bytes], int]:
    h = Harness(8, 4, k=4, n_min=4)
    h.until("R4")
    nbrs = sorted(h.server.neighbours(1))
    return _run(h, 1, unmask_request(h, set(range(1, 9)) - set(nbrs[:3])).to_bytes())


def r4_too_few_neighbours() -> tuple[Client, list[bytes], int]:
    # c = 1: one surviving neighbour might be the colluder that, with b_u, unmasks y_u.
    h = Harness(10, 2, k=4, c=1, n_min=2)
    h.until("R4")
    nbrs = sorted(h.server.neighbours(1))
    return _run(h, 1, unmask_request(h, set(range(1, 11)) - set(nbrs[1:])).to_bytes())


def _active_signed(h: Harness, listed: set[int]) -> dict[int, bytes]:
    sigs = {}
    for u in sorted(listed):
        reply = h.send(u, M.SurvivorRequest(h.sid, 0, h.config.n, tuple(sorted(listed))))
        sig = M.decode(reply[0])
        assert isinstance(sig, M.SurvivorSignature)
        sigs[u] = sig.signature
    return sigs


def r4_list_changed() -> tuple[Client, list[bytes], int]:
    h = Harness(5, 3, mode="active")
    h.until("R3")
    sigs = _active_signed(h, {1, 2, 3, 4, 5})
    entries = tuple(M.SignatureEntry(u, s) for u, s in sorted(sigs.items()) if u != 5)
    return _run(h, 1, unmask_request(h, {1, 2, 3, 4}, entries).to_bytes())


def r4_bad_signature() -> tuple[Client, list[bytes], int]:
    h = Harness(5, 3, mode="active")
    h.until("R3")
    sigs = _active_signed(h, {1, 2, 3, 4, 5})
    sigs[3] = _flip(sigs[3], 5)
    entries = tuple(M.SignatureEntry(u, s) for u, s in sorted(sigs.items()))
    return _run(h, 1, unmask_request(h, {1, 2, 3, 4, 5}, entries).to_bytes())


def r4_too_few_signatures() -> tuple[Client, list[bytes], int]:
    h = Harness(5, 3, mode="active")
    h.until("R3")
    sigs = _active_signed(h, {1, 2, 3, 4, 5})
    entries = tuple(M.SignatureEntry(u, sigs[u]) for u in (1, 2))
    return _run(h, 1, unmask_request(h, {1, 2, 3, 4, 5}, entries).to_bytes())


SCENARIOS: dict[str, tuple[Scenario, AbortCode, int | None]] = {
    "R0 wrong message type": (r0_unexpected, AbortCode.UNEXPECTED_MESSAGE, None),
    "R0 truncated request": (r0_malformed, AbortCode.MALFORMED_MESSAGE, None),
    "R0 another config": (r0_other_config, AbortCode.CONFIG_REFUSED, None),
    "R0 policy minimum": (r0_policy, AbortCode.CONFIG_REFUSED, None),
    "R0 policy maximum n": (r0_policy_max_n, AbortCode.CONFIG_REFUSED, None),
    "R0 input does not fit b": (r0_input_does_not_fit, AbortCode.INPUT_INVALID, None),
    "R0 session id not derived": (r0_session_id, AbortCode.SESSION_ID_INVALID, None),
    "R0 authority signature": (r0_config_signature, AbortCode.CONFIG_SIGNATURE_INVALID, None),
    "R0 registry digest": (r0_registry, AbortCode.REGISTRY_MISMATCH, None),
    "R1 advert of a non-neighbour": (r1_not_neighbours, AbortCode.LIST_NOT_SUBSET, None),
    "R1 small-order key": (r1_small_order_key, AbortCode.ADVERT_INVALID, 4),
    "R1 repeated key": (r1_repeated_key, AbortCode.ADVERT_INVALID, 3),
    "R1 fewer than t holders": (r1_too_few_holders, AbortCode.TOO_FEW_HOLDERS, None),
    "R1 own advert missing": (r1_own_advert, AbortCode.OWN_ADVERT_CHANGED, None),
    "R1 advert signature": (r1_advert_signature, AbortCode.ADVERT_INVALID, 5),
    "R1 fewer than n_min adverts": (r1_too_few_adverts, AbortCode.TOO_FEW_SURVIVORS, None),
    "R2 ciphertext from outside": (r2_outside_sender, AbortCode.LIST_NOT_SUBSET, None),
    "R2 ciphertext tag": (r2_bad_ciphertext, AbortCode.CIPHERTEXT_INVALID, 4),
    "R2 fewer than t holders": (r2_too_few_holders, AbortCode.TOO_FEW_HOLDERS, None),
    "R2 another session id": (r2_wrong_session, AbortCode.WRONG_SESSION, None),
    "R2 abort for another session": (r2_abort_for_other_session, AbortCode.WRONG_SESSION, None),
    "R4 absent from the list": (r4_not_a_survivor, AbortCode.NOT_A_SURVIVOR, None),
    "R4 list not a subset": (r4_not_subset, AbortCode.LIST_NOT_SUBSET, None),
    "R4 fewer than n_min": (r4_below_n_min, AbortCode.TOO_FEW_SURVIVORS, None),
    "R4 fewer than t holders": (r4_too_few_holders, AbortCode.TOO_FEW_HOLDERS, None),
    "R4 fewer than c + 1 neighbours": (r4_too_few_neighbours, AbortCode.TOO_FEW_NEIGHBOURS, None),
    "R4 list not the one signed": (r4_list_changed, AbortCode.SURVIVOR_LIST_CHANGED, None),
    "R4 survivor signature": (r4_bad_signature, AbortCode.SIGNATURE_INVALID, 3),
    "R4 fewer than t signatures": (r4_too_few_signatures, AbortCode.TOO_FEW_SIGNATURES, None),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_refusal_sends_only_a_vocabulary_notice(name: str) -> None:
    """Each refusal path aborts with exactly one notice: its rule and peer, nothing else."""
    scenario, code, peer = SCENARIOS[name]
    client, replies, n = scenario()
    assert client.state is State.ABORTED, client
    assert client.abort_code is code, (client.abort_code, client.abort_reason)
    assert client.abort_reason  # the detailed sentence stays local
    assert len(replies) == 1
    notice = M.decode(replies[0])
    assert isinstance(notice, M.AbortNotice)
    assert notice.reason == (code.value if peer is None else f"{code.value}:{peer}")
    assert parse_notice_reason(notice.reason, n) == (code, peer)
    # Beyond the fixed text and a peer id in 1..n, not a single digit can travel.
    assert notice.reason.partition(":")[0].isidentifier()


def test_input_range_never_leaves_the_client() -> None:
    """A vector that does not fit b: its range stays in abort_reason, the notice names the rule."""
    client, replies, _ = r0_input_does_not_fit()
    assert "70001" in (client.abort_reason or "") or "99999" in (client.abort_reason or "")
    for reply in replies:
        assert b"9999" not in reply and b"7000" not in reply
        assert M.decode(reply).reason == "input_invalid"  # type: ignore[union-attr]


def test_every_rule_of_the_vocabulary_is_reachable() -> None:
    """The scenarios above exercise every code but the one for internal errors."""
    reached = {code for _, code, _ in SCENARIOS.values()}
    assert reached == set(AbortCode) - {AbortCode.INTERNAL_ERROR}


def test_server_names_the_sender_of_bad_ciphertexts() -> None:
    """Garbage R1 ciphertexts from v: each neighbour names v, and the server's abort says who."""
    h = Harness(5, 3)
    h.until("R1")
    bad = 2
    for u in range(1, 6):
        for reply in h.clients[u].handle(h.requests[u]):
            if u == bad:
                shares = M.decode(reply)
                assert isinstance(shares, M.EncryptedShares)
                cts = tuple(
                    c._replace(ciphertext=bytes(len(c.ciphertext))) for c in shares.ciphertexts
                )
                reply = dataclasses.replace(shares, ciphertexts=cts).to_bytes()
            h.server.receive(u, reply)
    h.requests = h.server.close_round()
    h.round()
    assert h.server.state is State.ABORTED
    for u in (1, 3, 4, 5):
        assert h.clients[u].abort_code is AbortCode.CIPHERTEXT_INVALID
        assert h.server.reports[u] == (AbortCode.CIPHERTEXT_INVALID, bad)
    reason = h.server.abort_reason or ""
    assert "fewer than n_min" in reason
    assert "client 2 (ciphertext_invalid by 1, 3, 4, 5)" in reason, reason
