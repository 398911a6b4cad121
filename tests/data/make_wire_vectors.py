"""Generate tests/data/wire_vectors.json from docs/wire-format.md alone.

This script is deliberately independent of ``secagg.protocol.messages``: it lays out
every message with ``struct`` by reading the layout tables of the wire-format
document, so a test comparing the two catches a divergence in either.
Field values are fixed pseudo-random bytes (SHA-256 of a label) so the file is
reproducible: ``python tests/data/make_wire_vectors.py > tests/data/wire_vectors.json``.
"""

from __future__ import annotations

import hashlib
import json
import struct
import sys

P = (1 << 61) - 1


def pat(label: str, n: int) -> bytes:
    """n deterministic bytes derived from a label."""
    out = b""
    i = 0
    while len(out) < n:
        out += hashlib.sha256(f"wire-vector/{label}/{i}".encode()).digest()
        i += 1
    return out[:n]


def header(mtype: int, sid: bytes, sender: int) -> bytes:
    return b"SAGG" + struct.pack(">BB", 1, mtype) + sid + struct.pack(">I", sender)


def canonical(n, t, k, c, n_min, b, m, mode, digest) -> bytes:
    return (
        b"secagg/v1/config" + struct.pack(">BIIIIIBQB", 1, n, t, k, c, n_min, b, m, mode) + digest
    )


