"""Multi-server additive sharing: exact sums, formats against an independent reference,
configuration and client refusals, the combiner, the bench script and the docs.

References we did not write: plain numpy sums mod 2^b, pyca/cryptography's
X25519 and HKDF, pycryptodome's AES-GCM and AES-CTR.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from Crypto.Cipher import AES
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from helpers import det_rng
from hypothesis import given
from hypothesis import strategies as st
from multiserver_helpers import make_session, numpy_sum

from secagg import crypto, packing
from secagg.encoding import EncodedUpdate, UpdateReusedError
from secagg.exceptions import InvalidInputError, ProtocolViolationError
from secagg.multiserver import (
    MultiServerConfig,
    PartialSum,
    ReleaseRequest,
    SetSignature,
    SetStatement,
    ShareBundle,
    combine,
    run_session,
    seal,
    server,
    split_update,
)
from secagg.multiserver import params as ms_params

ROOT = Path(__file__).resolve().parents[1]


@st.composite
def sessions(draw):
    """(S, n, b, m, n_min, dropouts, lost, seed) for one local session."""
    S = draw(st.integers(2, 4))
    n = draw(st.integers(2, 6))
    b = draw(st.integers(1, 64))
    m = draw(st.integers(1, 33))
    n_min = draw(st.integers(2, n))
    ids = list(range(1, n + 1))
    dropouts = draw(st.sets(st.sampled_from(ids), max_size=n))
    lost = draw(
        st.dictionaries(
            st.sampled_from(ids), st.sets(st.integers(0, S - 1), min_size=1), max_size=2
        )
    )
    return S, n, b, m, n_min, dropouts, lost, draw(st.integers(0, 2**32 - 1))


@given(sessions())
def test_sum_is_exact_under_dropouts(case):
    """The released sum equals numpy's sum mod 2^b over exactly the clients every server got."""
    S, n, b, m, n_min, dropouts, lost, seed = case
    gen = np.random.default_rng(seed)  # test data, not secrets
    dtype = np.uint32 if b <= 32 else np.uint64
    raw = gen.integers(0, 2**64, size=(n, m), dtype=np.uint64)
    if b < 64:
        raw &= np.uint64((1 << b) - 1)
    inputs = {u: raw[u - 1].astype(dtype) for u in range(1, n + 1)}
    out = run_session(
        inputs, servers=S, b=b, n_min=n_min, dropouts=dropouts, lost=lost, rng=det_rng(seed)
    )
    reached = frozenset(u for u in inputs if u not in dropouts and u not in lost)
    if len(reached) < n_min:
        assert out.sum is None and "fewer than n_min" in out.aborted
        assert all(v.signed is None and v.partial is None for v in out.servers)
        return
    assert out.aborted is None and out.members == reached
    assert out.sum.dtype == dtype
    assert np.array_equal(out.sum.astype(np.uint64), numpy_sum(inputs, reached, b))
    for view in out.servers:
        assert view.signed == reached and view.partial is not None
        assert view.accepted == frozenset(
            u for u in inputs if u not in dropouts and view.index not in lost.get(u, ())
        )


def _reference_open(sk: bytes, pk: bytes, sealed: bytes, sid: bytes, u: int, j: int) -> bytes:
    """Open a sealed seed with pyca X25519 + HKDF and pycryptodome AES-GCM, per the docs."""
    eph = sealed[:32]
    shared = X25519PrivateKey.from_private_bytes(sk).exchange(
        X25519PublicKey.from_public_bytes(eph)
    )
    info = b"secagg/v1/ms/seal" + eph + pk
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=sid, info=info).derive(shared)
    nonce, ct, tag = sealed[32:44], sealed[44:-16], sealed[-16:]
    cipher = AES.new(key, AES.MODE_GCM, nonce=nonce)
    cipher.update(b"secagg/v1/ms/seed" + sid + struct.pack(">IB", u, j))
    return cipher.decrypt_and_verify(ct, tag)


def _reference_share(seed: bytes, sid: bytes, u: int, j: int, m: int, b: int) -> list[int]:
    """PRG share from pyca HKDF and pycryptodome AES-128-CTR, per the docs."""
    info = f"secagg/v1/ms/prg/share:{u}:{j}".encode()
    key = HKDF(algorithm=hashes.SHA256(), length=16, salt=sid, info=info).derive(seed)
    w = 4 if b <= 32 else 8
    ks = AES.new(key, AES.MODE_CTR, nonce=b"", initial_value=0).encrypt(bytes(m * w))
    return [int.from_bytes(ks[w * i : w * i + w], "little") % (1 << b) for i in range(m)]


