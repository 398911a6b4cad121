"""Tests for secagg._core: stale-build detection, version, status codes and messages."""

from __future__ import annotations

import importlib.util
import shutil
import sys
import tomllib
from pathlib import Path

import pytest

from secagg import _core
from secagg.exceptions import CoreError, InvalidInputError, StaleBuildError

ROOT = Path(__file__).resolve().parent.parent
HAVE_SOURCES = (ROOT / "build.py").is_file() and (ROOT / "csrc").is_dir()


def load_build_module():
    """Import build.py from the source tree under a private name."""
    spec = importlib.util.spec_from_file_location("_secagg_build_for_test", ROOT / "build.py")
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.skipif(not HAVE_SOURCES, reason="needs the source tree (build.py, csrc/)")
def test_core_hash_matches_build_py_hash():
    """_core's source hash is the same function as build.py's, and the module was built from it."""
    build = load_build_module()
    assert _core._source_hash(ROOT) == build.source_hash()
    assert _core.build_hash() == build.source_hash()


@pytest.mark.skipif(not HAVE_SOURCES, reason="needs the source tree (build.py, csrc/)")
def test_hash_changes_when_a_source_changes(tmp_path):
    """Editing a C file, a cdef header or build.py changes the hash (so a stale build is seen)."""
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "csrc", tree / "csrc")
    shutil.copy(ROOT / "build.py", tree / "build.py")
    h0 = _core._source_hash(tree)
    assert h0 == _core._source_hash(ROOT)
    for rel in ("csrc/aes.c", "csrc/cdef/prg.h", "build.py"):
        p = tree / rel
        original = p.read_bytes()
        p.write_bytes(original + b"\n")
        assert _core._source_hash(tree) != h0, rel
        p.write_bytes(original)
    (tree / "csrc" / "new_file.c").write_text("/* new */\n")
    assert _core._source_hash(tree) != h0


def test_stale_build_raises(monkeypatch):
    """When the compiled hash differs from the sources' hash, the freshness check raises."""
    monkeypatch.setattr(_core, "build_hash", lambda: "0" * 64)
    monkeypatch.setattr(_core, "_source_hash", lambda root: "1" * 64)
    with pytest.raises(StaleBuildError, match="rebuild"):
        _core._check_fresh()
    assert issubclass(StaleBuildError, ImportError)


def test_no_sources_means_no_check(monkeypatch):
    """An installed package without csrc/ beside it skips the check."""
    monkeypatch.setattr(_core, "_source_hash", lambda root: None)
    _core._check_fresh()


def test_version_matches_project():
    """The core's version string equals the project version in pyproject.toml."""
    v = _core.version()
    assert v and v.count(".") == 2
    pyproject = ROOT / "pyproject.toml"
    if pyproject.is_file():
        assert v == tomllib.loads(pyproject.read_text())["project"]["version"]


CODES = [
    "SECAGG_OK",
    "SECAGG_ERR_NULL",
    "SECAGG_ERR_LENGTH",
    "SECAGG_ERR_BITS",
    "SECAGG_ERR_RANGE",
    "SECAGG_ERR_IMPL",
    "SECAGG_ERR_DUPLICATE_X",
    "SECAGG_ERR_ZERO_X",
    "SECAGG_ERR_THRESHOLD",
    "SECAGG_ERR_TOO_FEW",
    "SECAGG_ERR_DECODE",
    "SECAGG_ERR_PADDING",
    "SECAGG_ERR_OVERFLOW",
    "SECAGG_ERR_NOMEM",
    "SECAGG_ERR_CHUNK",
    "SECAGG_ERR_ARG",
]


def strerror(code: int) -> str:
    """The core's message for a status code."""
    return _core.ffi.string(_core.lib.secagg_strerror(code)).decode()


def test_strerror_names_every_code_distinctly():
    """Every status code has its own message; unknown codes get a generic one."""
    msgs = {name: strerror(getattr(_core.lib, name)) for name in CODES}
    assert len(set(msgs.values())) == len(CODES)
    assert msgs["SECAGG_OK"] == "success"
    assert "padding" in msgs["SECAGG_ERR_PADDING"]
    assert strerror(-999) == strerror(12345) == "unknown error"


def test_check_status_maps_codes():
    """Argument errors become InvalidInputError, internal failures CoreError, 0 passes."""
    _core.check_status(0, "ok")
    with pytest.raises(InvalidInputError, match="doing x: .*status -3"):
        _core.check_status(_core.lib.SECAGG_ERR_BITS, "doing x")
    with pytest.raises(CoreError):
        _core.check_status(_core.lib.SECAGG_ERR_NOMEM, "doing y")
    with pytest.raises(CoreError):
        _core.check_status(_core.lib.SECAGG_ERR_NULL, "doing z")


def test_implementation_table():
    """The compiled table lists unique names, portable last and always supported."""
    table = _core.impl_table()
    names = [n for n, _ in table]
    assert len(set(names)) == len(names)
    assert table[-1] == ("portable", True)
    assert _core.ffi.NULL == _core.lib.secagg_impl_name(len(table))
    assert _core.lib.secagg_impl_supported(-1) == 0


def test_c_entry_points_validate_directly():
    """The C entry points refuse bad sizes, bits and implementations on their own."""
    lib, ffi = _core.lib, _core.ffi
    key = ffi.new("uint8_t[16]")
    ctr = ffi.new("uint8_t[16]")
    out = ffi.new("uint8_t[32]")
    assert lib.secagg_keystream(0, key, 15, ctr, 16, out, 32) == lib.SECAGG_ERR_LENGTH
    assert lib.secagg_keystream(0, key, 16, ctr, 8, out, 32) == lib.SECAGG_ERR_LENGTH
    assert lib.secagg_keystream(99, key, 16, ctr, 16, out, 32) == lib.SECAGG_ERR_IMPL
    assert lib.secagg_keystream(0, ffi.NULL, 16, ctr, 16, out, 32) == lib.SECAGG_ERR_NULL
    top = ffi.new("uint8_t[16]", [0xFF] * 16)
    assert lib.secagg_keystream(0, key, 16, top, 16, out, 16) == lib.SECAGG_OK
    assert lib.secagg_keystream(0, key, 16, top, 16, out, 17) == lib.SECAGG_ERR_OVERFLOW
    size = ffi.new("size_t *")
    assert lib.secagg_packed_size(1, 0, size) == lib.SECAGG_ERR_BITS
    assert lib.secagg_packed_size(2**62, 8, size) == lib.SECAGG_ERR_OVERFLOW
    signs = ffi.new("int8_t[1]", [0])
    vec = ffi.new("uint32_t[4]")
    assert lib.secagg_mask_apply(0, vec, 4, 8, key, 1, signs) == lib.SECAGG_ERR_ARG
    assert lib.secagg_vec_check(vec, 4, 65) == lib.SECAGG_ERR_BITS


def test_module_imports_only_via_core():
    """Only secagg._core imports the compiled module among the primitive modules."""
    for name in ("secagg.prg", "secagg.masking", "secagg.packing"):
        mod = sys.modules.get(name) or importlib.import_module(name)
        assert "_ffi" not in vars(mod)
