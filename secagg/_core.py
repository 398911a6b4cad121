"""The only importer of the compiled module ``secagg._ffi``.

One thin function per C entry point: check dtype, contiguity and lengths, pass
numpy buffers zero-copy (``ffi.from_buffer``), one ``lib.`` call, one status
check. Everything above this module speaks numpy and bytes.

A stale build (C sources or ``build.py`` changed, module not rebuilt) fails
loudly at import when the sources are present beside the package (a source
checkout or an editable install).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from .exceptions import CoreError, InvalidInputError, StaleBuildError

try:
    from ._ffi import ffi, lib
except ImportError as exc:  # pragma: no cover - exercised only on a broken install
    raise ImportError(
        "secagg's compiled core (secagg._ffi) is missing; build it with "
        "'pip install -e .' or 'make build'"
    ) from exc

__all__ = ["ffi", "lib", "version", "build_hash", "check_status"]


def _source_hash(root: Path) -> str | None:
    """Same hash as build.py's ``source_hash`` (kept in sync by test_core)."""
    csrc = root / "csrc"
    build = root / "build.py"
    if not csrc.is_dir() or not build.is_file():
        return None
    files = sorted(csrc.glob("*.c")) + sorted(csrc.glob("*.h")) + sorted(csrc.glob("cdef/*.h"))
    files.append(build)
    h = hashlib.sha256()
    for path in files:
        h.update(path.relative_to(root).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def build_hash() -> str:
    """Hash of the sources the loaded module was compiled from."""
    return ffi.string(lib.secagg_build_hash()).decode()


def version() -> str:
    """Version string of the compiled core."""
    return ffi.string(lib.secagg_version()).decode()


def _check_fresh() -> None:
    root = Path(__file__).resolve().parent.parent
    expected = _source_hash(root)
    if expected is not None and expected != build_hash():
        raise StaleBuildError(
            f"secagg._ffi was compiled from other sources than those in {root / 'csrc'} "
            "(C or build.py changed since the last build); rebuild with 'make build' "
            "or 'pip install -e .'"
        )


_check_fresh()


def check_status(code: int, what: str) -> None:
    """Turn a C status code into an exception; ``what`` names the operation."""
    if code == 0:
        return
    message = ffi.string(lib.secagg_strerror(code)).decode()
    if code in (
        lib.SECAGG_ERR_LENGTH,
        lib.SECAGG_ERR_BITS,
        lib.SECAGG_ERR_RANGE,
        lib.SECAGG_ERR_IMPL,
        lib.SECAGG_ERR_DUPLICATE_X,
        lib.SECAGG_ERR_ZERO_X,
        lib.SECAGG_ERR_THRESHOLD,
        lib.SECAGG_ERR_TOO_FEW,
        lib.SECAGG_ERR_PADDING,
        lib.SECAGG_ERR_OVERFLOW,
        lib.SECAGG_ERR_ARG,
    ):
        raise InvalidInputError(f"{what}: {message} (status {code}).")
    raise CoreError(f"{what}: {message} (status {code}).")