@pytest.mark.parametrize(("S", "b"), [(2, 13), (3, 32), (4, 64)])
def test_bundles_match_independent_reference(S, b):
    """Seeds open and expand with independent code, and the S shares add up to x mod 2^b."""
    s = make_session(det_rng(f"ref{S}{b}"), S=S, b=b, m=9)
    sid, cfg, u = s.session_id, s.config, 2
    bundles = {j: ShareBundle.from_bytes(d, cfg) for j, d in s.bundles(u).items()}
    total = [0] * cfg.m
    for j in range(S - 1):
        seed = _reference_open(s.seed_sks[j], cfg.seed_keys[j], bundles[j].payload, sid, u, j)
        total = [
            a + c for a, c in zip(total, _reference_share(seed, sid, u, j, cfg.m, b), strict=True)
        ]
    corr = packing.unpack(bundles[S - 1].payload, cfg.m, b)
    total = [(a + int(c)) % (1 << b) for a, c in zip(total, corr, strict=True)]
    assert total == [int(v) for v in s.inputs[u]]
    digests = bundles[0].digests
    for j, bun in bundles.items():
        assert bun.digests == digests
        want = ms_params.part_digest(sid, u, j, bun.salt, bun.payload)
        assert want == digests[j]
    msg = b"secagg/v1/ms/sig/client" + sid + struct.pack(">IB", u, S) + b"".join(digests)
    assert crypto.ed25519_verify(cfg.registry[u], msg, bundles[0].signature)


def test_seed_parts_do_not_depend_on_the_input():
    """Seed bundles do not depend on x; the correction vectors differ by exactly x - x'."""
    s = make_session(det_rng("indep"), S=3, b=20, m=6)
    x1, x2 = s.inputs[1], s.inputs[2]
    key = s.client_keys[1]
    a = split_update(s.config, s.session_id, 1, key, x1, rng=det_rng("same"))
    c = split_update(s.config, s.session_id, 1, key, x2, rng=det_rng("same"))
    for j in (0, 1):
        pa, pc = (ShareBundle.from_bytes(d[j], s.config) for d in (a, c))
        assert (pa.payload, pa.salt) == (pc.payload, pc.salt)
    ca, cc = (packing.unpack(ShareBundle.from_bytes(d[2], s.config).payload, 6, 20) for d in (a, c))
    assert np.array_equal((ca - cc) & np.uint32(2**20 - 1), (x1 - x2) & np.uint32(2**20 - 1))


def _config(**over):
    rng = det_rng("cfg")
    base = {
        "seed_keys": (crypto.x25519_keypair(rng)[1],),
        "server_verify_keys": tuple(crypto.ed25519_keypair(rng)[1] for _ in range(2)),
        "registry": {u: crypto.ed25519_keypair(rng)[1] for u in (1, 2, 3)},
        "n_min": 2,
        "corrupt_clients": 1,
        "b": 32,
        "m": 4,
    }
    base.update(over)
    return MultiServerConfig(**base)


@pytest.mark.parametrize(
    ("over", "rule"),
    [
        ({"server_verify_keys": (b"\x01" * 32,), "seed_keys": ()}, "needs 2..255 servers"),
        ({"seed_keys": ()}, "need S - 1 = 1 seed keys"),
        ({"seed_keys": (bytes(32),)}, "small-order"),
        ({"seed_keys": (b"\xff" * 32,)}, "not canonical"),
        ({"registry": {1: b"\x01" * 32, 3: b"\x02" * 32}}, "exactly 1..n"),
        ({"n_min": 1}, "n_min must lie in 2..n"),
        ({"n_min": 4}, "n_min must lie in 2..n"),
        ({"corrupt_clients": 2}, "honest client"),
        ({"b": 65}, "b must lie in 1..64"),
        ({"m": 0}, "m must satisfy"),
    ],
)
def test_config_refuses_bad_parameters(over, rule):
    """Each invalid parameter is refused with a sentence naming its rule."""
    with pytest.raises(InvalidInputError, match=rule):
        _config(**over)


def test_session_id_binds_every_parameter():
    """Changing any parameter (or the nonce) changes the session id."""
    cfg, nonce = _config(), b"\x07" * 32
    ids = {
        cfg.session_id(nonce),
        cfg.session_id(b"\x08" * 32),
        _config(n_min=3).session_id(nonce),
        _config(corrupt_clients=0).session_id(nonce),
        _config(b=31).session_id(nonce),
        _config(m=5).session_id(nonce),
    }
    assert len(ids) == 6 and cfg.min_honest == 1


