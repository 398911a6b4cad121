"""The Flower virtualenv resolves secagg's ranges together with flwr 1.42's pins."""

from __future__ import annotations

import importlib.metadata as md

import pytest

pytest.importorskip("flwr", reason="the flower extra is not installed")

pytestmark = pytest.mark.flower


def _major_minor(package: str) -> tuple[int, int]:
    major, minor = md.version(package).split(".")[:2]
    return int(major), int(minor)


def test_flower_and_secagg_coinstall_with_flowers_pins():
    """flwr 1.42 with pycryptodome 3.x and cryptography 50.x: the majors Flower pins."""
    assert _major_minor("flwr") == (1, 42)
    assert _major_minor("pycryptodome")[0] == 3
    assert _major_minor("cryptography")[0] == 50


def test_the_crypto_backends_agree_under_flowers_pins():
    """With these versions both crypto backends give the same X25519 agreement."""
    from secagg import crypto

    backends = crypto.available_backends()
    assert set(backends) == {"cryptography", "pycryptodome"}
    a, b = (crypto.get_backend(name) for name in ("cryptography", "pycryptodome"))
    sk1, pk1 = a.x25519_keypair()
    sk2, pk2 = b.x25519_keypair()
    assert a.x25519_shared(sk1, pk2) == b.x25519_shared(sk2, pk1)
