#!/usr/bin/env bash
# Build the core with ASan + UBSan in its own copy of the tree and virtualenv,
# then run the compiled-core tests and the C harness. Any report aborts -> non-zero.
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
"$WORK/venv/bin/python" -m pip install --quiet setuptools wheel cffi numpy "pycryptodome>=3.21,<5" \
    pytest hypothesis pytest-benchmark "cryptography>=42,<52"
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
TESTS=()
for t in tests/test_core.py tests/test_prg.py tests/test_masking.py tests/test_packing.py tests/test_shamir.py; do
    [ -f "$WORK/tree/$t" ] && TESTS+=("$WORK/tree/$t")
done
[ "${#TESTS[@]}" -gt 0 ] || { echo "no core tests found" >&2; exit 1; }
LD_PRELOAD="$ASAN_LIB $UBSAN_LIB" HYPOTHESIS_PROFILE=sanitize \
    "$WORK/venv/bin/python" -m pytest -p no:cacheprovider -q "${TESTS[@]}" \
    --rootdir "$WORK/tree" -c "$WORK/tree/pyproject.toml"

# Standalone C harness, built with the same sanitizer flags.
if [ -f "$WORK/tree/tests/c/Makefile" ]; then
    make -C "$WORK/tree/tests/c" run SANITIZE=1
fi
