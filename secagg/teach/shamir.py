"""``python -m secagg shamir``: split a secret, recover it from t shares, and
show that t - 1 shares say nothing about it.

A teaching command: the secret is a throw-away text typed on the command line
and is printed on purpose. Never feed it a real secret.
"""

from __future__ import annotations

import argparse
import secrets
import sys

from .. import shamir
from ..exceptions import DecodingError, SecAggError

MAX_HOLDERS = 50  # keeps the printout readable


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the command's options on its sub-parser."""
    parser.epilog = (
        "This walk-through prints the secret, every share and the reconstruction on "
        "purpose; use a throw-away text, never a real secret."
    )
    parser.add_argument(
        "--secret", default="attack at dawn", help="throw-away text to share (printed!)"
    )
    parser.add_argument("-t", type=int, default=3, help="threshold: shares needed (>= 2)")
    parser.add_argument("-n", type=int, default=5, help=f"number of holders (t..{MAX_HOLDERS})")
    parser.add_argument(
        "--decoy",
        default="nothing to see",
        help="another text: t - 1 shares plus a suitable guess 'reconstruct' it too",
    )


def _chunk_values(share: bytes) -> list[int]:
    return [int.from_bytes(share[i : i + 8], "little") for i in range(0, len(share), 8)]


def run(args: argparse.Namespace) -> int:
    """Print the walk-through; returns 0, or 2 for bad parameters."""
    secret = args.secret.encode()
    t, n = args.t, args.n
    problem = None
    if not secret:
        problem = "--secret must not be empty"
    elif t < 2:
        problem = f"t = {t}: the threshold must be at least 2 (t = 1 hands every holder the secret)"
    elif not t <= n <= MAX_HOLDERS:
        problem = f"n = {n}: need t <= n <= {MAX_HOLDERS} (t = {t})"
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2

    p = shamir.P
    length = len(secret)
    chunks = shamir.share_size(length) // 8
    xs = list(range(1, n + 1))
    try:
        shares = shamir.split([secret], t, xs)[0]
    except SecAggError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    print(
        "Shamir secret sharing over GF(p), p = 2^61 - 1  (demo: the secret is printed on purpose)"
    )
    print(f"secret: {args.secret!r} ({length} bytes -> {chunks} chunk(s) of up to 7 bytes)")
    print(f"threshold t = {t} of n = {n} holders")
    print(
        f"each chunk is the constant term of its own random polynomial of degree "
        f"t - 1 = {t - 1};\nholder x gets the values of these polynomials at x.\n"
    )
    for x, share in zip(xs, shares, strict=True):
        values = ", ".join(f"{v:#018x}" for v in _chunk_values(share))
        print(f"  share of holder {x}: {values}")

    # Any t holders: take the last t, to show that which ones does not matter.
    chosen = xs[-t:]
    got = shamir.reconstruct(chosen, shares[-t:], t, length)
    print(f"\nrecovered from holders {chosen} (Lagrange interpolation at x = 0): {got.decode()!r}")

    # t - 1 holders plus a guessed share for one more holder.
    few = xs[: t - 1]
    extra = xs[t - 1]
    lam = shamir.lagrange_at_zero(few + [extra])
    known = [_chunk_values(s) for s in shares[: t - 1]]
    guess = [secrets.randbelow(p) for _ in range(chunks)]  # a blind guess
    guessed_share = b"".join(v.to_bytes(8, "little") for v in guess)
    print(
        f"\nwith only t - 1 = {t - 1} shares (holders {few}) and a guessed share for holder "
        f"{extra}:"
    )
    try:
        wrong = shamir.reconstruct(few + [extra], shares[: t - 1] + [guessed_share], t, length)
        print(f"  interpolation gives {wrong!r}: unrelated to the secret")
    except DecodingError:
        raw = [
            sum(lam[j] * known[j][c] for j in range(t - 1)) + lam[-1] * guess[c]
            for c in range(chunks)
        ]
        values = ", ".join(f"{v % p:#018x}" for v in raw[:3]) + (", ..." if chunks > 3 else "")
        print(f"  interpolation gives chunk values {values}:")
        print("  too large for their byte lengths, not even a candidate secret")

    # For ANY candidate secret there is a guess that makes the t - 1 shares fit it.
    decoy = ((args.decoy.encode() or b"?") + b" ") * length
    decoy = decoy[:length]  # same length as the secret
    decoy_chunks = [int.from_bytes(decoy[i : i + 7], "little") for i in range(0, length, 7)]
    inv_last = pow(lam[-1], p - 2, p)
    fitted = [
        (decoy_chunks[c] - sum(lam[j] * known[j][c] for j in range(t - 1))) * inv_last % p
        for c in range(chunks)
    ]
    fitted_share = b"".join(v.to_bytes(8, "little") for v in fitted)
    fake = shamir.reconstruct(few + [extra], shares[: t - 1] + [fitted_share], t, length)
    print(
        f"  and another guess for holder {extra} gives {fake.decode(errors='replace')!r}: "
        f"every secret fits t - 1 shares equally well,\n  so they reveal nothing about it."
    )
    return 0