def bitmap(positions, size) -> bytes:
    out = bytearray((size + 7) // 8)
    for j in positions:
        out[j // 8] |= 1 << (j % 8)
    return bytes(out)


def share(label: str) -> bytes:
    vals = [int.from_bytes(pat(f"{label}/{i}", 8), "little") % P for i in range(5)]
    return b"".join(v.to_bytes(8, "little") for v in vals)


def main() -> None:
    sid = pat("session", 32)
    vectors = []

    def add(name: str, mtype: int, sender: int, fields: dict, body: bytes) -> None:
        vectors.append(
            {
                "name": name,
                "type": mtype,
                "session_id": sid.hex(),
                "sender": sender,
                "fields": fields,
                "hex": (header(mtype, sid, sender) + body).hex(),
            }
        )

    # R0 request, semi_honest: n=5 t=3 k=4 c=0 n_min=3 b=16 m=5.
    cfg = canonical(5, 3, 4, 0, 3, 16, 5, 0, bytes(32))
    nonce = pat("nonce", 32)
    add(
        "config_request",
        0x01,
        0,
        {"config": cfg.hex(), "nonce": nonce.hex(), "signature": None},
        cfg + nonce + b"\x00",
    )
    cfg_a = canonical(5, 4, 4, 1, 4, 16, 5, 1, pat("registry", 32))
    sig = pat("config-sig", 64)
    add(
        "config_request_active",
        0x01,
        0,
        {"config": cfg_a.hex(), "nonce": nonce.hex(), "signature": sig.hex()},
        cfg_a + nonce + b"\x01" + sig,
    )

    c_pk, s_pk = pat("c_pk/2", 32), pat("s_pk/2", 32)
    add(
        "key_advert",
        0x02,
        2,
        {"c_pk": c_pk.hex(), "s_pk": s_pk.hex(), "signature": None},
        c_pk + s_pk + b"\x00",
    )
    asig = pat("advert-sig/2", 64)
    add(
        "key_advert_active",
        0x02,
        2,
        {"c_pk": c_pk.hex(), "s_pk": s_pk.hex(), "signature": asig.hex()},
        c_pk + s_pk + b"\x01" + asig,
    )

    adverts = [(1, pat("c_pk/1", 32), pat("s_pk/1", 32)), (4, pat("c_pk/4", 32), pat("s_pk/4", 32))]
    body = b"\x00" + struct.pack(">I", len(adverts))
    for i, c, s in adverts:
        body += struct.pack(">I", i) + c + s
    add(
        "advert_forward",
        0x03,
        0,
        {
            "adverts": [
                {"id": i, "c_pk": c.hex(), "s_pk": s.hex(), "signature": None}
                for i, c, s in adverts
            ]
        },
        body,
    )
    body = b"\x01" + struct.pack(">I", len(adverts))
    sigs = {i: pat(f"advert-sig/{i}", 64) for i, _, _ in adverts}
    for i, c, s in adverts:
        body += struct.pack(">I", i) + c + s + sigs[i]
    add(
        "advert_forward_active",
        0x03,
        0,
        {
            "adverts": [
                {"id": i, "c_pk": c.hex(), "s_pk": s.hex(), "signature": sigs[i].hex()}
                for i, c, s in adverts
            ]
        },
        body,
    )

    com = pat("commit/2", 32)
    cts = [(1, pat("ct/2->1", 108)), (3, pat("ct/2->3", 108))]
    body = com + struct.pack(">I", len(cts))
    for i, ct in cts:
        body += struct.pack(">I", i) + ct
    add(
        "encrypted_shares",
        0x04,
        2,
        {
            "commitment": com.hex(),
            "ciphertexts": [{"receiver": i, "ciphertext": ct.hex()} for i, ct in cts],
        },
        body,
    )

    fwd = [
        (1, pat("commit/1", 32), pat("ct/1->2", 108)),
        (3, pat("commit/3", 32), pat("ct/3->2", 108)),
    ]
    body = struct.pack(">I", len(fwd))
    for i, cm, ct in fwd:
        body += struct.pack(">I", i) + cm + ct
    add(
        "share_forward",
        0x05,
        0,
        {
            "ciphertexts": [
                {"sender": i, "commitment": cm.hex(), "ciphertext": ct.hex()} for i, cm, ct in fwd
            ]
        },
        body,
    )

    # Client 2 with N(2) = (1, 3, 4, 5); masking set {1, 3, 5} = positions 0, 1, 3.
    # y = [1, 2, 3] with b = 5: bits 00001 01000 11000 -> packed LSB first.
    vals, b, m = [1, 2, 3], 5, 3
    acc = 0
    for j, v in enumerate(vals):
        acc |= v << (b * j)
    packed = acc.to_bytes((m * b + 7) // 8, "little")
    bm = bitmap([0, 1, 3], 4)
    add(
        "masked_input",
        0x06,
        2,
        {"num_neighbours": 4, "mask_bitmap": bm.hex(), "b": b, "m": m, "packed": packed.hex()},
        struct.pack(">I", 4) + bm + struct.pack(">BQ", b, m) + packed,
    )

    u3 = [1, 2, 4, 5]
    bmn = bitmap([v - 1 for v in u3], 5)
    add("survivor_request", 0x07, 0, {"n": 5, "survivors": u3}, struct.pack(">I", 5) + bmn)
    ssig = pat("survivors-sig/2", 64)
    add("survivor_signature", 0x08, 2, {"signature": ssig.hex()}, ssig)

    add(
        "unmask_request",
        0x09,
        0,
        {"n": 5, "survivors": u3, "signatures": None},
        struct.pack(">I", 5) + bmn + b"\x00",
    )
    rsigs = [(1, pat("survivors-sig/1", 64)), (2, ssig), (4, pat("survivors-sig/4", 64))]
    body = struct.pack(">I", 5) + bmn + b"\x01" + struct.pack(">I", len(rsigs))
    for i, s in rsigs:
        body += struct.pack(">I", i) + s
    add(
        "unmask_request_active",
        0x09,
        0,
        {
            "n": 5,
            "survivors": u3,
            "signatures": [{"id": i, "signature": s.hex()} for i, s in rsigs],
        },
        body,
    )

    # Client 2 answers for 1 (survivor: b share), 2 itself, 3 (dropped: sk share).
    entries = [(1, 1, share("b/1@2")), (2, 1, share("b/2@2")), (3, 2, share("sk/3@2"))]
    body = struct.pack(">I", len(entries))
    for i, kind, sh in entries:
        body += struct.pack(">IB", i, kind) + sh
    add(
        "unmask_response",
        0x0A,
        2,
        {"shares": [{"id": i, "kind": kind, "share": sh.hex()} for i, kind, sh in entries]},
        body,
    )

    reason = "client 3: fewer than t = 3 holders answered"
    raw = reason.encode()
    add("abort_from_server", 0x0F, 0, {"reason": reason}, struct.pack(">H", len(raw)) + raw)

    json.dump({"format": "secagg wire format v1", "vectors": vectors}, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
