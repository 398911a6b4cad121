"""The robust-recovery lesson (``python -m secagg teach robust``): the Reed-Solomon decoder
names a liar and recovers; beyond its bound the commitment check never accepts."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from secagg.__main__ import main
from secagg.exceptions import SecAggError
from secagg.teach import field
from secagg.teach.common import byte_source
from secagg.teach.decoding import P, beyond_bound, check, honest, one_liar


@given(st.integers(0, 255), st.integers(2, 5), st.data())
def test_the_decoder_names_the_liar_and_recovers(secret, t, data):
    """One wrong share among n >= t + 2: decode returns the secret, names exactly that
    holder, and the commitment check accepts."""
    n = data.draw(st.integers(t + 2, 9))
    liar = data.draw(st.integers(1, n))
    rng = byte_source(data.draw(st.integers(0, 2**32)), "test")
    case = one_liar(honest(secret, t, rng), n, liar, rng)
    assert case.sent[liar] != field.evaluate(case.coeffs, liar, P)
    assert case.decoded == secret and case.named == (liar,) and case.accepted


@pytest.mark.parametrize("t", [2, 3, 4])
@pytest.mark.parametrize("n_extra", [2, 3, 4, 5])
def test_beyond_the_bound_nothing_wrong_is_accepted(t, n_extra):
    """With more liars than floor((n - t)/2), the decoder fails or returns another secret,
    and the commitment check never accepts a wrong one, for every choice of first liar."""
    n = t + n_extra
    for liar in range(1, n + 1):
        case = beyond_bound(honest(42, t, byte_source(liar, "t")), n, liar)
        assert len(case.liars) > case.bound
        assert not (case.decoded is not None and case.decoded != 42 and case.accepted)
        if case.other is not None:  # colluding liars fool the decoder; the check refuses
            assert case.decoded == case.other[0] != 42 and not case.accepted
            assert set(case.named).isdisjoint(case.liars)


def test_the_check_refuses_settings_where_nothing_is_corrected():
    """n < t + 2 (no share correctable) and a secret above one byte are refused."""
    with pytest.raises(SecAggError, match="floor"):
        check(42, 3, 4)
    with pytest.raises(SecAggError, match="0..255"):
        check(300, 3, 5)


def test_printout_and_picture(capsys, tmp_path: Path):
    """The lesson prints both cases with the named liar and writes robust_recovery.png."""
    assert main(["teach", "robust", "--liar", "2", "--seed", "4", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "returns 42 and names holder(s) [2]" in out
    assert "the commitment check matches: accepted" in out
    assert "refuse" in out.split("Case 2")[1]
    assert (tmp_path / "robust_recovery.png").read_bytes().startswith(b"\x89PNG")


def test_bad_liar_exits_2(capsys):
    """A liar that is no holder gives exit status 2 and a sentence."""
    assert main(["teach", "robust", "--liar", "9"]) == 2
    assert "not a holder id" in capsys.readouterr().err
