"""Write paillier_test_keys.json: safe primes for the Paillier tests. INSECURE: test use only.

Run from the repository root with the package installed:
``.venv/bin/python tests/data/make_paillier_test_keys.py``. Each run draws
new primes from the OS CSPRNG with the package's own generator (a numpy sieve
and Miller-Rabin on gmpy2); tests/test_paillier_keys.py re-checks every prime
with GMP's own primality test (mpz_probab_prime_p, Baillie-PSW), which shares
no code with ours. The primes are published in this repository, so anything
encrypted under these keys is readable by anyone: never use them outside tests.
"""

from __future__ import annotations

import json
from pathlib import Path

from secagg.paillier.primes import generate_safe_prime

SIZES = (512, 1024, 2048)


def main() -> None:
    keys = {}
    for bits in SIZES:
        p = generate_safe_prime(bits // 2)
        q = p
        while q == p:
            q = generate_safe_prime(bits // 2)
        keys[str(bits)] = {"p": format(int(p), "x"), "q": format(int(q), "x")}
    out = {
        "warning": "INSECURE TEST KEYS: the factors are public. Tests only, never for real data.",
        "keys": keys,
    }
    path = Path(__file__).with_name("paillier_test_keys.json")
    path.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
