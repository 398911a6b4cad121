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
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .exceptions import CoreError, InvalidInputError, MalformedMessageError, StaleBuildError

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


# --- keystream, masking, packing ---
# Thin wrappers over csrc/aes*.c, csrc/mask.c and csrc/pack.c. Vectors are
# one-dimensional, C-contiguous numpy arrays of native uint32 (b <= 32) or
# uint64 (b > 32); the checks here name the offending argument and values, and
# secagg.prg / secagg.masking / secagg.packing add the protocol-level rules.


def impl_table() -> list[tuple[str, bool]]:
    """(name, supported on this CPU) for every compiled keystream implementation, best first."""
    return [
        (ffi.string(lib.secagg_impl_name(i)).decode(), bool(lib.secagg_impl_supported(i)))
        for i in range(lib.secagg_impl_count())
    ]


def _check_bits(b: object) -> int:
    if isinstance(b, bool) or not isinstance(b, int) or not 1 <= b <= 64:
        raise InvalidInputError(f"The bit width b must be an integer in 1..64, got {b!r}.")
    return b


def word_dtype(b: int) -> object:
    """numpy dtype of a Z_2^b vector: native uint32 for b <= 32, else uint64."""
    return np.dtype(np.uint32) if _check_bits(b) <= 32 else np.dtype(np.uint64)


def check_vec(vec: object, b: int, name: str = "vec", *, writable: bool = False) -> None:
    """Check type, dtype, shape, contiguity (and writability) of a Z_2^b vector, not its range."""
    want = word_dtype(b)
    if not isinstance(vec, np.ndarray):
        raise InvalidInputError(
            f"{name} must be a numpy array of dtype {want} for b = {b}, got {type(vec).__name__}."
        )
    if vec.dtype != want:
        raise InvalidInputError(
            f"{name} has dtype {vec.dtype}, but b = {b} needs {want} "
            f"({'b <= 32' if b <= 32 else 'b > 32'})."
        )
    if vec.ndim != 1:
        raise InvalidInputError(f"{name} must be one-dimensional, got shape {vec.shape}.")
    if not vec.flags.c_contiguous:
        raise InvalidInputError(f"{name} must be C-contiguous (use np.ascontiguousarray).")
    if writable and not vec.flags.writeable:
        raise InvalidInputError(f"{name} is read-only, but the operation writes into it.")


def _range_error(vec: object, b: int, name: str) -> InvalidInputError:
    arr = np.asarray(vec)
    bad = np.flatnonzero(arr >= (np.uint64(1) << np.uint64(b)) if b < 64 else np.zeros(0, bool))
    where = f"; the first is {int(arr[bad[0]])} at index {int(bad[0])}" if bad.size else ""
    return InvalidInputError(
        f"{name} holds words >= 2^{b}{where}; values must already be reduced mod 2^{b} "
        "(they are never reduced silently)."
    )


def _status(code: int, what: str, ranges: tuple[tuple[object, str], ...], b: int) -> None:
    if code == lib.SECAGG_ERR_RANGE:
        for vec, name in ranges:
            n = len(vec)  # type: ignore[arg-type]
            if lib.secagg_vec_check(ffi.from_buffer(vec), n, b) != 0:
                raise _range_error(vec, b, name)
    check_status(code, what)


def vec_check(vec: object, b: int, name: str = "vec") -> None:
    """Raise InvalidInputError unless vec is a valid Z_2^b vector (every word < 2^b)."""
    check_vec(vec, b, name)
    code = lib.secagg_vec_check(ffi.from_buffer(vec), len(vec), b)  # type: ignore[arg-type]
    _status(code, f"checking {name}", ((vec, name),), b)


def keystream_into(impl: int, key: bytes, counter: bytes, out: object) -> None:
    """Fill the writable buffer ``out`` with AES-128-CTR keystream from the 16-byte
    big-endian counter block (no allocation: for benchmarks and reused buffers)."""
    buf = ffi.from_buffer("uint8_t[]", out, require_writable=True)
    code = lib.secagg_keystream(
        impl,
        ffi.from_buffer("uint8_t[]", key),
        len(key),
        ffi.from_buffer("uint8_t[]", counter),
        len(counter),
        buf,
        len(buf),
    )
    check_status(code, "keystream")


def keystream(impl: int, key: bytes, counter: bytes, nbytes: int) -> bytes:
    """AES-128-CTR keystream of nbytes from the 16-byte big-endian counter block."""
    out = bytearray(nbytes)
    keystream_into(impl, key, counter, out)
    return bytes(out)


def expand(impl: int, key: bytes, m: int, b: int) -> object:
    """The mask vector of key: m words, word i = keystream word i mod 2^b."""
    out = np.empty(m, dtype=word_dtype(b))  # type: ignore[call-overload]
    code = lib.secagg_expand(
        impl,
        ffi.from_buffer("uint8_t[]", key),
        len(key),
        b,
        ffi.from_buffer(out, require_writable=True),
        m,
    )
    check_status(code, "expanding a mask")
    return out


def mask_apply(
    impl: int, vec: object, keys: bytes, signs: bytes, b: int, first_block: int = 0
) -> None:
    """vec += sum_j signs[j] * PRG(keys[16j:16j+16]) mod 2^b, in place (signs as int8 bytes);
    each keystream starts at counter block ``first_block`` (vec is then a part of a longer one)."""
    check_vec(vec, b, "vec", writable=True)
    code = lib.secagg_mask_apply_at(
        impl,
        ffi.from_buffer(vec, require_writable=True),
        len(vec),  # type: ignore[arg-type]
        b,
        ffi.from_buffer("uint8_t[]", keys),
        len(signs),
        ffi.from_buffer("int8_t[]", signs),
        first_block,
    )
    _status(code, "applying masks", ((vec, "vec"),), b)


