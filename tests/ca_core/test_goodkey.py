"""Baseline Requirements 6.1.1.3 and 6.1.5/6.1.6: weak keys are refused with exact messages."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ca_core import goodkey
from ca_core.csr import csr_facts, load_csr
from ca_core.errors import BadKey, KeyBlocklistError
from ca_core.goodkey import KeyBlocklist, check_key, spki_sha256
from tests.support import weak_keys


def _refused(key: object, message: str, blocklist: KeyBlocklist = goodkey.EMPTY_BLOCKLIST) -> None:
    with pytest.raises(BadKey, match=f"^{re.escape(message)}$"):
        check_key(key, blocklist)


@pytest.mark.parametrize("bits", [2048, 3072])
def test_6_1_5_good_rsa_keys_pass(bits: int) -> None:
    check_key(rsa.generate_private_key(65537, bits).public_key(), goodkey.EMPTY_BLOCKLIST)


@pytest.mark.parametrize("curve", [ec.SECP256R1(), ec.SECP384R1(), ec.SECP521R1()])
def test_6_1_5_named_curves_pass(curve: ec.EllipticCurve) -> None:
    check_key(ec.generate_private_key(curve).public_key(), goodkey.EMPTY_BLOCKLIST)


def test_6_1_5_rsa_sizes_other_than_2048_3072_4096_refused() -> None:
    odd = rsa.generate_private_key(65537, 2304).public_key()
    _refused(odd, "unsupported RSA key size 2304 bits: use 2048, 3072 or 4096 bits")
    small = rsa.generate_private_key(65537, 1024).public_key()
    _refused(small, "unsupported RSA key size 1024 bits: use 2048, 3072 or 4096 bits")


def test_6_1_6_exponent_3_refused() -> None:
    _refused(
        weak_keys.exponent_3_key().public_key(), "unsupported RSA public exponent 3: use 65537"
    )


def test_6_1_5_curves_other_than_p256_p384_p521_refused() -> None:
    key = ec.generate_private_key(ec.SECP256K1()).public_key()
    _refused(
        key,
        "unsupported elliptic curve secp256k1: use P-256 (secp256r1), P-384 (secp384r1) or "
        "P-521 (secp521r1)",
    )


def test_6_1_1_3_small_prime_factor_refused() -> None:
    key = weak_keys.small_factor_key(2999).public_key()
    assert key.key_size == 2048 and key.public_numbers().n % 2999 == 0
    _refused(key, "RSA key is weak: its modulus has a prime factor below 3000")


def test_6_1_1_3_even_modulus_refused() -> None:
    even = rsa.RSAPublicNumbers(65537, (1 << 2047) + 2).public_key()
    _refused(even, goodkey.SMALL_FACTOR.format(bound=3000))


def test_6_1_1_3_close_primes_factored_by_fermat() -> None:
    key = weak_keys.close_primes_key()
    numbers = key.private_numbers()
    n = numbers.public_numbers.n
    assert goodkey.fermat_factor(n, goodkey.FERMAT_ROUNDS) == tuple(sorted((numbers.p, numbers.q)))
    _refused(
        key.public_key(),
        "RSA key is weak: Fermat's method factors its modulus (its two primes are too close)",
    )


def test_6_1_1_3_fermat_runs_at_least_100_rounds() -> None:
    """Primes whose Fermat search needs about 60 steps are still found (BR: >= 100 rounds)."""
    p = weak_keys.next_prime((0b11 << 1022) | 12345)
    q = weak_keys.next_prime(p + math.isqrt(8 * 60 * math.isqrt(p * p)))  # (q-p)^2 / 8a = 60
    steps = (p + q) // 2 - (math.isqrt(p * q - 1) + 1) + 1
    assert 20 < steps <= 100
    assert goodkey.fermat_factor(p * q, 20) is None
    assert goodkey.fermat_factor(p * q, goodkey.FERMAT_ROUNDS) == (p, q)


def test_6_1_1_3_roca_fingerprint_refused() -> None:
    key = weak_keys.roca_key().public_key()
    assert key.key_size == 2048
    assert goodkey.has_roca_fingerprint(key.public_numbers().n)
    _refused(
        key,
        "RSA key is weak: it has the ROCA fingerprint (CVE-2017-15361, an Infineon RSALib "
        "key); generate a new key",
    )


def test_6_1_1_3_random_keys_have_no_roca_fingerprint() -> None:
    for _ in range(3):
        n = rsa.generate_private_key(65537, 2048).public_key().public_numbers().n
        assert not goodkey.has_roca_fingerprint(n)


def test_6_1_1_3_blocklisted_key_refused(tmp_path: Path) -> None:
    blocked = ec.generate_private_key(ec.SECP256R1()).public_key()
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    path = tmp_path / "blocklist.txt"
    path.write_text(f"# compromised keys\n\n{spki_sha256(blocked).upper()}  # leaked in 2026\n")
    blocklist = KeyBlocklist.load(path)
    _refused(blocked, "the key is on the blocklist of known-compromised keys", blocklist)
    check_key(other, blocklist)
    assert ed25519.Ed25519PrivateKey.generate().public_key() not in blocklist


def test_spki_sha256_is_the_openssl_digest(tmp_path: Path) -> None:
    import hashlib
    import subprocess

    from cryptography.hazmat.primitives import serialization

    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    der = subprocess.run(
        ["openssl", "pkey", "-pubin", "-outform", "DER"], input=pem, capture_output=True, check=True
    ).stdout
    assert spki_sha256(key) == hashlib.sha256(der).hexdigest()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("abc\n", "line 1: expected the SHA-256 of a SubjectPublicKeyInfo as 64 hex digits"),
        ("# ok\n" + "z" * 64 + "\n", "line 2: expected the SHA-256"),
    ],
)
def test_malformed_blocklist_is_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "blocklist.txt"
    path.write_text(text)
    with pytest.raises(KeyBlocklistError, match=re.escape(message)):
        KeyBlocklist.load(path)


def test_missing_blocklist_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyBlocklistError, match=r"cannot read the key blocklist .*missing"):
        KeyBlocklist.load(tmp_path / "missing")


def test_off_curve_point_in_a_csr_is_a_bad_key() -> None:
    """cryptography validates EC points on load; the CSR check says so before the signature."""
    with pytest.raises(BadKey, match=r"^EC key is invalid: its point is not on the curve$"):
        load_csr(weak_keys.off_curve_csr("off.test"))


def test_weak_csr_keys_refused_by_csr_facts(tmp_path: Path) -> None:
    key = weak_keys.roca_key()
    with pytest.raises(BadKey, match="ROCA fingerprint"):
        csr_facts(load_csr(weak_keys.csr_for(key, "roca.test")))
    good = rsa.generate_private_key(65537, 2048)
    path = tmp_path / "blocklist.txt"
    path.write_text(spki_sha256(good.public_key()) + "\n")
    csr = load_csr(weak_keys.csr_for(good, "blocked.test"))
    assert csr_facts(csr).key_algorithm.value == "RSA_2048"
    with pytest.raises(BadKey, match="blocklist"):
        csr_facts(csr, KeyBlocklist.load(path))
