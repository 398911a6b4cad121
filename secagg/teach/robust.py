"""``python -m secagg teach robust``: one holder lies, and the decoder still recovers.

Case 1: one holder of a shared number sends a wrong share; plain Lagrange
from t holders then gives a wrong number, which the commitment check
refuses, while the library's Reed-Solomon decoder (:func:`secagg.shamir.decode`)
finds the liar, names it and recovers the secret. Case 2: more holders lie
than the decoder can correct, and the check refuses its answer. ``--out DIR``
draws both cases. The numbers come from :mod:`secagg.teach.decoding`.

A teaching command: its secret is a throw-away number, printed on purpose.
"""

from __future__ import annotations

import argparse
import sys

from ..exceptions import SecAggError
from . import field, pictures
from .common import byte_source, out_dir
from .decoding import MAX_HOLDERS, Case, P, beyond_bound, check, commitment, honest, one_liar

__all__ = ["add_arguments", "explain", "run"]


def _value(v: int) -> str:
    return str(field.signed(v, P))


def _poly(coeffs: tuple[int, ...]) -> str:
    """Like field.poly_text, for small signed coefficients ("+ -2·x" written "- 2·x")."""
    return field.poly_text(coeffs).replace("+ -", "- ")


def explain(case1: Case, case2: Case) -> str:
    """Both cases as text."""
    t, n, s = case1.t, case1.n, case1.secret
    f = case1.coeffs
    lines = [
        f"secret s = {s}, shared at threshold t = {t} among n = {n} holders in GF(2^61 - 1):",
        f"  f(x) = {field.poly_text(f)}  (small coefficients on purpose: no value wraps mod p,",
        "  so these are plain whole numbers; real splits use random ones from the whole field)",
        f"published beforehand: commitment SHA-256(s) = {commitment(s)[:16]}…  (as R1's com_u)",
        f"the decoder corrects up to floor((n - t)/2) = {case1.bound} wrong share(s)",
        "",
        f"Case 1: holder {case1.liars[0]} lies",
    ]
    lines.append(
        "  sent: "
        + ", ".join(
            f"y_{x} = {_value(y)}" + ("*" if x in case1.liars else "")
            for x, y in case1.sent.items()
        )
        + f"   (* wrong: f({case1.liars[0]}) = {field.evaluate(f, case1.liars[0], P)})"
    )
    first = sorted([case1.liars[0], *[x for x in case1.sent if x != case1.liars[0]][: t - 1]])
    lam = field.lagrange_at(first, 0, P)
    plain = sum(lj * case1.sent[x] for lj, x in zip(lam, first, strict=True)) % P
    verdict = "matches" if plain == s else "does not match: refused"
    lines += [
        f"  plain Lagrange from holders {', '.join(map(str, first))} gives "
        f"{field.signed(plain, P):,};",
        f"  the commitment check {verdict}",
        f"  secagg.shamir.decode on all {n} shares returns {case1.decoded} and names holder(s) "
        f"{list(case1.named)};",
        "  the commitment check "
        + ("matches: accepted" if case1.accepted else "does not match: refused"),
        "",
        f"Case 2: holders {', '.join(map(str, case2.liars))} lie, more than the decoder corrects",
    ]
    if case2.other is not None:
        meets = [
            x
            for x in case2.sent
            if x not in case2.liars
            and field.evaluate(case2.other, x, P) == field.evaluate(case1.coeffs, x, P)
        ]
        lines.append(
            f"  they agree on another polynomial g(x) = {_poly(case2.other)}, "
            f"which meets f at holders {meets}"
        )
    lines.append(
        "  sent: "
        + ", ".join(
            f"y_{x} = {_value(y)}" + ("*" if x in case2.liars else "")
            for x, y in case2.sent.items()
        )
    )
    if case2.decoded is None:
        lines.append(f"  secagg.shamir.decode fails: {case2.error}")
        lines.append("  nothing is accepted: the server would abort, naming the client (§9)")
    else:
        lines.append(
            f"  secagg.shamir.decode returns {case2.decoded} and names holder(s) "
            f"{list(case2.named)} (g fits {n - len(case2.named)} of {n} shares)"
        )
        lines.append(
            "  the commitment check "
            + (
                "matches (unexpected!)"
                if case2.accepted
                else f"refuses {case2.decoded}: a wrong answer is never accepted; the server "
                "aborts instead"
            )
        )
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the command's options on its sub-parser."""
    parser.epilog = "A teaching command: it prints its throw-away secret on purpose."
    parser.add_argument(
        "--number", type=int, default=42, help="throw-away secret, 0..255 (default 42)"
    )
    parser.add_argument("-t", type=int, default=3, help="threshold (default 3)")
    parser.add_argument("-n", type=int, default=5, help=f"holders, t+2..{MAX_HOLDERS} (default 5)")
    parser.add_argument(
        "--liar", type=int, default=4, help="the holder who lies in case 1 (default 4)"
    )
    parser.add_argument("--seed", type=int, default=None, help="fix the random values (demo only)")
    parser.add_argument("--out", default=None, help="write the picture (PNG) into this directory")


def run(args: argparse.Namespace) -> int:
    """Print both cases (and draw them with ``--out``); 0, or 2 for bad options."""
    try:
        check(args.number, args.t, args.n)
        rng = byte_source(args.seed, "robust")
        coeffs = honest(args.number, args.t, rng)
        case1 = one_liar(coeffs, args.n, args.liar, rng)
        case2 = beyond_bound(coeffs, args.n, args.liar)
        directory = out_dir(args.out) if args.out else None
    except SecAggError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("Robust recovery: wrong shares are corrected, or refused, never accepted.")
    print("(teaching command: its secret is a throw-away number, printed on purpose)\n")
    print(explain(case1, case2))
    if directory is not None:
        path = pictures.save(pictures.robust(case1, case2), directory / "robust_recovery.png")
        print(f"\npictures: {path}")
    return 0
