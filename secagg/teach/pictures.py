"""Pictures for the teaching lessons (PNG, matplotlib from the ``demo`` extra).

Every function returns a :class:`~secagg.teach.canvas.Picture`: PNG bytes
that a notebook shows inline (``_repr_png_``) and :func:`save` writes to a
file. This module draws the Shamir and robust-recovery lessons and hands on
the masking lesson's pictures from :mod:`secagg.teach.maskpics`, so that one
import gives them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import field
from .canvas import (
    CHOSEN_COLOUR,
    SECRET_COLOUR,
    SHARE_COLOUR,
    Picture,
    colours,
    figure,
    finish,
    save,
)
from .decoding import Case, P
from .maskpics import masking_graph, masking_vectors
from .sharing import SmallSharing, candidates, guesses

__all__ = [
    "Picture",
    "masking_graph",
    "masking_vectors",
    "robust",
    "save",
    "shamir_family",
    "shamir_polynomial",
]


def shamir_polynomial(sharing: SmallSharing, holders: Sequence[int]) -> Picture:
    """The secret polynomial and its shares: over the integers, and reduced mod p.

    Left: f over the whole numbers with the secret at x = 0 and the shares'
    unreduced values. Right: the shares in GF(p), the t ``holders`` ringed,
    and the secret their Lagrange combination gives.
    """
    p, n, co = sharing.p, sharing.n, sharing.coeffs
    shares = sharing.shares
    fig = figure(11, 4.6)
    left, right = fig.subplots(1, 2)
    xs = np.linspace(0, n + 0.25, 300)
    raw = np.polynomial.polynomial.polyval(xs, co)
    left.plot(xs, raw, color=SHARE_COLOUR, linewidth=1.5, label=f"f(x) = {field.poly_text(co)}")
    ints = range(1, n + 1)
    left.scatter(
        list(ints), [field.evaluate(co, x, 10**30) for x in ints], color=SHARE_COLOUR, zorder=3
    )
    left.scatter(
        [0], [co[0]], marker="*", s=220, color=SECRET_COLOUR, zorder=4, label="secret f(0)"
    )
    for x in ints if n <= 8 else ():  # more labels would overlap
        value = field.evaluate(co, x, 10**30)
        left.annotate(
            f"{value} ≡ {shares[x]}",
            (x, value),
            textcoords="offset points",
            xytext=(-8, 9),
            ha="right",
            fontsize=8.5,
        )
    top = float(np.max(raw))
    if top / p <= 40:  # bands of height p: reducing mod p keeps the height within a band
        for k in range(1, int(top // p) + 1):
            left.axhline(k * p, color="grey", linewidth=0.5, alpha=0.4)
    left.set_title(f"f over the whole numbers; labels: f(x) ≡ f(x) mod {p}", fontsize=10)
    left.set_xticks(range(0, n + 1, max(1, (n + 9) // 10)))
    left.set_xlabel("x (holder id; the secret sits at x = 0)")
    left.set_ylabel("f(x)")
    left.legend(loc="upper left", fontsize=9)
    left.grid(alpha=0.2)

    right.scatter(
        list(ints),
        [shares[x] for x in ints],
        s=60,
        color=SHARE_COLOUR,
        zorder=3,
        label="share y = f(x) mod p",
    )
    chosen = [x for x in holders if x in shares]
    right.scatter(
        chosen,
        [shares[x] for x in chosen],
        s=260,
        facecolors="none",
        edgecolors=CHOSEN_COLOUR,
        linewidths=2,
        zorder=4,
        label=f"holders {', '.join(map(str, chosen))}: Lagrange gives f(0)",
    )
    right.scatter(
        [0], [co[0]], marker="*", s=260, color=SECRET_COLOUR, zorder=5, label=f"secret s = {co[0]}"
    )
    for x in ints:
        right.annotate(
            f"{shares[x]}", (x, shares[x]), textcoords="offset points", xytext=(9, -4), fontsize=9
        )
    right.set_xlim(-0.6, n + 0.8)
    right.set_ylim(-2, p * 1.32)
    right.set_xticks(range(0, n + 1))
    right.set_title(f"the shares in GF({p}): only whole x, values 0..{p - 1}", fontsize=10)
    right.set_xlabel("x (holder id)")
    right.set_ylabel(f"f(x) mod {p}")
    right.legend(loc="upper center", fontsize=9, ncol=1, framealpha=0.95)
    right.grid(alpha=0.2)
    fig.suptitle(f"Shamir sharing in GF({p}): t = {sharing.t} of n = {n}, secret {co[0]}")
    return finish(fig, "secret polynomial and shares")


def shamir_family(
    sharing: SmallSharing, known: Sequence[int], choices: Sequence[int] | None = None
) -> Picture:
    """For t - 1 known shares, one polynomial per candidate secret, all through those shares."""
    p, n, t = sharing.p, sharing.n, sharing.t
    picks = list(choices) if choices is not None else guesses(sharing)
    fam = candidates(sharing, known, picks)
    fig = figure(9.5, 5)
    ax = fig.subplots()
    palette = colours(len(fam))
    xs = list(range(0, n + 1))
    for (guess, coeffs), colour in zip(fam, palette, strict=True):
        ys = [field.evaluate(coeffs, x, p) for x in xs]
        tag = "  (the real secret)" if guess == sharing.secret else ""
        ax.plot(xs, ys, color=colour, linewidth=1.2, alpha=0.6)
        ax.scatter(xs[1:], ys[1:], color=colour, s=30, zorder=3)
        ax.scatter(
            [0], [guess], color=colour, s=170, marker="*", zorder=4, label=f"s' = {guess}{tag}"
        )
    ax.scatter(
        known,
        [sharing.shares[x] for x in known],
        s=230,
        color="black",
        zorder=5,
        label=f"the {t - 1} known share(s)",
    )
    for x in known:
        ax.annotate(
            f"holder {x}: {sharing.shares[x]}",
            (x, sharing.shares[x]),
            textcoords="offset points",
            xytext=(12, -16),
            fontsize=9,
            weight="bold",
            bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none", "pad": 1},
            zorder=6,
        )
    ax.set_xticks(xs)
    ax.set_xlim(-0.4, n + 0.4)
    ax.set_ylim(-4, p * 1.1)
    ax.set_xlabel("x (holder id; candidate secrets at x = 0)")
    ax.set_ylabel(f"g(x) mod {p}")
    ax.set_title(
        f"GF({p}), t = {t} of n = {n}: through t - 1 = {t - 1} share(s) passes one polynomial "
        "for every candidate secret\n(the lines only join each polynomial's values at whole x)",
        fontsize=10,
    )
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=9, title="candidate")
    ax.grid(alpha=0.2)
    return finish(fig, "t - 1 shares fit every secret")


def _signed(v: int) -> int:
    return field.signed(v, P)


def _robust_panel(ax: Any, case: Case, title: str) -> None:
    n = case.n
    xs = np.linspace(0, n + 0.3, 300)
    ax.plot(
        xs,
        sum(c * xs**i for i, c in enumerate(case.coeffs)),
        color=SHARE_COLOUR,
        linewidth=1.5,
        label=f"honest f(x) = {field.poly_text(case.coeffs)}",
    )
    if case.other is not None:
        ax.plot(
            xs,
            sum(c * xs**i for i, c in enumerate(case.other)),
            color=CHOSEN_COLOUR,
            linewidth=1.5,
            linestyle="--",
            label=f"the liars' g(x) = {field.poly_text(case.other).replace('+ -', '- ')}",
        )
    honest = [x for x in case.sent if x not in case.liars]
    ax.scatter(
        honest,
        [_signed(case.sent[x]) for x in honest],
        s=55,
        color=SHARE_COLOUR,
        zorder=3,
        label="honest shares",
    )
    ax.scatter(
        list(case.liars),
        [_signed(case.sent[x]) for x in case.liars],
        s=90,
        marker="X",
        color=SECRET_COLOUR,
        zorder=4,
        label=("lie (holder " if len(case.liars) == 1 else "lies (holders ")
        + ", ".join(map(str, case.liars))
        + ")",
    )
    for x in case.liars:
        truth = field.evaluate(case.coeffs, x, P)
        ax.plot(
            [x, x], [truth, _signed(case.sent[x])], color=SECRET_COLOUR, linestyle=":", linewidth=1
        )
    for x in case.named:
        ax.annotate(
            f"named {x}",
            (x, _signed(case.sent[x])),
            textcoords="offset points",
            xytext=(-12, -18),
            fontsize=9,
            color="black",
        )
    ax.scatter(
        [0],
        [case.secret],
        marker="*",
        s=200,
        color=SHARE_COLOUR,
        zorder=5,
        label=f"secret s = {case.secret}",
    )
    if case.decoded is None:
        verdict = "decode fails: nothing accepted"
    elif case.accepted:
        verdict = f"decode → {case.decoded}, commitment ✓: accepted"
    else:
        verdict = f"decode → {case.decoded}, commitment ✗: refused"
        ax.scatter(
            [0],
            [case.decoded],
            marker="*",
            s=200,
            color=CHOSEN_COLOUR,
            zorder=5,
            label=f"the decoder's answer g(0) = {case.decoded}",
        )
    ax.set_xticks(range(0, n + 1))
    ax.set_xlabel("x (holder id)")
    ax.set_ylabel("share value (small: nothing wraps mod p)")
    ax.set_title(f"{title}\n{verdict}", fontsize=10)
    ax.legend(loc="upper left", fontsize=8.5)
    ax.grid(alpha=0.2)


def robust(one: Case, beyond: Case) -> Picture:
    """Both robust-recovery cases side by side: a corrected liar, and liars beyond the bound."""
    fig = figure(12, 5)
    left, right = fig.subplots(1, 2, sharey=True)
    _robust_panel(left, one, f"one liar (holder {one.liars[0]}): found, named, corrected")
    _robust_panel(
        right, beyond, f"{len(beyond.liars)} liars, more than the {beyond.bound} it corrects"
    )
    lo = min(min(_signed(v) for v in c.sent.values()) for c in (one, beyond))
    hi = max(max(_signed(v) for v in c.sent.values()) for c in (one, beyond))
    left.set_ylim(min(0, lo) - 0.1 * (hi - lo), hi + 0.45 * (hi - lo))
    fig.suptitle(
        f"Reed–Solomon decoding (secagg.shamir.decode) in GF(2^61 − 1): t = {one.t}, n = {one.n}, "
        f"corrects up to ⌊(n − t)/2⌋ = {one.bound}"
    )
    return finish(fig, "robust recovery")
