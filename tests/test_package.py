"""Tests for the top-level package: a light ``import secagg`` and its lazy names."""

from __future__ import annotations

import subprocess
import sys

import pytest

import secagg


def test_import_secagg_loads_no_numpy_nor_core() -> None:
    """``import secagg`` (for its exceptions) loads neither numpy nor the compiled core."""
    code = (
        "import sys, secagg; secagg.InvalidInputError;"
        "print('numpy' in sys.modules, 'secagg._ffi' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("name", sorted(secagg._LAZY))
def test_lazy_names_point_where_each_object_is_defined(name: str) -> None:
    """Each lazily imported name resolves to the object its defining module holds."""
    obj = getattr(secagg, name)
    assert obj.__module__ == secagg._LAZY[name]
    assert name in secagg.__all__


def test_unknown_attribute_is_an_attribute_error() -> None:
    """A name that is neither eager nor lazy is an AttributeError naming it."""
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = secagg.Nope  # type: ignore[attr-defined]
