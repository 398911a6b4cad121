"""Performance claims agree across the README and docs, and name the CPU they need."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"


@pytest.mark.skipif(not README.exists(), reason="no README beside the tests")
def test_fast_extra_speedup_is_one_range_everywhere():
    """The README's speedup for the fast extra is the range docs/crypto-backend.md quotes
    from a run of bench.crypto_backend, and that page gives the command."""
    m = re.search(r"pyca/cryptography: ([\d.]+)–([\d.]+)x faster", README.read_text())
    assert m, "the README states the fast extra's speedup as a range"
    page = (DOCS / "crypto-backend.md").read_text()
    assert f"**{m.group(1)}–{m.group(2)}×**" in page
    assert "python -m bench.crypto_backend --repeat 11 --number 300" in page
    assert "bench.crypto_backend" in README.read_text()


@pytest.mark.skipif(not DOCS.is_dir(), reason="no docs/ beside the tests")
def test_masking_ratio_names_its_microarchitecture():
    """docs/benchmarks.md ties the masking ratio to Zen 5 (family 26) and says what Zen 4
    (family 25, 512-bit VAES in two halves) gives instead."""
    text = " ".join((DOCS / "benchmarks.md").read_text().split())
    assert "family 26" in text and "Zen 5" in text
    assert "Zen 4" in text and "family 25" in text and "about 2.3×" in text