def mask_apply_streams(vec: object, ciphers: Sequence[Any], signs: bytes, b: int, sl: int) -> None:
    """vec += sum_j signs[j] * keystream_j mod 2^b in place, keystream_j from a CTR encryptor
    ``ciphers[j]`` (``update_into(zeros, buf)``, as pyca/cryptography's) in slices of sl bytes
    (a multiple of 16) into one reused buffer, added by one core call per slice."""
    check_vec(vec, b, "vec", writable=True)
    k, m, total, w = len(ciphers), len(vec), vec.nbytes, vec.itemsize  # type: ignore[arg-type,attr-defined]
    if len(signs) != k:
        raise InvalidInputError(f"{k} ciphers need {k} signs, got {len(signs)}.")
    keep = ffi.from_buffer(vec, require_writable=True)
    _status(lib.secagg_vec_check(keep, m, b), "applying masks", ((vec, "vec"),), b)
    base, zeros = ffi.cast("uint8_t *", keep), memoryview(bytes(sl))
    scratch = bytearray(k * sl + 16)  # + 16: the room update_into may ask for
    ks, sg = ffi.from_buffer("uint8_t[]", scratch), ffi.from_buffer("int8_t[]", signs)
    view = memoryview(scratch)
    try:
        for off in range(0, total, sl):
            n = min(sl, total - off)
            for j, cipher in enumerate(ciphers):
                cipher.update_into(zeros[:n], view[j * n :])
            code = lib.secagg_mask_add_streams(base + off, n // w, b, ks, k * n, sg, k)
            _status(code, "applying masks", ((vec, "vec"),), b)
    finally:
        scratch[:] = bytes(len(scratch))  # best-effort erasure of the keystream


def _addsub(fn: object, acc: object, x: object, b: int, what: str) -> None:
    check_vec(acc, b, "acc", writable=True)
    check_vec(x, b, "x")
    na, nx = len(acc), len(x)  # type: ignore[arg-type]
    if na != nx:
        raise InvalidInputError(f"acc and x must have the same length, got {na} and {nx}.")
    dst = ffi.from_buffer(acc, require_writable=True)
    code = fn(dst, ffi.from_buffer(x), na, b)  # type: ignore[operator]
    _status(code, what, ((acc, "acc"), (x, "x")), b)


def vec_add(acc: object, x: object, b: int) -> None:
    """acc = acc + x mod 2^b in place."""
    _addsub(lib.secagg_vec_add, acc, x, b, "adding vectors")


def vec_sub(acc: object, x: object, b: int) -> None:
    """acc = acc - x mod 2^b in place."""
    _addsub(lib.secagg_vec_sub, acc, x, b, "subtracting vectors")


def packed_size(m: int, b: int) -> int:
    """ceil(m * b / 8): the packed length of m elements of b bits."""
    out = ffi.new("size_t *")
    check_status(lib.secagg_packed_size(m, b, out), "computing a packed size")
    return int(out[0])


def pack(vec: object, b: int) -> bytes:
    """Pack a Z_2^b vector, b bits per element, little-endian bit order."""
    check_vec(vec, b, "vec")
    if (b == 32 or b == 64) and sys.byteorder == "little":
        # Full-width words are already the little-endian wire layout, so the C
        # call would be one memcpy; numpy's tobytes makes the same copy without
        # first zero-filling a fresh buffer, which for multi-MB vectors costs
        # page faults (7 ms instead of 0.3 ms at 8 MB here).
        return vec.tobytes()  # type: ignore[attr-defined]
    n = packed_size(len(vec), b)  # type: ignore[arg-type]
    out = bytearray(n)
    code = lib.secagg_pack(
        ffi.from_buffer(vec),
        len(vec),  # type: ignore[arg-type]
        b,
        ffi.from_buffer("uint8_t[]", out, require_writable=True),
        n,
    )
    _status(code, "packing", ((vec, "vec"),), b)
    return bytes(out)


def _wire_status(code: int, data: bytes, m: int, b: int, what: str) -> None:
    if code == lib.SECAGG_ERR_LENGTH:
        raise MalformedMessageError(
            f"{what}: a packed vector of {m} elements of {b} bits is {packed_size(m, b)} bytes, "
            f"got {len(data)}."
        )
    if code == lib.SECAGG_ERR_PADDING:
        used = (m * b) % 8
        raise MalformedMessageError(
            f"{what}: the {8 - used} padding bits of the last byte must be zero, "
            f"but it is 0x{data[-1]:02x}."
        )


def unpack(data: bytes, m: int, b: int) -> object:
    """Unpack m elements of b bits; MalformedMessageError on bad length or padding."""
    out = np.empty(m, dtype=word_dtype(b))  # type: ignore[call-overload]
    code = lib.secagg_unpack(
        ffi.from_buffer("uint8_t[]", data),
        len(data),
        m,
        b,
        ffi.from_buffer(out, require_writable=True),
    )
    _wire_status(code, data, m, b, "unpacking")
    check_status(code, "unpacking")
    return out


def unpack_add(acc: object, data: bytes, b: int) -> None:
    """acc += unpack(data) mod 2^b in one pass, validating everything before writing."""
    check_vec(acc, b, "acc", writable=True)
    m = len(acc)  # type: ignore[arg-type]
    code = lib.secagg_unpack_add(
        ffi.from_buffer("uint8_t[]", data),
        len(data),
        m,
        b,
        ffi.from_buffer(acc, require_writable=True),
    )
    _wire_status(code, data, m, b, "unpack-and-add")
    _status(code, "unpack-and-add", ((acc, "acc"),), b)
