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


# --- Shamir over GF(2^61 - 1) ---
# Thin wrappers over csrc/gf61.c, csrc/shamir.c and csrc/rs.c. Arguments are
# validated by secagg.shamir (with messages naming the values); the status
# mapping here is the backstop for anything that reaches C anyway.


def _shamir_status(code: int, what: str) -> None:
    """Map Shamir/Reed-Solomon status codes to the package's exceptions."""
    if code == 0:
        return
    from .exceptions import DecodingError, MalformedMessageError, NotEnoughSharesError

    message = ffi.string(lib.secagg_strerror(code)).decode()
    if code == lib.SECAGG_ERR_RANGE:
        raise MalformedMessageError(
            f"{what}: {message}: a share value is not below p (status {code})."
        )
    if code == lib.SECAGG_ERR_TOO_FEW:
        raise NotEnoughSharesError(f"{what}: {message} (status {code}).")
    if code in (lib.SECAGG_ERR_DECODE, lib.SECAGG_ERR_CHUNK):
        raise DecodingError(f"{what}: {message} (status {code}).")
    check_status(code, what)


def _u64_array(values: object, what: str) -> object:
    import numpy as np

    arr = np.ascontiguousarray(values, dtype=np.uint64)
    if arr.ndim != 1:
        raise InvalidInputError(f"{what} must be one-dimensional, got shape {arr.shape}.")
    return arr


def gf61_vec(op: int, a: object, b: object | None = None) -> object:
    """Element-wise GF(2^61 - 1) operation ``op`` (``lib.SECAGG_GF61_*``) on uint64 arrays."""
    import numpy as np

    aa = _u64_array(a, "a")
    bb = _u64_array(aa if b is None else b, "b")
    if bb.shape != aa.shape:
        raise InvalidInputError(f"operands differ in length: {aa.shape[0]} and {bb.shape[0]}.")
    out = np.empty_like(aa)
    code = lib.secagg_gf61_vec(
        op,
        ffi.from_buffer("uint64_t[]", aa),
        ffi.from_buffer("uint64_t[]", bb),
        ffi.from_buffer("uint64_t[]", out, require_writable=True),
        aa.shape[0],
    )
    check_status(code, "GF(2^61 - 1) operation")
    return out


def shamir_split(secrets: list[bytes], t: int, xs: object, rand: bytes) -> bytes:
    """Split ``secrets`` for holders ``xs``; returns all shares, secret by secret, holder by holder."""
    import numpy as np

    xa = _u64_array(xs, "xs")
    lens = np.array([len(s) for s in secrets], dtype=np.uintp)
    out_len = sum(int(lib.secagg_shamir_share_size(len(s))) for s in secrets) * xa.shape[0]
    out = bytearray(out_len)
    code = lib.secagg_shamir_split(
        ffi.from_buffer("uint8_t[]", b"".join(secrets)),
        ffi.from_buffer("size_t[]", lens),
        len(secrets),
        t,
        ffi.from_buffer("uint64_t[]", xa),
        xa.shape[0],
        ffi.from_buffer("uint8_t[]", rand),
        len(rand),
        ffi.from_buffer("uint8_t[]", out, require_writable=True),
        out_len,
    )
    _shamir_status(code, "Shamir split")
    return bytes(out)


def shamir_lagrange_at_zero(xs: object) -> object:
    """Lagrange coefficients at 0 (uint64 array) for distinct nonzero points ``xs``."""
    import numpy as np

    xa = _u64_array(xs, "xs")
    out = np.empty_like(xa)
    code = lib.secagg_shamir_lagrange_at_zero(
        ffi.from_buffer("uint64_t[]", xa),
        xa.shape[0],
        ffi.from_buffer("uint64_t[]", out, require_writable=True),
    )
    _shamir_status(code, "Lagrange coefficients")
    return out


def shamir_reconstruct(
    xs: object, t: int, shares: bytes, n_secrets: int, secret_len: int
) -> bytes:
    """Reconstruct ``n_secrets`` secrets from one holder set (first ``t`` of ``xs`` used)."""
    xa = _u64_array(xs, "xs")
    out = bytearray(n_secrets * secret_len)
    code = lib.secagg_shamir_reconstruct(
        ffi.from_buffer("uint64_t[]", xa),
        xa.shape[0],
        t,
        ffi.from_buffer("uint8_t[]", shares),
        len(shares),
        n_secrets,
        secret_len,
        ffi.from_buffer("uint8_t[]", out, require_writable=True),
        len(out),
    )
    _shamir_status(code, "Shamir reconstruction")
    return bytes(out)


def rs_decode(xs: object, t: int, shares: bytes, secret_len: int) -> tuple[bytes, bytes]:
    """Reed-Solomon decode one secret; returns (secret, one flag byte per holder: 1 = wrong)."""
    xa = _u64_array(xs, "xs")
    h = xa.shape[0]
    out = bytearray(secret_len)
    wrong = bytearray(h)
    code = lib.secagg_rs_decode(
        ffi.from_buffer("uint64_t[]", xa),
        h,
        t,
        ffi.from_buffer("uint8_t[]", shares),
        len(shares),
        secret_len,
        ffi.from_buffer("uint8_t[]", out, require_writable=True),
        len(out),
        ffi.from_buffer("uint8_t[]", wrong, require_writable=True),
        h,
    )
    _shamir_status(code, "Reed-Solomon decoding")
    return bytes(out), bytes(wrong)
