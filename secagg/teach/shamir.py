"""``python -m secagg teach shamir`` (also ``python -m secagg shamir``): threshold recovery.

Part 1 shares a number in a small field (GF(97) by default) and writes out
every step: the polynomial, each share, the Lagrange coefficients of the t
holders the user picks and their sum, and for t - 1 holders one polynomial
per candidate secret. Part 2 does the same with the library on a text, in
the real field GF(2^61 - 1), showing what its share values are. With
``--out DIR`` it also draws the polynomial with its shares and the family of
polynomials through t - 1 shares.

A teaching command: its secrets are throw-away values, printed on purpose.
Never feed it a real secret.
"""

from __future__ import annotations

import argparse
import codecs
import secrets
import sys

from .. import shamir
from ..exceptions import DecodingError, SecAggError
from . import field, pictures
from .common import out_dir, parse_ids
from .sharing import (
    MAX_HOLDERS,
    SmallSharing,
    TextSharing,
    candidates,
    chunk_value,
    fitting_share,
    guesses,
    recover_small,
    recover_text,
    share_values,
    split_small,
    split_text,
)

__all__ = ["add_arguments", "explain_real", "explain_small", "pick_decoy", "run"]

DEFAULT_DECOY = "nothing to see"
_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the command's options on its sub-parser."""
    parser.epilog = (
        "This lesson prints its secrets, every share and the reconstruction on purpose; "
        "use throw-away values, never a real secret."
    )
    parser.add_argument(
        "--secret", default="attack at dawn", help="throw-away text for part 2 (printed!)"
    )
    parser.add_argument(
        "--number", type=int, default=42, help="throw-away number for part 1, 0..p-1 (default 42)"
    )
    parser.add_argument("-t", type=int, default=3, help="threshold: shares needed (default 3)")
    parser.add_argument(
        "-n", type=int, default=5, help=f"number of holders, t..{MAX_HOLDERS} (default 5)"
    )
    parser.add_argument(
        "--prime",
        type=int,
        default=field.SMALL_PRIME,
        help=f"the small field of part 1 (default {field.SMALL_PRIME})",
    )
    parser.add_argument(
        "--holders",
        default=None,
        help="the t holders to recover from, e.g. 2,4,5 (default: last t)",
    )
    parser.add_argument(
        "--known",
        default=None,
        help="the t - 1 holders of the 'nothing from t - 1' part (default: first t - 1)",
    )
    parser.add_argument(
        "--decoy",
        default=None,
        help=f"a text that t - 1 shares and a made-up share also 'reconstruct' (default "
        f"{DEFAULT_DECOY!r} when it fits the secret's length)",
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="fix part 1's random coefficients (demo only)"
    )
    parser.add_argument("--out", default=None, help="write the pictures (PNG) into this directory")


def _sum_text(terms: list[str]) -> str:
    return " + ".join(terms)


