#!/usr/bin/env bash
# Build the core with ASan + UBSan in its own copy of the tree and virtualenv,
# then run the test suite and the C harness under them. Any report aborts -> non-zero.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
WORK="${SANITIZE_WORK:-$ROOT/build/sanitize}"
rm -rf "$WORK/tree"
mkdir -p "$WORK"
# Copy the tracked sources only (no compiled module, no venv).
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | \
    tar --null -T - -cf -) | (mkdir -p "$WORK/tree" && tar -xf - -C "$WORK/tree")
if [ ! -x "$WORK/venv/bin/python" ]; then
    "$PYTHON" -m venv "$WORK/venv"
    "$WORK/venv/bin/python" -m pip install --quiet --upgrade pip
fi
# Dependencies first, then a non-editable build with the sanitizer flags: the
# sanitized module lives only in this virtualenv.
# The same as the package's [test] extra (kept in step with pyproject.toml).
"$WORK/venv/bin/python" -m pip install --quiet "setuptools>=77" wheel cffi numpy "pycryptodome>=3.21,<5" \
    pytest hypothesis pytest-benchmark "cryptography>=42,<52" "matplotlib>=3.7" "dp-accounting>=0.4" \
    "phe>=1.5" "gmpy2>=2.1"
SECAGG_SANITIZE=1 "$WORK/venv/bin/python" -m pip install --quiet --no-build-isolation \
    --force-reinstall --no-deps "$WORK/tree"

ASAN_LIB="$(gcc -print-file-name=libasan.so)"
UBSAN_LIB="$(gcc -print-file-name=libubsan.so)"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export PYCRYPTODOME_DISABLE_DEEPBIND=1
# Check the module really carries the sanitizer before trusting a green run.
cd "$WORK"
LD_PRELOAD="$ASAN_LIB $UBSAN_LIB" "$WORK/venv/bin/python" - <<'PY'
import secagg._ffi as m, subprocess, sys
out = subprocess.run(["nm", "-D", m.__file__], capture_output=True, text=True).stdout
if "__asan_" not in out or "__ubsan_" not in out:
    sys.exit(f"{m.__file__} was not built with ASan+UBSan")
print("sanitized module:", m.__file__)
PY
# The whole suite, run from outside the tree (so a subprocess started by a
# test cannot pick up the unbuilt source package) with copies of what the
# tests read besides the package, the demo fl/ (never installed) included.
# Every C entry point the protocol and the FL loop reach runs under the
# sanitizers this way, not only the core tests.
rm -rf "$WORK/run" && mkdir -p "$WORK/run"
cp -r "$WORK/tree/tests" "$WORK/tree/docs" "$WORK/tree/bench" "$WORK/tree/fl" \
    "$WORK/tree/pyproject.toml" "$WORK/run/"
cd "$WORK/run"
LD_PRELOAD="$ASAN_LIB $UBSAN_LIB" HYPOTHESIS_PROFILE=sanitize \
    "$WORK/venv/bin/python" -m pytest -p no:cacheprovider -q tests

# Standalone C harness, built with the same sanitizer flags.
if [ -f "$WORK/tree/tests/c/Makefile" ]; then
    make -C "$WORK/tree/tests/c" run SANITIZE=1
fi
