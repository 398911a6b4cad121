"""``python -m secagg walkthrough``: narrate one aggregation of 5 clients.

Drives the real :class:`~secagg.protocol.client.Client` and
:class:`~secagg.protocol.server.Server` objects round by round, with one client
stopping before a chosen round, and prints what happens: the keys each client
advertises (short fingerprints), who holds shares of whose secrets, the first
words of the masked vectors the server receives, what the server
reconstructs and why, and the final sum checked against the plain sum.

A teaching command: it prints throw-away secrets (share values, inputs) on
purpose, and ``--seed`` makes every key reproducible. Never use its output or
its seeded keys for anything real.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from collections.abc import Callable, Iterator
from typing import TypeVar

import numpy as np

from .. import packing
from ..protocol import messages
from ..protocol.client import Client
from ..protocol.client_rounds import R3ConsistencyCheck, R4Unmasking
from ..protocol.config import Config
from ..protocol.registry import Registry, active_setup
from ..protocol.server import Server
from ..protocol.vocabulary import ROUNDS, Mode, State

N_CLIENTS = 5
THRESHOLD = 3
BITS = 16
DIM = 8
SHOW = 4  # words of each vector printed
ROUND_TEXT = {
    "R1": "before sending its encrypted shares (R1)",
    "R2": "after sharing its secrets, before sending its masked input (R2)",
    "R3": "after sending its masked input, before the consistency check (R3)",
    "R4": "after sending its masked input, before answering the unmasking request (R4)",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the command's options on its sub-parser."""
    parser.epilog = (
        "A teaching command: it prints throw-away secrets (inputs, share values) on "
        "purpose and, with --seed, derives every key from the seed. Never reuse them."
    )
    parser.add_argument(
        "--drop-round",
        choices=sorted(ROUND_TEXT),
        default="R2",
        help="the round before whose reply the chosen client stops (default R2)",
    )
    parser.add_argument(
        "--drop-client", type=int, default=3, help=f"which client drops, 1..{N_CLIENTS} (default 3)"
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="derive inputs and keys from this number (reproducible output; demo only)",
    )
    parser.add_argument(
        "--mode",
        choices=["semi_honest", "active"],
        default="semi_honest",
        help="protocol mode (active adds signatures and the R3 consistency check)",
    )


def _seeded(seed: int) -> Callable[[int], bytes]:
    """A reproducible byte source for the demo (never for real keys)."""
    state = {"ctr": 0}

    def rng(n: int) -> bytes:
        out = bytearray()
        while len(out) < n:
            block = f"walkthrough/{seed}/{state['ctr']}".encode()
            out += hashlib.sha256(block).digest()
            state["ctr"] += 1
        return bytes(out[:n])

    return rng


_M = TypeVar("_M")


def _each(replies: dict[int, list[bytes]], kind: type[_M]) -> Iterator[tuple[int, _M]]:
    """(client, message) for every reply of type ``kind``; refusals are narrated."""
    for u, rs in sorted(replies.items()):
        for data in rs:
            msg = messages.decode(data)
            if isinstance(msg, kind):
                yield u, msg
            elif isinstance(msg, messages.AbortNotice):
                print(f"  client {u} refuses: {msg.reason}")


def _fp(data: bytes) -> str:
    """Short fingerprint of a public value: first 4 bytes of its SHA-256."""
    return hashlib.sha256(data).hexdigest()[:8]


def _words(vec: np.ndarray) -> str:
    shown = " ".join(f"{int(v):5d}" for v in vec[:SHOW])
    return f"[{shown} …]" if vec.size > SHOW else f"[{shown}]"


def _share_head(share: bytes) -> str:
    """First field value of a share (a 61-bit number), for display."""
    return f"{int.from_bytes(share[:8], 'little'):016x}"[:6]