def test_client_refuses_bad_arguments():
    """A wrong signing key, vector length or word range, or a reused update, is refused."""
    s = make_session(det_rng("cli"), b=8, m=4)
    cfg, sid = s.config, s.session_id
    with pytest.raises(InvalidInputError, match="does not match its registered"):
        split_update(cfg, sid, 1, s.client_keys[2], s.inputs[1])
    with pytest.raises(InvalidInputError, match="length m = 4"):
        split_update(cfg, sid, 1, s.client_keys[1], np.zeros(5, np.uint32))
    with pytest.raises(InvalidInputError, match="words >= 2"):
        split_update(cfg, sid, 1, s.client_keys[1], np.full(4, 256, np.uint32))
    with pytest.raises(InvalidInputError, match="not a registered id"):
        split_update(cfg, sid, 9, s.client_keys[1], s.inputs[1])
    update = EncodedUpdate(s.inputs[1].copy(), 8, 1.0, 0.0)
    split_update(cfg, sid, 1, s.client_keys[1], update)
    with pytest.raises(UpdateReusedError):
        split_update(cfg, sid, 1, s.client_keys[1], update)


def test_run_session_refuses_bad_arguments():
    """Unknown clients, server indices outside 0..S-1 or ids other than 1..n are refused."""
    xs = {u: np.zeros(3, np.uint32) for u in (1, 2, 3)}
    with pytest.raises(InvalidInputError, match="unknown clients \\[4\\]"):
        run_session(xs, servers=2, b=8, n_min=2, dropouts=[4])
    with pytest.raises(InvalidInputError, match="server indices in 0..1"):
        run_session(xs, servers=2, b=8, n_min=2, lost={1: [2]})
    with pytest.raises(InvalidInputError, match="every client id 1..n"):
        run_session({2: xs[2], 3: xs[3]}, servers=2, b=8, n_min=2)


def _released(s, members):
    servers = [s.server(j) for j in range(s.config.S)]
    for u in members:
        for j, data in s.bundles(u).items():
            servers[j].receive(data)
    st_ = SetStatement(s.session_id, s.config.n, frozenset(members))
    sigs = [SetSignature.from_bytes(sv.sign(st_), s.config).signature for sv in servers]
    req = ReleaseRequest(st_, tuple(sigs))
    return [sv.release(req) for sv in servers]


def test_combiner_refuses_bad_partial_sums():
    """Missing, duplicated, forged or mismatched partial sums are refused by the combiner."""
    s = make_session(det_rng("comb"), S=2, n=4, n_min=2)
    cfg, sid = s.config, s.session_id
    parts = _released(s, [1, 2, 3])
    assert np.array_equal(
        combine(cfg, sid, parts).sum.astype(np.uint64), numpy_sum(s.inputs, [1, 2, 3], cfg.b)
    )
    with pytest.raises(InvalidInputError, match="missing: servers \\[1\\]"):
        combine(cfg, sid, parts[:1])
    with pytest.raises(ProtocolViolationError, match="sent two partial sums"):
        combine(cfg, sid, [parts[0], parts[0], parts[1]])
    forged = PartialSum.from_bytes(parts[1], cfg)
    forged = PartialSum(forged.statement, 1, forged.b, forged.m, forged.packed, bytes(64))
    with pytest.raises(ProtocolViolationError, match="not signed by server 1"):
        combine(cfg, sid, [parts[0], forged])
    other = make_session(det_rng("comb"), S=2, n=4, n_min=2)
    other_parts = _released(other, [1, 2])
    with pytest.raises(ProtocolViolationError, match="different client sets"):
        combine(cfg, sid, [parts[0], other_parts[1]])


def test_docs_name_every_label():
    """docs/multiserver.md names every domain-separation label the code uses."""
    text = (ROOT / "docs" / "multiserver.md").read_text()
    labels = [v for k, v in vars(ms_params).items() if k.startswith("LABEL_")]
    labels += [seal.LABEL_SEAL, seal.LABEL_SEED, server.STATE_LABEL]
    for label in labels:
        assert label.decode() in text, label


def test_docs_example_runs():
    """The example in docs/multiserver.md runs as written and its asserts hold."""
    text = (ROOT / "docs" / "multiserver.md").read_text()
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(code, "docs/multiserver.md", "exec"), {})


def test_bench_script_prints_the_ratio():
    """bench.multiserver prints JSON lines ending with the client-time ratio."""
    cmd = [sys.executable, "-m", "bench.multiserver", "--clients", "4", "--dim", "500"]
    cmd += ["--servers", "2", "--neighbors", "3", "--threshold", "3", "--repeat", "1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert records[0]["metric"] == "machine" and records[0]["cpu"]
    assert {r["metric"] for r in records} >= {"masking_client", "multiserver_server"}
    assert records[-1]["metric"] == "multiserver_over_masking_client"
    assert records[-1]["value"] > 0
