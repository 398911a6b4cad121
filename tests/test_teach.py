"""The Shamir lesson (``python -m secagg teach shamir``, also ``python -m secagg shamir``):
its small-field arithmetic, the laws it teaches, its printout and its pictures."""

from __future__ import annotations

import json
import re
from pathlib import Path

import gf_reference
import pytest
from hypothesis import given
from hypothesis import strategies as st

from secagg import shamir
from secagg.__main__ import main
from secagg.exceptions import InvalidInputError, SecAggError
from secagg.teach import field, pictures
from secagg.teach.sharing import (
    candidates,
    fitting_share,
    recover_small,
    recover_text,
    split_small,
    split_text,
)

SMALL_PRIMES = [5, 7, 11, 13, 31, 97, 101, 251]
PNG = b"\x89PNG\r\n\x1a\n"


def _naive_prime(p: int) -> bool:
    return p >= 2 and all(p % q for q in range(2, int(p**0.5) + 1))


def test_is_prime_matches_trial_division():
    """field.is_prime agrees with trial division on 0..3000 and knows 2^61 - 1 is prime."""
    assert [p for p in range(3000) if field.is_prime(p)] == [
        p for p in range(3000) if _naive_prime(p)
    ]
    assert field.is_prime(2**61 - 1) and not field.is_prime(2**61 + 1)


@given(st.lists(st.integers(1, 2**61 - 2), min_size=1, max_size=8, unique=True))
def test_lagrange_matches_the_compiled_core(xs):
    """The lesson's Lagrange coefficients at 0 equal the library's in GF(2^61 - 1)."""
    assert field.lagrange_at(xs, 0, shamir.P) == shamir.lagrange_at_zero(xs)


@given(st.sampled_from(SMALL_PRIMES), st.data())
def test_interpolate_passes_through_its_points(p, data):
    """The interpolated polynomial has len(points) coefficients and takes every y at its x."""
    xs = data.draw(st.lists(st.integers(0, p - 1), min_size=1, max_size=min(6, p), unique=True))
    ys = data.draw(st.lists(st.integers(0, p - 1), min_size=len(xs), max_size=len(xs)))
    coeffs = field.interpolate(list(zip(xs, ys, strict=True)), p)
    assert len(coeffs) == len(xs)
    assert [field.evaluate(coeffs, x, p) for x in xs] == ys


def test_evaluate_matches_the_reference_in_the_real_field():
    """field.evaluate gives the pure-Python reference's polynomial values mod 2^61 - 1."""
    coeffs = [5, 2**61 - 2, 12345678901234567, 3]
    for x in (1, 2, 77, 2**40):
        assert field.evaluate(coeffs, x, shamir.P) == gf_reference.poly_eval(coeffs, x)


@given(
    st.sampled_from([11, 13, 31, 97, 101]),
    st.integers(2, 6),
    st.data(),
)
def test_any_t_holders_recover_the_secret(p, t, data):
    """Lagrange at 0 from any t holders the user picks gives back the shared number."""
    n = data.draw(st.integers(t, min(10, p - 1)))
    secret = data.draw(st.integers(0, p - 1))
    sharing = split_small(secret, t, n, p, seed=data.draw(st.integers(0, 2**32)))
    holders = data.draw(st.permutations(range(1, n + 1)))[:t]
    rec = recover_small(sharing, holders)
    assert rec.secret == secret
    assert sum(lam * y for lam, y in zip(rec.lambdas, rec.shares, strict=True)) % p == secret


@pytest.mark.parametrize("p,t,n", [(11, 2, 4), (13, 3, 5), (31, 4, 6)])
def test_every_candidate_secret_fits_t_minus_1_shares(p, t, n):
    """For t - 1 shares, each of the p candidate secrets has exactly one polynomial of degree
    t - 1 through it and the shares: p candidates, p distinct polynomials, all fitting."""
    sharing = split_small(3, t, n, p, seed=7)
    known = list(range(2, t + 1))
    fam = candidates(sharing, known, range(p))
    assert len({coeffs for _, coeffs in fam}) == p
    for guess, coeffs in fam:
        assert len(coeffs) == t and field.evaluate(coeffs, 0, p) == guess
        assert all(field.evaluate(coeffs, x, p) == sharing.shares[x] for x in known)
    assert (sharing.secret, sharing.coeffs) in fam


def test_bad_small_parameters_are_refused():
    """A non-prime field, a secret outside 0..p-1 and the wrong number of holders are refused."""
    with pytest.raises(InvalidInputError, match="prime"):
        split_small(4, 2, 3, p=91)
    with pytest.raises(InvalidInputError, match="0..96"):
        split_small(97, 2, 3)
    sharing = split_small(4, 3, 5)
    with pytest.raises(InvalidInputError, match="exactly t = 3"):
        recover_small(sharing, [1, 2])
    with pytest.raises(InvalidInputError, match="t - 1 = 2"):
        candidates(sharing, [1, 2, 3], [0])


