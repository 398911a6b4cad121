"""Per-operation cost of each crypto backend (pyca/cryptography, pycryptodome).

Prints one JSON line per (backend, operation) with the median time per call
over several repeats, then one line describing the machine. Run from the
repository root:

    .venv/bin/python -m bench.crypto_backend [--repeat 7] [--number 200]

The operations are the per-neighbour ones of a client round: key generation,
X25519 key agreement (with the canonical/small-order check), the channel key
(X25519 + HKDF), AES-256-GCM of one 80-byte share pair, and Ed25519 sign and
strict verify of a 100-byte message.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import timeit
from collections.abc import Callable
from importlib import metadata

from secagg import crypto

from .machine import cpu_info


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _operations(be: crypto.CryptoBackend) -> dict[str, Callable[[], object]]:
    sk, _ = be.x25519_keypair()
    _, peer = be.x25519_keypair()
    sid = os.urandom(32)
    key = be.channel_key(sk, peer, sid)
    aad = sid + bytes(8)
    share = os.urandom(80)
    ct = be.aes_gcm_encrypt(key, share, aad)
    seed, vk = be.ed25519_keypair()
    msg = os.urandom(100)
    sig = be.ed25519_sign(seed, msg)
    return {
        "x25519_keypair": be.x25519_keypair,
        "x25519_shared": lambda: be.x25519_shared(sk, peer),
        "channel_key": lambda: be.channel_key(sk, peer, sid),
        "aes_gcm_encrypt_80B": lambda: be.aes_gcm_encrypt(key, share, aad),
        "aes_gcm_decrypt_80B": lambda: be.aes_gcm_decrypt(key, ct, aad),
        "ed25519_keypair": be.ed25519_keypair,
        "ed25519_sign_100B": lambda: be.ed25519_sign(seed, msg),
        "ed25519_verify_100B": lambda: be.ed25519_verify(vk, msg, sig),
    }


def main(argv: list[str] | None = None) -> int:
    """Time every operation on every importable backend and print JSON lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="timing repeats (median kept)")
    parser.add_argument("--number", type=int, default=200, help="calls per repeat")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.number < 1:
        parser.error("--repeat and --number must be positive")
    best: dict[str, dict[str, float]] = {}
    for name in crypto.available_backends():
        be = crypto.get_backend(name)
        for op, fn in _operations(be).items():
            times = timeit.repeat(fn, repeat=args.repeat, number=args.number)
            per_call = [t / args.number for t in times]
            best.setdefault(name, {})[op] = min(per_call)
            print(
                json.dumps(
                    {
                        "bench": "crypto_backend",
                        "backend": name,
                        "op": op,
                        "us_per_op": round(statistics.median(per_call) * 1e6, 2),
                        "us_min": round(min(per_call) * 1e6, 2),
                        "repeat": args.repeat,
                        "number": args.number,
                    }
                )
            )
    if {"cryptography", "pycryptodome"} <= best.keys():
        # The figure the README and docs/crypto-backend.md quote: how much
        # faster the fast extra makes each operation (ratio of the minimums).
        ratios = {
            op: best["pycryptodome"][op] / best["cryptography"][op] for op in best["cryptography"]
        }
        print(
            json.dumps(
                {
                    "bench": "crypto_backend",
                    "speedup": {op: round(r, 1) for op, r in ratios.items()},
                    "speedup_range": [
                        round(min(ratios.values()), 1),
                        round(max(ratios.values()), 1),
                    ],
                    "basis": "pycryptodome us_min / cryptography us_min",
                }
            )
        )
    print(
        json.dumps(
            {
                "bench": "crypto_backend",
                "machine": {
                    **cpu_info(),
                    "load_avg_1min": os.getloadavg()[0],
                    "cores": os.cpu_count(),
                    "python": sys.version.split()[0],
                    "platform": platform.platform(),
                    "cryptography": _version("cryptography"),
                    "pycryptodome": _version("pycryptodome"),
                    "default_backend": crypto.backend_name(),
                },
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
