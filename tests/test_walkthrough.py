"""Smoke tests of ``python -m secagg walkthrough`` (narrated 5-client aggregation)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from secagg.__main__ import main


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["walkthrough", *argv])
    return code, capsys.readouterr().out


@pytest.mark.parametrize("drop_round", ["R1", "R2", "R3", "R4"])
def test_each_drop_round_ends_with_the_checked_sum(
    capsys: pytest.CaptureFixture[str], drop_round: str
) -> None:
    """Every drop round narrates all rounds and ends with the sum matching the plain sum."""
    code, out = _run(capsys, "--drop-round", drop_round, "--drop-client", "2", "--seed", "5")
    assert code == 0, out
    for heading in (
        "R0 AdvertiseKeys",
        "R1 ShareKeys",
        "R2 MaskedInputCollection",
        "R4 Unmasking",
        "match: yes",
    ):
        assert heading in out
    survivors = re.search(r"unmasked sum over U3 = \[([0-9, ]+)\]", out)
    assert survivors is not None
    u3 = {int(x) for x in survivors.group(1).split(",")}
    # Stopping before R1 or R2 removes the client from U3; later it stays a survivor.
    assert (2 in u3) == (drop_round in ("R3", "R4"))
    rebuilt_sk = "s^SK of client 2" in out
    assert rebuilt_sk == (drop_round == "R2")
    server, plain = re.findall(r"(?:server|plain):\s+(\[.*\])", out)
    assert server == plain


def test_active_mode_has_the_consistency_check(capsys: pytest.CaptureFixture[str]) -> None:
    """In active mode the walk-through shows R3 and who signed the survivor list."""
    code, out = _run(capsys, "--mode", "active", "--drop-round", "R3", "--seed", "1")
    assert code == 0, out
    assert "R3 ConsistencyCheck" in out and "signed by [1, 2, 4, 5]" in out


def test_seed_makes_the_output_reproducible(capsys: pytest.CaptureFixture[str]) -> None:
    """The same --seed prints the same keys, shares and vectors; no seed gives fresh keys."""
    a = _run(capsys, "--seed", "9")[1]
    b = _run(capsys, "--seed", "9")[1]
    c = _run(capsys)[1]
    d = _run(capsys)[1]
    assert a == b
    key_lines = [line for line in c.splitlines() if "c_pk" in line]
    assert key_lines and key_lines != [line for line in d.splitlines() if "c_pk" in line]


def test_bad_client_id_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """A drop client outside 1..5 gives exit status 2 and a sentence on stderr."""
    code = main(["walkthrough", "--drop-client", "9"])
    err = capsys.readouterr().err
    assert code == 2 and "not a client id" in err


def test_help_warns_about_printed_secrets() -> None:
    """The command's help says it prints throw-away secrets on purpose."""
    out = subprocess.run(
        [sys.executable, "-m", "secagg", "walkthrough", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    text = " ".join(out.split())
    assert "throw-away secrets" in text and "on purpose" in text


def test_semi_honest_says_r3_belongs_to_active_mode(capsys: pytest.CaptureFixture[str]) -> None:
    """The semi_honest walk-through lists its rounds and says R3 exists only in active mode."""
    code, out = _run(capsys, "--seed", "2")
    assert code == 0
    assert "rounds of semi_honest mode: R0, R1, R2, R4" in out
    assert "R3, the consistency check,\nbelongs to active mode only" in out
    assert "rounds of active mode" in _run(capsys, "--mode", "active", "--seed", "2")[1]


def test_make_walkthrough_runs_the_walkthrough() -> None:
    """`make walkthrough` runs `python -m secagg walkthrough`, not the Shamir lesson."""
    makefile = Path(__file__).resolve().parents[1] / "Makefile"
    if not makefile.exists():  # run from an installed copy of the tests
        pytest.skip("no Makefile beside the tests")
    recipe = makefile.read_text().split("\nwalkthrough:", 1)[1].split("\n\n", 1)[0]
    assert "-m secagg walkthrough" in recipe and "secagg shamir" not in recipe


def test_a_reader_that_stops_early_gets_no_traceback() -> None:
    """`python -m secagg walkthrough | head -1`: the command stops quietly when the pipe closes."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "secagg", "walkthrough"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(10)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
