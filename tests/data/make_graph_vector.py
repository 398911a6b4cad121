"""Independent generator for graph_vector.json and config_vector.json.

Written from PROTOCOL.md §5 and §7 alone, sharing no code with the secagg
package: HKDF is spelled out with hmac, the keystream is pycryptodome's
AES-128-CTR, the encodings are struct.pack. Run from the repository root:

    .venv/bin/python tests/data/make_graph_vector.py

It rewrites both JSON files; the tests compare the package against them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
from pathlib import Path

from Crypto.Cipher import AES

HERE = Path(__file__).resolve().parent


def hkdf(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    prk = hmac.new(salt if salt else b"\x00" * 32, ikm, hashlib.sha256).digest()
    okm, prev, i = b"", b"", 1
    while len(okm) < length:
        prev = hmac.new(prk, prev + info + bytes([i]), hashlib.sha256).digest()
        okm += prev
        i += 1
    return okm[:length]


class Words:
    """u32 little-endian words of an AES-128-CTR keystream, one AES block at a time."""

    def __init__(self, key: bytes) -> None:
        self.cipher = AES.new(key, AES.MODE_CTR, nonce=b"", initial_value=0)
        self.buf = b""
        self.drawn = 0

    def next(self) -> int:
        if not self.buf:
            self.buf = self.cipher.encrypt(b"\x00" * 16)
        w, self.buf = int.from_bytes(self.buf[:4], "little"), self.buf[4:]
        self.drawn += 1
        return w


def permutation(session_id: bytes, n: int) -> tuple[list[int], int]:
    """pi of §7 and the number of rejected words."""
    words = Words(hkdf(session_id, b"", b"secagg/v1/graph", 16))
    pi = list(range(1, n + 1))
    rejected = 0
    for i in range(n - 1, 0, -1):
        bound = i + 1
        limit = 2**32 - (2**32 % bound)
        while True:
            w = words.next()
            if w < limit:
                break
            rejected += 1
        j = w % bound
        pi[i], pi[j] = pi[j], pi[i]
    return pi, rejected


def canonical(n, t, k, c, n_min, b, m, mode, digest) -> bytes:
    return (
        b"secagg/v1/config"
        + bytes([1])
        + struct.pack(">IIIII", n, t, k, c, n_min)
        + bytes([b])
        + struct.pack(">Q", m)
        + bytes([mode])
        + digest
    )


def session_id(nonce: bytes, canon: bytes) -> bytes:
    return hashlib.sha256(b"secagg/v1/session" + nonce + canon).digest()


def label(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def main() -> None:
    # --- graph: one small vector pinned in full, one large one where the
    # rejection step actually fires, pinned by a hash of pi.
    sid_small = label("secagg test vector: graph session id")
    pi_small, rej_small = permutation(sid_small, 20)
    n_large = 5000
    j = 0
    while True:
        sid_large = label(f"secagg test vector: graph session id with rejection {j}")
        pi_large, rej_large = permutation(sid_large, n_large)
        if rej_large:
            break
        j += 1
    pi_bytes = b"".join(struct.pack(">I", v) for v in pi_large)
    graph = {
        "source": "tests/data/make_graph_vector.py (hmac HKDF + pycryptodome AES-CTR)",
        "vectors": [
            {
                "session_id": sid_small.hex(),
                "n": 20,
                "pi": pi_small,
                "rejected_words": rej_small,
            },
            {
                "session_id": sid_large.hex(),
                "n": n_large,
                "pi_sha256_u32be": hashlib.sha256(pi_bytes).hexdigest(),
                "pi_first_16": pi_large[:16],
                "rejected_words": rej_large,
            },
        ],
    }
    (HERE / "graph_vector.json").write_text(json.dumps(graph, indent=1) + "\n")

    # --- configs: canonical bytes and session ids, plus one registry digest.
    n_reg = 5
    vks = {i: label(f"secagg test vector: verification key {i}") for i in range(1, n_reg + 1)}
    reg = hashlib.sha256(
        b"secagg/v1/registry" + b"".join(struct.pack(">I", i) + vks[i] for i in range(1, n_reg + 1))
    ).digest()
    nonce = label("secagg test vector: config nonce")
    cases = [
        dict(n=100, t=20, k=38, c=0, n_min=20, b=32, m=1000, mode=0, digest=bytes(32)),
        dict(n=1000, t=19, k=36, c=18, n_min=500, b=64, m=2**33, mode=0, digest=bytes(32)),
        dict(n=5, t=4, k=4, c=1, n_min=4, b=17, m=7, mode=1, digest=reg),
    ]
    configs = []
    for case in cases:
        canon = canonical(
            case["n"],
            case["t"],
            case["k"],
            case["c"],
            case["n_min"],
            case["b"],
            case["m"],
            case["mode"],
            case["digest"],
        )
        configs.append(
            {
                "n": case["n"],
                "t": case["t"],
                "k": case["k"],
                "c": case["c"],
                "n_min": case["n_min"],
                "b": case["b"],
                "m": case["m"],
                "mode": ["semi_honest", "active"][case["mode"]],
                "registry_digest": case["digest"].hex(),
                "canonical": canon.hex(),
                "nonce": nonce.hex(),
                "session_id": session_id(nonce, canon).hex(),
            }
        )
    out = {
        "source": "tests/data/make_graph_vector.py (struct.pack + hashlib)",
        "registry": {
            "n": n_reg,
            "verify_keys": {str(i): vks[i].hex() for i in vks},
            "digest": reg.hex(),
        },
        "configs": configs,
    }
    (HERE / "config_vector.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
