"""Real weak RSA keys built from chosen primes (cryptography's RSAPrivateNumbers), and EC
public keys with a point moved off the curve, for the key-strength tests."""

from __future__ import annotations

import base64
import functools
import math
import secrets

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ca_core.goodkey import ROCA_GENERATOR, ROCA_PRIMES

E = 65537
_SMALL = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47)


def is_probable_prime(n: int, rounds: int = 32) -> bool:
    """Miller-Rabin with random bases."""
    if n < 2:
        return False
    for p in _SMALL:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(rounds):
        x = pow(secrets.randbelow(n - 3) + 2, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def _usable(p: int, e: int) -> bool:
    return math.gcd(e, p - 1) == 1 and is_probable_prime(p)


def next_prime(start: int, e: int = E) -> int:
    candidate = start | 1
    while not _usable(candidate, e):
        candidate += 2
    return candidate


def key_from_primes(p: int, q: int, e: int = E) -> rsa.RSAPrivateKey:
    d = pow(e, -1, math.lcm(p - 1, q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=d,
        dmp1=rsa.rsa_crt_dmp1(d, p),
        dmq1=rsa.rsa_crt_dmq1(d, q),
        iqmp=rsa.rsa_crt_iqmp(p, q),
        public_numbers=rsa.RSAPublicNumbers(e, p * q),
    )
    return numbers.private_key(unsafe_skip_rsa_key_validation=True)


def _random_prime(bits: int, e: int = E) -> int:
    top = 0b11 << (bits - 2)  # two top bits set: a product of two has exactly 2 * bits
    return next_prime(top | secrets.randbits(bits - 2), e)


@functools.cache
def small_factor_key(factor: int = 2999) -> rsa.RSAPrivateKey:
    """A 2048-bit modulus divisible by the prime `factor` (below the trial-division bound)."""
    low, high = (1 << 2047) // factor + 1, (1 << 2048) // factor
    while True:
        q = next_prime(low + secrets.randbelow(high - low))
        if (factor * q).bit_length() == 2048:
            return key_from_primes(factor, q)


@functools.cache
def close_primes_key() -> rsa.RSAPrivateKey:
    """2048 bits whose primes differ by about 2^20: Fermat's method factors it at once."""
    p = _random_prime(1024)
    return key_from_primes(p, next_prime(p + (1 << 20)))


@functools.cache
def exponent_3_key() -> rsa.RSAPrivateKey:
    return key_from_primes(_random_prime(1024, 3), _random_prime(1024, 3), e=3)


def _roca_prime(bits: int) -> int:
    """A prime shaped like Infineon RSALib's: k * M + (65537^a mod M), M the primorial."""
    modulus = 2 * math.prod(ROCA_PRIMES)
    low, high = (0b11 << (bits - 2)) // modulus + 1, (1 << bits) // modulus
    while True:
        residue = pow(ROCA_GENERATOR, secrets.randbelow(1 << 64) + 1, modulus)
        p = (low + secrets.randbelow(high - low)) * modulus + residue
        if _usable(p, E):
            return p


@functools.cache
def roca_key() -> rsa.RSAPrivateKey:
    """A 2048-bit key with the ROCA fingerprint (both primes of the RSALib shape)."""
    return key_from_primes(_roca_prime(1024), _roca_prime(1024))


def off_curve_jwk() -> dict[str, str]:
    """A P-256 JWK whose y coordinate no longer satisfies the curve equation."""
    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()

    def b64(value: int) -> str:
        return base64.urlsafe_b64encode(value.to_bytes(32, "big")).rstrip(b"=").decode()

    return {"kty": "EC", "crv": "P-256", "x": b64(point.x), "y": b64(point.y ^ 1)}


def off_curve_csr(name: str) -> bytes:
    """A DER CSR for `name` whose EC public point is moved off the curve (the signature no
    longer matches either: the key check must come first)."""
    key = ec.generate_private_key(ec.SECP256R1())
    der = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.DER)
    )
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert der.count(point) == 1
    bad = point[:-1] + bytes([point[-1] ^ 1])
    return der.replace(point, bad)


def csr_for(key: rsa.RSAPrivateKey, name: str) -> bytes:
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.DER)
    )
