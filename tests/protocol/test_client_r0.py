"""Client R0 (AdvertiseKeys): the config, its policy, signature and registry."""

from __future__ import annotations

import dataclasses
import hashlib
import struct

import numpy as np
import pytest
from helpers import det_rng
from session_harness import (
    SEMI,
    Session,
    active_setup,
    only_for,
)

from secagg import crypto
from secagg.exceptions import InvalidInputError
from secagg.protocol import messages as M
from secagg.protocol.client import Client
from secagg.protocol.config import Config
from secagg.protocol.graph import Graph
from secagg.protocol.policy import ClientPolicy
from secagg.protocol.server import State


def _assert_refused(client: Client, reply_list: list[bytes], match: str) -> None:
    assert client.state is State.ABORTED, client
    assert client.abort_reason is not None and match in client.abort_reason, client.abort_reason
    for r in reply_list:  # an abort reveals nothing: only an abort notice goes out
        assert isinstance(M.decode(r), M.AbortNotice)


def test_refuses_malformed_request():
    """A truncated request makes the client abort, it does not raise."""
    s = Session(SEMI)
    s.run(to_client=only_for("R2", 3, lambda d: d[:-5]))
    _assert_refused(s.clients[3], s.sent[("R2", 3)], "truncated")


def test_refuses_another_config():
    """A client built for one config refuses an R0 request carrying another."""
    other = Config(n=5, t=4, n_min=4, k=4, b=16, m=6)
    s = Session(SEMI, client_config=other)
    server = s.run()
    assert server.state is State.ABORTED
    for c in s.clients.values():
        assert c.state is State.ABORTED and "another config" in c.abort_reason


def test_policy_accepts_and_refuses_configs():
    """A client without a config joins when its policy allows, and refuses otherwise."""
    ok = ClientPolicy(gamma_max=0.0, min_n=5, min_t=3, min_n_min=3, registry_digest=None)
    s = Session(SEMI, client_config=None, policy=ok)
    assert s.run().state is State.COMPLETED
    strict = ClientPolicy(gamma_max=0.0, min_n=6, min_t=3, min_n_min=3, registry_digest=None)
    s = Session(SEMI, client_config=None, policy=strict)
    assert s.run().state is State.ABORTED
    assert "policy minimum" in s.clients[1].abort_reason
    # The refusal reaches the server as an abort notice naming the rule only.
    assert s.server.drop_reasons[1] == "it aborted: config_refused"


def test_active_refuses_bad_config_signature():
    """A config whose authority signature fails is refused by every client."""
    a = active_setup()
    a2 = dataclasses.replace(a, auth_sk=crypto.ed25519_keypair(det_rng(3))[0])
    s = Session(a.config, active=a2)
    # clients still hold the real authority key
    for c in s.clients.values():
        c._authority_vk = a.auth_vk
    assert s.run().state is State.ABORTED
    assert "config authority's signature" in s.clients[1].abort_reason


def test_active_registry_mismatch_refused():
    """A client whose registry digest differs from the config's refuses it."""
    a = active_setup()
    other = dict(a.vks)
    other[1] = crypto.ed25519_public(crypto.ed25519_keypair(det_rng(8))[0])
    s = Session(a.config, active=dataclasses.replace(a, vks=other))
    assert s.run().state is State.ABORTED
    assert "registry digest" in s.clients[2].abort_reason


def test_active_client_with_policy_instead_of_config():
    """An active client built from a policy (no config) joins a signed config it allows."""
    a = active_setup()
    policy = ClientPolicy(
        gamma_max=0.1, min_n=6, min_t=5, min_n_min=5, registry_digest=a.config.registry_digest
    )
    s = Session(a.config, active=a, client_config=None, policy=policy)
    server = s.run()
    assert server.state is State.COMPLETED
    np.testing.assert_array_equal(server.result.sum, s.expected())


def test_active_client_needs_its_keys():
    """Building an active-mode client without keys is an InvalidInputError."""
    a = active_setup()
    with pytest.raises(InvalidInputError, match="active mode needs"):
        Client(a.config, 1, np.zeros(4, np.uint32))


def test_policy_client_refuses_large_n_before_allocating(monkeypatch):
    """A policy's max_n refuses a huge cohort before the graph (or anything sized by n) is built."""

    def no_graph(*args, **kwargs):
        raise AssertionError("built an n-sized graph for a refused config")

    monkeypatch.setattr(Graph, "build", no_graph)
    policy = ClientPolicy(0.0, 3, 2, 2, None, max_n=1000)
    client = Client(None, 1, np.zeros(1, dtype=np.uint32), policy=policy)
    cfg = Config(n=2**20, t=2, k=4, b=8, m=1, n_min=2)
    nonce = bytes(32)
    req = M.ConfigRequest(cfg.session_id(nonce), 0, cfg.canonical(), nonce, None)
    replies = client.handle(req.to_bytes())
    assert client.state is State.ABORTED and "above the policy maximum 1000" in client.abort_reason
    assert [M.decode(r).reason for r in replies] == ["config_refused"]
    with pytest.raises(InvalidInputError, match="max_n"):
        ClientPolicy(0.0, 3, 2, 2, None, max_n=2**20 + 1)


def test_policy_client_never_raises_on_a_config_beyond_the_wire_limit():
    """A canonical config with n = 2^32 - 1 is malformed: the client aborts, handle() returns."""
    fields = struct.pack(">BIIIIIBQB", 1, 2**32 - 1, 2, 4, 0, 2, 8, 1, 0)
    canonical = b"secagg/v1/config" + fields + bytes(32)
    nonce = bytes(32)
    sid = hashlib.sha256(b"secagg/v1/session" + nonce + canonical).digest()
    client = Client(None, 1, np.zeros(1, dtype=np.uint32), policy=ClientPolicy(0.0, 3, 2, 2, None))
    replies = client.handle(M.ConfigRequest(sid, 0, canonical, nonce, None).to_bytes())
    assert client.state is State.ABORTED
    assert [M.decode(r).reason for r in replies] == ["malformed_message"]
