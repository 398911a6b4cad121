"""Pure-Python reference for GF(2^61 - 1) and Shamir sharing (PROTOCOL.md section 3).

Written from the specification with Python's big integers, deliberately naive
and independent of the C core, so that tests can compare the two. Not for
production use: nothing here is constant-time.
"""

from __future__ import annotations

P = 2**61 - 1


def add(a: int, b: int) -> int:
    """(a + b) mod p."""
    return (a + b) % P


def sub(a: int, b: int) -> int:
    """(a - b) mod p."""
    return (a - b) % P


def mul(a: int, b: int) -> int:
    """(a * b) mod p."""
    return (a * b) % P


def inv(a: int) -> int:
    """Multiplicative inverse of a nonzero element (Fermat)."""
    if a % P == 0:
        raise ZeroDivisionError("0 has no inverse in GF(p)")
    return pow(a, P - 2, P)


def chunks(secret: bytes) -> list[int]:
    """The secret's little-endian 7-byte chunks as field elements."""
    return [int.from_bytes(secret[i : i + 7], "little") for i in range(0, len(secret), 7)]


def poly_eval(coeffs: list[int], x: int) -> int:
    """Value at x of sum(coeffs[j] * x**j) mod p."""
    return sum(c * pow(x, j, P) for j, c in enumerate(coeffs)) % P


def coefficients(secret: bytes, t: int, rand: bytes) -> list[list[int]]:
    """Per chunk, the polynomial coefficients [a_0, ..., a_{t-1}] that a split uses."""
    n_chunks = len(chunks(secret))
    if len(rand) != 8 * (t - 1) * n_chunks:
        raise ValueError("rand has the wrong length for this secret and threshold")
    polys = []
    for i, a0 in enumerate(chunks(secret)):
        coeffs = [a0]
        for j in range(1, t):
            off = 8 * (i * (t - 1) + j - 1)
            coeffs.append(int.from_bytes(rand[off : off + 8], "little") % P)
        polys.append(coeffs)
    return polys


def encode_share(values: list[int]) -> bytes:
    """A share: each value as 8 bytes little-endian."""
    return b"".join(v.to_bytes(8, "little") for v in values)


def decode_share(share: bytes) -> list[int]:
    """The field values of a share."""
    return [int.from_bytes(share[i : i + 8], "little") for i in range(0, len(share), 8)]


def split(secret: bytes, t: int, xs: list[int], rand: bytes) -> list[bytes]:
    """Shares of one secret for holders xs, from exactly this split's random bytes."""
    polys = coefficients(secret, t, rand)
    return [encode_share([poly_eval(c, x) for c in polys]) for x in xs]


def lagrange_at_zero(xs: list[int]) -> list[int]:
    """Coefficients l_j with f(0) = sum(l_j f(x_j)) for deg f < len(xs)."""
    out = []
    for j, xj in enumerate(xs):
        num, den = 1, 1
        for m, xm in enumerate(xs):
            if m != j:
                num = num * xm % P
                den = den * (xm - xj) % P
        out.append(num * inv(den) % P)
    return out


def interpolate(points: list[tuple[int, int]]) -> list[int]:
    """Coefficients (low degree first) of the unique polynomial of degree < len(points)
    through the given (x, y) points, by summing Lagrange basis polynomials."""
    n = len(points)
    result = [0] * n
    for j, (xj, yj) in enumerate(points):
        basis = [1]  # product of (X - x_m) for m != j, built up
        den = 1
        for m, (xm, _) in enumerate(points):
            if m == j:
                continue
            nxt = [0] * (len(basis) + 1)
            for k, c in enumerate(basis):
                nxt[k] = (nxt[k] - xm * c) % P
                nxt[k + 1] = (nxt[k + 1] + c) % P
            basis = nxt
            den = den * (xj - xm) % P
        scale = yj * inv(den) % P
        for k, c in enumerate(basis):
            result[k] = (result[k] + scale * c) % P
    return result


def reconstruct(xs: list[int], shares: list[bytes], t: int, secret_len: int) -> bytes | None:
    """The secret from the first t shares, or None if a chunk is out of its byte range."""
    lam = lagrange_at_zero(xs[:t])
    values = [decode_share(s) for s in shares[:t]]
    out = b""
    for i in range(len(values[0])):
        length = min(7, secret_len - 7 * i)
        chunk = sum(lj * v[i] for lj, v in zip(lam, values, strict=True)) % P
        if chunk >= 1 << (8 * length):
            return None
        out += chunk.to_bytes(length, "little")
    return out
