"""Certificate serial numbers: positive, at least 64 CSPRNG bits, at most 20 octets."""

from __future__ import annotations

from cryptography import x509

from ca_core.errors import CAError
from pki_types.serials import serial_text

MAX_SERIAL_OCTETS = 20  # RFC 5280 section 4.1.2.2


def new_serial() -> int:
    """A fresh random serial (159 bits from the OS CSPRNG, so always positive)."""
    return x509.random_serial_number()


def serial_to_hex(n: int) -> str:
    """The form openssl prints (pki_types.serials): upper-case hex of even length without
    "0x" or colons, e.g. 255 -> "FF", 256 -> "0100"."""
    if n <= 0:
        raise CAError(f"a serial number must be positive, got {n}")
    return serial_text(n)


def serial_from_hex(s: str) -> int:
    """Parse a serial in any spelling: `serial_to_hex`'s, and also "0x", lower case,
    colons, odd length and leading zeros ("e85d", "0E:85:DD", "0x0e85dd")."""
    text = s.strip().lower().replace(":", "").removeprefix("0x")
    if not text or any(c not in "0123456789abcdef" for c in text):
        raise CAError(f"invalid serial number {s!r}: expected hexadecimal digits")
    n = int(text, 16)
    if n <= 0 or n.bit_length() >= 8 * MAX_SERIAL_OCTETS:  # DER sign bit
        raise CAError(
            f"invalid serial number {s!r}: it must be positive and at most "
            f"{MAX_SERIAL_OCTETS} octets"
        )
    return n