def explain_small(sharing: SmallSharing, holders: list[int], known: list[int]) -> str:
    """Part 1 as text: the polynomial, the shares, recovery from ``holders``, t - 1 ``known``."""
    p, t, n, co = sharing.p, sharing.t, sharing.n, sharing.coeffs
    lines = [f"== 1. By hand, in GF({p}): every number is taken mod {p} (a prime) ==", ""]
    rand = ", ".join(f"a{i} = {c}" for i, c in enumerate(co[1:], start=1))
    lines += [
        f"secret s = {sharing.secret}; the other t - 1 = {t - 1} coefficients are random: {rand}",
        f"  f(x) = {field.poly_text(co)}   (mod {p}), a polynomial of degree t - 1 = {t - 1}",
        "holder x gets the share y = f(x):",
    ]
    for x, y in sharing.shares.items():
        terms = [str(co[0])] + [
            f"{c}·{x}" + (str(i).translate(_SUPERSCRIPT) if i > 1 else "")
            for i, c in enumerate(co[1:], start=1)
        ]
        raw = sum(c * x**i for i, c in enumerate(co))
        lines.append(f"  x = {x}: {_sum_text(terms)} = {raw} ≡ {y}")
    rec = recover_small(sharing, holders)
    lines += [
        "",
        f"recovery from holders {', '.join(map(str, holders))} (any t = {t} of the {n}):",
        "  Lagrange at 0: s = Σ λ_j·y_j with λ_j = Π_{m≠j} (0 - x_m) / (x_j - x_m)",
    ]
    for j, (x, lam) in enumerate(zip(rec.holders, rec.lambdas, strict=True)):
        others = [m for k, m in enumerate(rec.holders) if k != j]
        num = "·".join(f"(0-{m})" for m in others)
        den = "·".join(f"({x}-{m})" for m in others)
        num_v = 1
        den_v = 1
        for m in others:
            num_v, den_v = num_v * -m, den_v * (x - m)
        inv = field.inverse(den_v, p)
        frac = f"{num_v}/{den_v}" if den_v > 0 else f"{num_v}/({den_v})"
        if num_v < 0 or den_v < 0:
            frac += f" ≡ {num_v % p}/{den_v % p}"
        lines.append(
            f"  λ_{x} = {num} / ({den}) = {frac} = {num_v % p}·{inv} ≡ {lam}"
            f"   (1/{den_v % p} = {inv}: {den_v % p}·{inv} = {den_v % p * inv} ≡ 1)"
        )
    products = [f"{lam}·{y}" for lam, y in zip(rec.lambdas, rec.shares, strict=True)]
    total = sum(lam * y for lam, y in zip(rec.lambdas, rec.shares, strict=True))
    mark = "✓" if rec.secret == sharing.secret else "✗ (wrong!)"
    lines.append(f"  s = {_sum_text(products)} = {total} ≡ {rec.secret}  {mark}")
    fam = candidates(sharing, known, guesses(sharing))
    kn = ", ".join(f"y_{x} = {sharing.shares[x]}" for x in known)
    lines += [
        "",
        f"with only t - 1 = {t - 1} share(s) ({kn}) every secret is still possible:",
        f"  for each candidate s' there is exactly one polynomial of degree {t - 1} through",
        "  (0, s') and the known shares, so they rule out no candidate:",
    ]
    for guess, coeffs in fam:
        fits = ", ".join(f"g({x}) = {field.evaluate(coeffs, x, p)}" for x in known)
        tag = "   <- the real secret" if guess == sharing.secret else ""
        lines.append(
            f"  s' = {guess:>{len(str(p))}}: g(x) = {field.poly_text(coeffs)}; {fits}{tag}"
        )
    lines.append(
        f"  and so on for all {p} candidates, one polynomial each: every secret fits equally well."
    )
    return "\n".join(lines)


def _rot13(text: str) -> str:
    return codecs.encode(text, "rot13")


def pick_decoy(secret: bytes, decoy: str | None) -> tuple[bytes, str]:
    """The decoy to fit, of the secret's length, and a note on how it was made.

    Raises:
        SecAggError: a given decoy is longer than the secret.
    """
    if decoy is None:
        decoy = DEFAULT_DECOY
        if len(decoy.encode()) > len(secret):
            text = _rot13(secret.decode(errors="replace"))
            return text.encode()[: len(secret)].ljust(len(secret)), "(the secret in rot13)"
    raw = decoy.encode()
    if len(raw) > len(secret):
        raise SecAggError(
            f"the decoy {decoy!r} is {len(raw)} bytes, longer than the {len(secret)}-byte "
            "secret: reconstruction is told the length (Shamir hides the value, not the "
            "size), so a decoy can be at most as long as the secret."
        )
    note = "" if len(raw) == len(secret) else "(padded with spaces to the secret's length)"
    return raw.ljust(len(secret)), note