@given(st.binary(min_size=1, max_size=30), st.integers(2, 5), st.data())
def test_real_field_recovery_and_decoy(text, t, data):
    """With the library, any t holders rebuild the text, and for any decoy of the same length
    one made-up share makes t - 1 true shares 'reconstruct' exactly that decoy."""
    n = data.draw(st.integers(t, 7))
    ts = split_text(text, t, n)
    holders = data.draw(st.permutations(range(1, n + 1)))
    assert recover_text(ts, holders[:t])[0] == text
    decoy = data.draw(st.binary(min_size=len(text), max_size=len(text)))
    known, extra = holders[: t - 1], holders[t - 1]
    fake = fitting_share(ts, known, extra, decoy)
    shares = [ts.shares[x - 1] for x in known] + [fake]
    assert shamir.reconstruct([*known, extra], shares, t, len(text)) == decoy


def test_a_longer_decoy_is_refused_not_cut():
    """A decoy longer than the secret is refused with the reason (the old command cut it)."""
    ts = split_text(b"hello", 2, 3)
    with pytest.raises(InvalidInputError, match="same length"):
        fitting_share(ts, [1], 2, b"nothing to see")


def _lesson(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_printout_recovers_from_the_chosen_holders(capsys):
    """The lesson writes the polynomial, every share, the Lagrange steps of the chosen holders
    and the recovered secret, in GF(97) and in the real field."""
    code, out, _ = _lesson(capsys, "teach", "shamir", "--holders", "2,4,5", "--seed", "1")
    assert code == 0
    assert "GF(97)" in out and "GF(2^61 - 1)" in out
    assert re.search(r"recovery from holders 2, 4, 5", out)
    assert len(re.findall(r"^  λ_[245] = ", out, re.M)) == 3
    assert re.search(r"^  s = .* ≡ 42  ✓$", out, re.M)
    assert "-> 'attack at dawn'" in out
    assert "throw-away" in out


def test_printout_shows_decimal_values_with_their_meaning(capsys):
    """Share values are written in decimal beside the chunk they encode, not as bare hex,
    and the decoy comes back whole."""
    code, out, _ = _lesson(capsys, "shamir", "--secret", "attack at dawn", "-t", "3", "-n", "5")
    assert code == 0
    assert not re.search(r"0x[0-9a-f]{16}", out)
    assert "chunk 0:  'attack ' = " + f"{int.from_bytes(b'attack ', 'little'):,}" in out
    assert "gives 'nothing to see'" in out


def test_short_secret_gets_a_decoy_of_its_length(capsys):
    """With a secret shorter than the default decoy, the lesson fits a whole decoy of the
    secret's length instead of a truncated one."""
    code, out, _ = _lesson(capsys, "shamir", "--secret", "hello")
    assert code == 0
    assert "'nothi'" not in out and "gives 'uryyb' (the secret in rot13)" in out


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--decoy", "nothing to see", "--secret", "hello"], "longer than the 5-byte secret"),
        (["--holders", "1,2"], "exactly t = 3"),
        (["--holders", "1,9"], "not holder ids"),
        (["-t", "1"], "at least 2"),
        (["--prime", "91"], "prime"),
    ],
)
def test_bad_options_exit_2_with_a_sentence(capsys, argv, message):
    """Bad options give exit status 2 and a sentence naming the rule, and no traceback."""
    code, _, err = _lesson(capsys, "teach", "shamir", *argv)
    assert code == 2 and message in err and err.startswith("error: ")


def test_out_writes_the_two_pictures(capsys, tmp_path: Path):
    """--out writes the polynomial with its shares and the t - 1 family as PNG files."""
    code, out, _ = _lesson(capsys, "teach", "shamir", "--seed", "2", "--out", str(tmp_path / "p"))
    assert code == 0
    for name in ("shamir_polynomial.png", "shamir_family.png"):
        data = (tmp_path / "p" / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 10_000
        assert name in out


def test_out_refuses_a_file(capsys, tmp_path: Path):
    """--out naming an existing file is refused before anything is written."""
    target = tmp_path / "file"
    target.write_text("x")
    code, _, err = _lesson(capsys, "teach", "shamir", "--out", str(target))
    assert code == 2 and "not a directory" in err and target.read_text() == "x"


def test_pictures_show_in_a_notebook():
    """A picture hands its PNG to a notebook through _repr_png_."""
    pic = pictures.shamir_family(split_small(5, 2, 3, seed=1), [1])
    assert pic._repr_png_().startswith(PNG)


def test_a_lesson_error_is_a_secagg_error():
    """Lesson-level refusals are SecAggError (InvalidInputError also a ValueError)."""
    with pytest.raises(SecAggError):
        split_text(b"", 2, 3)
    with pytest.raises(ValueError):
        split_small(1, 5, 3)


NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "threshold_recovery.ipynb"


@pytest.mark.skipif(not NOTEBOOK.exists(), reason="no examples/ beside the tests")
def test_notebook_cells_only_call_the_lessons():
    """The teaching notebook's code cells are short calls into secagg.teach: no function,
    class or loop copied into a cell (CI executes it with nbclient: make notebook)."""
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    assert len(code) >= 8
    for source in code:
        assert len(source.splitlines()) <= 5, source
        assert not re.search(r"^\s*(def|class|for|while|with)\b|lambda", source, re.M), source
        assert all(not c.get("outputs") for c in cells if c["cell_type"] == "code")
    assert any("secagg.teach" in s for s in code)
