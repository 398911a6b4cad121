"""cffi builder for the compiled core, ``secagg._ffi`` (API mode).

Exposes ``ffibuilder`` for setuptools' ``cffi_modules``. Imports nothing from the
package: paths are relative to this file. The cffi declarations live apart from
the real headers (``csrc/cdef/*.h``) and ``set_source`` includes the real
headers, so the C compiler checks one against the other.

Environment:
    SECAGG_SANITIZE=1  build with AddressSanitizer + UndefinedBehaviorSanitizer
                       (used by the CI sanitizer job, in its own virtualenv).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cffi import FFI

ROOT = Path(__file__).resolve().parent
CSRC = ROOT / "csrc"


def source_files() -> list[Path]:
    """Every file whose change requires a rebuild (hashed into the module)."""
    files = sorted(CSRC.glob("*.c")) + sorted(CSRC.glob("*.h")) + sorted(CSRC.glob("cdef/*.h"))
    return files + [ROOT / "build.py"]


def source_hash() -> str:
    """SHA-256 over the C sources, cffi declarations and this file (names and bytes)."""
    h = hashlib.sha256()
    for path in source_files():
        h.update(path.relative_to(ROOT).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


ffibuilder = FFI()
for cdef in sorted(CSRC.glob("cdef/*.h")):
    ffibuilder.cdef(cdef.read_text())

SANITIZE = os.environ.get("SECAGG_SANITIZE") == "1"

extra_compile_args = [
    "-std=c11",
    "-O3",  # the hot loops need full optimisation
    "-fno-strict-aliasing",  # byte buffers are reinterpreted as words in places
    "-Wall",
    "-Wextra",
    "-Wno-unused-parameter",  # cffi's generated wrappers trigger it
    # No -march=native: AES-NI/VAES paths use per-function target attributes
    # and are chosen at run time by CPU detection.
]
extra_link_args: list[str] = []
if SANITIZE:
    extra_compile_args += [
        "-fsanitize=address,undefined",
        "-fno-sanitize-recover=all",  # any report aborts the process, so CI fails
        # Python's CFLAGS carry -fwrapv, which hides UBSan's overflow checks.
        "-fno-wrapv",
        "-UNDEBUG",
        "-O1",
        "-g",
        "-fno-omit-frame-pointer",
    ]
    extra_link_args += ["-fsanitize=address,undefined"]

ffibuilder.set_source(
    "secagg._ffi",
    f'#include "secagg.h"\nconst char *secagg_build_hash(void) {{ return "{source_hash()}"; }}\n',
    sources=[str(p.relative_to(ROOT)) for p in sorted(CSRC.glob("*.c"))],
    include_dirs=[str(CSRC.relative_to(ROOT))],
    extra_compile_args=extra_compile_args,
    extra_link_args=extra_link_args,
    # Only the limited API (cffi defines Py_LIMITED_API): the module is
    # _ffi.abi3.so and setup.py tags the wheel cp311-abi3.
    py_limited_api=True,
)

if __name__ == "__main__":
    os.chdir(ROOT)
    ffibuilder.compile(verbose=True)