def explain_real(ts: TextSharing, holders: list[int], known: list[int], decoy: str | None) -> str:
    """Part 2 as text: the library's shares of ``ts.text`` and what each number is."""
    t, n, p = ts.t, ts.n, shamir.P
    chunks = ts.chunks
    lines = [
        "== 2. The real field, GF(2^61 - 1) (secagg.shamir, the compiled core) ==",
        "",
        f"secret {ts.text.decode(errors='replace')!r}: {len(ts.text)} bytes, cut into "
        f"{len(chunks)} chunk(s) of up to 7 bytes;",
        "each chunk, read as a little-endian number, is the constant term of its own random",
        f"polynomial of degree {t - 1}:",
    ]
    for c, chunk in enumerate(chunks):
        lines.append(
            f"  chunk {c}: {chunk.decode(errors='replace')!r:>10} = {chunk_value(chunk):,}"
        )
    lines += [
        f"holder x gets f_c(x) for every chunk c: numbers below p = {p:,},",
        "random-looking because the other coefficients are random in the whole field:",
    ]
    for x in range(1, n + 1):
        lines.append(f"  holder {x}: " + ", ".join(f"{v:,}" for v in ts.values(x)))
    got, lam = recover_text(ts, holders)
    lines += [
        "",
        f"recovery from holders {', '.join(map(str, holders))}: the same Lagrange formula mod p,",
        "  λ = " + ", ".join(f"{v:,}" for v in lam),
    ]
    for c in range(len(chunks)):
        value = sum(lj * ts.values(x)[c] for lj, x in zip(lam, holders, strict=True)) % p
        piece = got[7 * c : 7 * c + 7].decode(errors="replace")
        lines.append(f"  chunk {c}: Σ λ_j·f_{c}(x_j) mod p = {value:,} = {piece!r}")
    lines.append(f"  -> {got.decode(errors='replace')!r}")
    extra = next(x for x in range(1, n + 1) if x not in known)
    fake, note = pick_decoy(ts.text, decoy)
    known_shares = [ts.shares[x - 1] for x in known]
    lines += [
        "",
        f"t - 1 = {t - 1} share(s) (holders {', '.join(map(str, known))}) and a made-up share "
        f"for holder {extra}:",
    ]
    wild = [secrets.randbelow(p) for _ in chunks]  # a blind guess
    wild_share = b"".join(v.to_bytes(8, "little") for v in wild)
    try:
        garbage = shamir.reconstruct([*known, extra], [*known_shares, wild_share], t, len(ts.text))
        lines.append(f"  a random made-up share gives {garbage!r}: unrelated to the secret")
    except DecodingError:
        lines.append(
            "  a random made-up share gives chunk values too large for their bytes: no text at all"
        )
    fitted = fitting_share(ts, known, extra, fake)
    result = shamir.reconstruct([*known, extra], [*known_shares, fitted], t, len(ts.text))
    lines += [
        "  but the made-up share " + ", ".join(f"{v:,}" for v in share_values(fitted)),
        f"  gives {result.decode(errors='replace')!r} {note}".rstrip(),
        "  one made-up share for every text of this length: t - 1 shares fit every secret",
        "  equally well, so they say nothing about it (only its length is public).",
    ]
    return "\n".join(lines)


def _ids(value: str | None, default: list[int], what: str, n: int) -> list[int]:
    return default if value is None else parse_ids(value, what, n)


def run(args: argparse.Namespace) -> int:
    """Print the lesson (and draw it with ``--out``); 0, or 2 for bad options."""
    t, n = args.t, args.n
    try:
        holders = _ids(args.holders, list(range(n - t + 1, n + 1)), "--holders", n)
        known = _ids(args.known, list(range(1, t)), "--known", n)
        if len(holders) != t:
            raise SecAggError(
                f"--holders names {len(holders)} holder(s); recovery takes exactly t = {t} "
                "(with t - 1, see the part on t - 1 shares)."
            )
        if len(known) != t - 1:
            raise SecAggError(f"--known names {len(known)} holder(s); it takes t - 1 = {t - 1}.")
        small = split_small(args.number, t, n, args.prime, seed=args.seed)
        text = split_text(args.secret.encode(), t, n)
        pick_decoy(text.text, args.decoy)
        directory = out_dir(args.out) if args.out else None
    except SecAggError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"Shamir secret sharing: threshold t = {t} of n = {n} holders; any t shares rebuild "
        "the secret, t - 1 say nothing.\n(teaching command: its secrets are throw-away "
        "values, printed on purpose)\n"
    )
    print(explain_small(small, holders, known))
    print()
    print(explain_real(text, holders, known, args.decoy))
    if directory is not None:
        paths = [
            pictures.save(
                pictures.shamir_polynomial(small, holders), directory / "shamir_polynomial.png"
            ),
            pictures.save(pictures.shamir_family(small, known), directory / "shamir_family.png"),
        ]
        print("\npictures: " + ", ".join(str(path) for path in paths))
    return 0
