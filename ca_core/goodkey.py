"""Key strength checks for account keys and CSR keys (CA/B Forum Baseline Requirements
6.1.1.3 and 6.1.5/6.1.6), pure functions over cryptography key objects.

In order, cheapest first:

1. Type, size and curve (`ca_core.keys.key_algorithm_of`): RSA 2048/3072/4096 bits with
   the public exponent 65537; ECDSA on P-256, P-384 or P-521 only. Points off the curve
   never get this far: cryptography refuses them when a key is loaded.
2. The operator's blocklist of known-compromised keys, by SHA-256 of the DER
   SubjectPublicKeyInfo (`KeyBlocklist`, loaded once from a file by the server).
3. RSA: no prime factor below `SMALL_PRIME_BOUND` (one gcd with their product).
4. RSA: Fermat's factorisation tried for `FERMAT_ROUNDS` rounds (primes too close together).
5. RSA: the ROCA fingerprint (CVE-2017-15361, Infineon RSALib): the modulus is a power of
   65537 modulo every one of the small primes the flawed generator used.

Every refusal is a BadKey whose message is shown to the client as it is.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ca_core.errors import BadKey, KeyBlocklistError
from ca_core.keys import key_algorithm_of, spki_der

SMALL_PRIME_BOUND = 3000  # trial division by every prime below this
FERMAT_ROUNDS = 100  # BR 6.1.1.3 (4): "at least 100 rounds"
# The primes whose residues the ROCA fingerprint checks (Nemec et al., CCS 2017, the
# detector published with the paper); RSALib's primes are 65537^a modulo their product.
ROCA_PRIMES = (
    *(3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71),
    *(73, 79, 83, 89, 97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157),
    *(163, 167),
)
ROCA_GENERATOR = 65537

SMALL_FACTOR = "RSA key is weak: its modulus has a prime factor below {bound}"
FERMAT_FACTORED = (
    "RSA key is weak: Fermat's method factors its modulus (its two primes are too close)"
)
ROCA_FINGERPRINT = (
    "RSA key is weak: it has the ROCA fingerprint (CVE-2017-15361, an Infineon RSALib key); "
    "generate a new key"
)
BLOCKLISTED = "the key is on the blocklist of known-compromised keys"
OFF_CURVE = "EC key is invalid: its point is not on the curve"


def _primes_below(bound: int) -> tuple[int, ...]:
    sieve = bytearray([1]) * bound
    sieve[0:2] = b"\x00\x00"
    for i in range(2, math.isqrt(bound) + 1):
        if sieve[i]:
            sieve[i * i :: i] = bytes(len(range(i * i, bound, i)))
    return tuple(i for i, flag in enumerate(sieve) if flag)


_SMALL_PRIMES_PRODUCT = math.prod(_primes_below(SMALL_PRIME_BOUND))


def _subgroup(generator: int, prime: int) -> frozenset[int]:
    members, value = {1}, generator % prime
    while value not in members:
        members.add(value)
        value = value * generator % prime
    return frozenset(members)


_ROCA_SUBGROUPS = tuple((p, _subgroup(ROCA_GENERATOR, p)) for p in ROCA_PRIMES)


def spki_sha256(
    key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey,
) -> str:
    """Lowercase hex SHA-256 of the DER SubjectPublicKeyInfo: the blocklist's key name
    (`openssl pkey -pubin -outform DER | sha256sum` gives the same)."""
    return hashlib.sha256(spki_der(key)).hexdigest()


@dataclass(frozen=True, slots=True)
class KeyBlocklist:
    """Known-compromised keys by SPKI SHA-256 (lowercase hex)."""

    hashes: frozenset[str] = frozenset()

    def __contains__(self, key: object) -> bool:
        if not isinstance(
            key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
        ):
            return False
        return bool(self.hashes) and spki_sha256(key) in self.hashes

    @classmethod
    def load(cls, path: Path) -> KeyBlocklist:
        """One hex SHA-256 per line; blank lines and text after `#` are ignored."""
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise KeyBlocklistError(f"cannot read the key blocklist {path}: {reason}") from None
        hashes: set[str] = set()
        for number, line in enumerate(text.splitlines(), start=1):
            value = line.split("#", 1)[0].strip().lower()
            if not value:
                continue
            if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
                raise KeyBlocklistError(
                    f"key blocklist {path} line {number}: expected the SHA-256 of a "
                    "SubjectPublicKeyInfo as 64 hex digits"
                )
            hashes.add(value)
        return cls(frozenset(hashes))


EMPTY_BLOCKLIST = KeyBlocklist()


def check_key(key: object, blocklist: KeyBlocklist) -> None:
    """Refuse (BadKey) a CSR or certificate key that is unsupported or weak."""
    key_algorithm_of(key)  # type, RSA size and exponent, named curve
    if key in blocklist:
        raise BadKey(BLOCKLISTED)
    if isinstance(key, rsa.RSAPublicKey):
        check_rsa_modulus(key.public_numbers().n)


def check_rsa_modulus(n: int) -> None:
    """The modulus checks of BR 6.1.1.3 (4): small factors, Fermat, ROCA."""
    if math.gcd(n, _SMALL_PRIMES_PRODUCT) != 1:
        raise BadKey(SMALL_FACTOR.format(bound=SMALL_PRIME_BOUND))
    if fermat_factor(n, FERMAT_ROUNDS) is not None:
        raise BadKey(FERMAT_FACTORED)
    if has_roca_fingerprint(n):
        raise BadKey(ROCA_FINGERPRINT)


def fermat_factor(n: int, rounds: int) -> tuple[int, int] | None:
    """Fermat's method: find a with a^2 - n a square b^2, then n = (a - b)(a + b)."""
    a = math.isqrt(n)
    if a * a < n:
        a += 1
    for _ in range(rounds):
        b2 = a * a - n
        b = math.isqrt(b2)
        if b * b == b2:
            return a - b, a + b
        a += 1
    return None


def has_roca_fingerprint(n: int) -> bool:
    """True when n mod p lies in the subgroup generated by 65537 for every ROCA prime."""
    return all(n % p in members for p, members in _ROCA_SUBGROUPS)
