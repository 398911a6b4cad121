"""pytest-benchmark micro-benchmarks of the compiled core (``make bench``).

Default sizes are modest (this machine has 2 shared cores); set
``SECAGG_BENCH_LARGE=1`` to add m = 10^7. In the normal test session
benchmarks are disabled and each body runs once, as a smoke test.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from secagg import _core, _openssl, masking, packing, prg

LARGE = os.environ.get("SECAGG_BENCH_LARGE") == "1"
SIZES = [10**5, 10**6] + ([10**7] if LARGE else [])


@pytest.mark.parametrize("impl", prg.implementations())
def test_keystream_1mib(benchmark, impl):
    """AES-128-CTR keystream, 1 MiB into a reused buffer, per implementation."""
    idx = prg.resolve_impl(impl)
    key, buf = os.urandom(16), bytearray(1 << 20)
    benchmark.extra_info["bytes"] = len(buf)
    if impl == prg.OPENSSL:  # not in the core's table: the keystream comes from OpenSSL
        benchmark(_openssl.keystream_into, key, bytes(16), buf)
    else:
        benchmark(_core.keystream_into, idx, key, bytes(16), buf)
    assert bytes(buf[:64]) == prg.keystream(key, 64)


@pytest.mark.parametrize("b", [32, 64])
@pytest.mark.parametrize("nkeys", [1, 16, 64])
@pytest.mark.parametrize("m", SIZES)
def test_fused_masking(benchmark, m, nkeys, b):
    """apply_masks with nkeys keys on an m-element vector (selected implementation)."""
    vec = np.zeros(m, dtype=masking.dtype_for_bits(b))
    keys = [os.urandom(16) for _ in range(nkeys)]
    signs = [1] * nkeys
    benchmark.extra_info["keystream_bytes"] = nkeys * vec.nbytes
    benchmark(masking.apply_masks, vec, keys, signs, b)


@pytest.mark.parametrize("impl", prg.implementations())
def test_fused_masking_per_impl(benchmark, impl):
    """apply_masks, 16 keys, m = 10^5 uint32, per implementation."""
    vec = np.zeros(10**5, dtype=np.uint32)
    keys = [os.urandom(16) for _ in range(16)]
    benchmark(masking.apply_masks, vec, keys, [1, -1] * 8, 32, impl=impl)
    np.testing.assert_array_equal(vec[:0], vec[:0])


@pytest.mark.parametrize("b", [8, 16, 20, 32, 64])
def test_pack(benchmark, b):
    """pack of a 10^6-element vector."""
    vec = np.zeros(10**6, dtype=masking.dtype_for_bits(b))
    data = benchmark(packing.pack, vec, b)
    assert len(data) == packing.packed_size(vec.size, b)


@pytest.mark.parametrize("b", [8, 16, 20, 32, 64])
def test_unpack_add(benchmark, b):
    """unpack_add of a 10^6-element message into an accumulator (the server's streaming sum)."""
    acc = np.zeros(10**6, dtype=masking.dtype_for_bits(b))
    data = bytes(packing.packed_size(acc.size, b))
    benchmark(packing.unpack_add, acc, data, b)
    assert not acc.any()
