"""Wire encodings of the Paillier path: exact round trips and strict decoding."""

from __future__ import annotations

import struct

import pytest

pytest.importorskip("phe")
pytest.importorskip("gmpy2")

import numpy as np  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from paillier_support import committee, make_session  # noqa: E402

from secagg.exceptions import MalformedMessageError  # noqa: E402
from secagg.paillier import (  # noqa: E402
    ClientBundle,
    CommitteeMember,
    DecryptionRequest,
    DecryptionShare,
    SumResult,
)
from secagg.paillier.messages import z2_bytes  # noqa: E402


@pytest.fixture(scope="module")
def encodings() -> dict[str, tuple[type, bytes]]:
    """One encoding of each message type, from a small threshold session."""
    tpk, shares = committee(512, 3, 2)
    session = make_session(tpk, clients=3, n_min=2, max_colluders=0)
    server = session.server()
    bundles = [session.bundle(u) for u in (1, 2, 3)]
    for b in bundles:
        server.receive(b)
    request = server.request()
    share = CommitteeMember(shares[0]).decryption_share(
        request, params=session.params, registry=session.registry
    )
    result = SumResult(bytes(32), (1, 2, 3), 16, np.arange(40, dtype=np.uint32))
    return {
        "bundle": (ClientBundle, bundles[0].to_bytes()),
        "request": (DecryptionRequest, request.to_bytes()),
        "share": (DecryptionShare, share.to_bytes()),
        "sum": (SumResult, result.to_bytes()),
    }


@pytest.mark.parametrize("name", ["bundle", "request", "share", "sum"])
def test_encodings_round_trip_byte_for_byte(encodings, name: str) -> None:  # noqa: ANN001
    """decode(encode(x)) re-encodes to the same bytes."""
    cls, data = encodings[name]
    assert cls.from_bytes(data).to_bytes() == data


@pytest.mark.parametrize("name", ["bundle", "request", "share", "sum"])
def test_every_truncation_and_any_trailing_byte_is_refused(encodings, name: str) -> None:  # noqa: ANN001
    """A message is valid only at its exact length."""
    cls, data = encodings[name]
    for cut in sorted({0, 3, 5, 6, 37, len(data) // 2, len(data) - 65, len(data) - 1}):
        with pytest.raises(MalformedMessageError):
            cls.from_bytes(data[:cut])
    with pytest.raises(MalformedMessageError, match="trailing"):
        cls.from_bytes(data + b"\x00")


def test_bundle_layout_matches_the_documented_sizes(encodings) -> None:  # noqa: ANN001
    """A bundle is 6 + 32 + 4 + 32 + 2 + 4 + 2Lk + 1 + 2L + L + (L + 53) + 64 bytes."""
    _, data = encodings["bundle"]
    size, count = struct.unpack(">HI", data[74:80])
    assert size == 64 and z2_bytes(size) == size + 53
    assert len(data) == 80 + 2 * size * count + 1 + 3 * size + z2_bytes(size) + 64


def test_header_and_flags_are_checked(encodings) -> None:  # noqa: ANN001
    """Wrong magic, version, type or proof flag are each refused with their reason."""
    _, data = encodings["bundle"]
    with pytest.raises(MalformedMessageError, match="must start with"):
        ClientBundle.from_bytes(b"XXXX" + data[4:])
    with pytest.raises(MalformedMessageError, match="version 9"):
        ClientBundle.from_bytes(data[:4] + b"\x09" + data[5:])
    with pytest.raises(MalformedMessageError, match="expected a client bundle, got a decryption"):
        ClientBundle.from_bytes(data[:5] + b"\x05" + data[6:])
    size, count = struct.unpack(">HI", data[74:80])
    flag_at = 80 + 2 * size * count
    with pytest.raises(MalformedMessageError, match="proof flag must be 0 or 1, got 2"):
        ClientBundle.from_bytes(data[:flag_at] + b"\x02" + data[flag_at + 1 :])
    with pytest.raises(MalformedMessageError, match="modulus"):
        ClientBundle.from_bytes(data[:74] + b"\x00\x10" + data[76:])


def test_sum_result_refuses_words_outside_the_ring() -> None:
    """A decrypted sum with a word >= 2^b is malformed."""
    data = SumResult(bytes(32), (1,), 8, np.array([255, 3], dtype=np.uint32)).to_bytes()
    bad = data[:-4] + (256).to_bytes(4, "big")
    with pytest.raises(MalformedMessageError, match="outside Z_2\\^8"):
        SumResult.from_bytes(bad)


@settings(max_examples=200)
@given(st.binary(max_size=300), st.sampled_from([ClientBundle, DecryptionRequest, DecryptionShare]))
def test_random_bytes_raise_only_malformed_message(data: bytes, cls: type) -> None:
    """Arbitrary bytes, with a valid header or not, raise only MalformedMessageError."""
    kind = {ClientBundle: 3, DecryptionRequest: 4, DecryptionShare: 5}[cls]
    for candidate in (data, b"SAPL\x01" + bytes([kind]) + data):
        try:
            cls.from_bytes(candidate)
        except MalformedMessageError:
            pass
