"""The one text form of a certificate serial number: what `openssl x509 -noout -serial`
prints after "serial=".

Upper-case hexadecimal, an even number of digits (so a serial whose top nibble is zero
keeps its leading "0"), no colons and no "0x": 255 -> "FF", 256 -> "0100". The REST API,
the CLI, audit details, events and file names all show this form. Reading one is lenient
(ca_core.serials.serial_from_hex; store.values.normalise_serial, the lookup key, alike but
for "0x"): either case, colons, "0x", odd length and leading zeros name the same number.
"""

from __future__ import annotations


def serial_text(n: int) -> str:
    """The openssl form of serial `n` (ValueError for a negative one)."""
    if n < 0:
        raise ValueError(f"a serial number must not be negative, got {n}")
    digits = format(n, "X")
    return digits if len(digits) % 2 == 0 else "0" + digits