def run(args: argparse.Namespace) -> int:
    """Print the walk-through; 0 when the sum checks out, 1 if not, 2 for bad options."""
    drop, when = args.drop_client, args.drop_round
    if not 1 <= drop <= N_CLIENTS:
        print(f"error: --drop-client {drop} is not a client id 1..{N_CLIENTS}", file=sys.stderr)
        return 2
    active = args.mode == "active"
    rng = _seeded(args.seed) if args.seed is not None else None
    draw = rng or os.urandom
    n, t = N_CLIENTS, THRESHOLD
    ids = range(1, n + 1)

    signing = verify = authority_vk = config_sig = None
    registry = Registry.generate(n, draw) if active else None
    config = Config(
        n=n,
        t=t,
        n_min=t,
        k=n - 1,
        b=BITS,
        m=DIM,
        mode=Mode.parse(args.mode),
        registry_digest=registry.digest if registry is not None else bytes(32),
    )
    nonce = draw(32)
    if registry is not None:
        setup = active_setup(config, nonce, signing_keys=registry.signing_keys, rng=draw)
        signing, verify = setup.registry.signing_keys, setup.registry.verify_keys
        authority_vk, config_sig = setup.authority_vk, setup.config_signature
    gen = np.random.default_rng(args.seed)  # demo inputs, not key material
    inputs = {u: gen.integers(0, 100, size=DIM).astype(config.dtype) for u in ids}
    clients = {
        u: Client(
            config,
            u,
            inputs[u],
            signing_key=None if signing is None else signing[u],
            verify_keys=verify,
            authority_vk=authority_vk,
            rng=rng,
        )
        for u in ids
    }
    server = Server(config, nonce=nonce, config_signature=config_sig, verify_keys=verify, rng=rng)

    print(f"Secure aggregation, {n} clients, {args.mode} mode (demo: secrets printed on purpose)")
    print(f"threshold t = {t}: any {t} of a client's {n} share holders can rebuild its secrets;")
    print(f"vectors of m = {DIM} words mod 2^{BITS}. Client {drop} stops {ROUND_TEXT[when]}.")
    if active:
        print("rounds of active mode: R0, R1, R2, R3 (the consistency check), R4")
    else:
        print("rounds of semi_honest mode: R0, R1, R2, R4 (R3, the consistency check,")
        print("belongs to active mode only: --mode active)")
    if when == "R3" and not active:
        print("(semi_honest mode has no R3: the client simply never answers R4.)")
    print()
    print("inputs x_u (first words):")
    for u in ids:
        print(f"  client {u}: {_words(inputs[u])}")

    stops = ROUNDS.index(when)
    requests = server.start()

    def exchange(rnd: str) -> dict[int, list[bytes]]:
        out = {}
        for u in sorted(requests):
            if u == drop and ROUNDS.index(rnd) >= stops:
                continue
            out[u] = clients[u].handle(requests[u])
            for reply in out[u]:
                server.receive(u, reply)
        return out

    # R0
    print("\nR0 AdvertiseKeys: each client draws two X25519 key pairs and advertises the")
    print("public halves (c for encrypting shares, s for pairwise masks):")
    replies = exchange("R0")
    for u, adv in _each(replies, messages.KeyAdvert):
        signed = " (signed with its registry key)" if active else ""
        print(f"  client {u}: c_pk {_fp(adv.c_pk)}…  s_pk {_fp(adv.s_pk)}…{signed}")
    requests = server.close_round()

    # R1
    print("\nR1 ShareKeys: each client draws a self-mask seed b_u and Shamir-splits b_u and")
    print(f"its s secret key into {n} shares (one per holder, itself included), encrypting")
    print("each neighbour's pair under the key agreed from the c keys:")
    replies = exchange("R1")
    for u, msg in _each(replies, messages.EncryptedShares):
        to = ", ".join(str(c.receiver) for c in msg.ciphertexts)
        print(f"  client {u}: commits to b_u ({_fp(msg.commitment)}…), ciphertexts for {to}")
    if drop not in replies:
        print(f"  client {drop}: silent — it never shared a secret, so nobody will mask with it")
    requests = server.close_round()
    print(f"  server: U2 = {list(server.u2)} (clients whose shares it forwards)")

    # R2
    print("\nR2 MaskedInputCollection: each client decrypts the shares it holds and sends")
    print("y_u = x_u + PRG(b_u) + Σ ±PRG(s_uv) over its neighbours v in U2 (+ if u < v):")
    replies = exchange("R2")
    print("  who holds what (start of each share's first field value, b|s^SK, by owner):")
    for u in sorted(replies):
        kept = clients[u].current
        assert isinstance(kept, (R3ConsistencyCheck, R4Unmasking))
        held, own = kept.held.shares, kept.held.own[0]  # a teaching printout of held shares
        parts = [f"{v} {_share_head(b)}|{_share_head(s)}" for v, (b, s) in sorted(held.items())]
        mine = f"own {_share_head(own)}; " if own else ""
        print(f"    client {u}: {mine}from " + ", ".join(parts))
    folded = np.zeros(DIM, dtype=np.int64)
    for u, masked in _each(replies, messages.MaskedInput):
        y = packing.unpack(masked.packed, DIM, BITS)
        folded = (folded + y.astype(np.int64)) % (1 << BITS)
        print(f"  client {u} sends y_{u} = {_words(y)}   (x_{u} was {_words(inputs[u])})")
    if drop not in replies and stops <= 2:
        print(f"  client {drop}: silent — its y never reaches the server")
    requests = server.close_round()
    if server.state is State.ABORTED:
        print(f"\nthe server aborted: {server.abort_reason}")
        return 1
    print(f"  server: U3 = {list(server.u3)}; running sum of their y's {_words(folded)}:")
    print("  pairwise masks between survivors cancel in it, but each survivor's self mask")
    print("  PRG(b_u) and the masks shared with a dropped client are still there")

    # R3 (active only)
    if active:
        print("\nR3 ConsistencyCheck: the server sends U3; each survivor checks it and signs it,")
        print("so the server cannot tell different clients different survivor sets:")
        replies = exchange("R3")
        signers = [u for u, _ in _each(replies, messages.SurvivorSignature)]
        print(f"  signed by {signers}")
        requests = server.close_round()
    else:
        print("\n(semi_honest has no R3: the clients never compare the survivor lists they")
        print("receive, so this mode trusts the server to send all of them the same one. A")
        print("server that tells different clients different lists can unmask a client; only")
        print("active mode's R3 stops that.)")

    # R4
    print("\nR4 Unmasking: for each owner v whose shares it holds, a survivor sends the share")
    print("of b_v if v is in U3 (to strip v's self mask), else the share of s_v^SK (to")
    print("rebuild the pairwise masks v's neighbours added); never both for one v:")
    replies = exchange("R4")
    for u, resp in _each(replies, messages.UnmaskResponse):
        kinds = ", ".join(
            f"{e.id}:{'b' if e.kind == messages.ShareKind.SELF_MASK else 's^SK'}"
            for e in resp.shares
        )
        print(f"  client {u} sends shares {kinds}")
    if drop not in replies and stops >= 3:
        print(f"  client {drop}: silent — the other {n - 1} holders still reach t = {t}")
    requests = server.close_round()
    for u, note in requests.items():  # abort notices, if any
        clients[u].handle(note)
    if server.result is None:
        print(f"\nthe server aborted: {server.abort_reason}")
        return 1
    res = server.result
    print("\nThe server reconstructs (Lagrange at 0 from t shares, checked against the")
    print("commitment for b and against s_pk for s^SK):")
    print(f"  self-mask seeds b of {list(res.reconstructed['self_mask'])} -> subtract PRG(b_v)")
    if res.reconstructed["pairwise"]:
        for v in res.reconstructed["pairwise"]:
            print(
                f"  s^SK of client {v} (dropped after sharing) -> recompute and remove the "
                f"pairwise masks it had with {sorted(set(res.survivors))}"
            )
    else:
        print("  no secret key: no survivor masked with a client that later dropped")
    plain = np.zeros(DIM, dtype=np.int64)
    for u in res.survivors:
        plain = (plain + inputs[u].astype(np.int64)) % (1 << BITS)
    print(f"\nunmasked sum over U3 = {sorted(res.survivors)}:")
    print(f"  server: {_words(res.sum)}")
    print(f"  plain:  {_words(plain.astype(config.dtype))}")
    ok = bool(np.array_equal(res.sum.astype(np.int64), plain))
    print(
        "match: yes — the server holds this sum and U3, and nothing else about a single\n"
        "input while fewer than t of any client's holders collude with it"
        + (
            " (docs/security.md)"
            if active
            else ",\nand, in semi_honest mode, while it follows the protocol (docs/security.md)"
        )
        if ok
        else "MISMATCH"
    )
    return 0 if ok else 1
