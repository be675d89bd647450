"""Checks and normal forms for values callers hand the store (ValueError when refused)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

from pki_types.serials import serial_text

METADATA_KEY_MAX = 255  # schema: certificate_metadata.key
METADATA_VALUE_MAX = 1024  # schema: certificate_metadata.value
SLUG_MAX = 64  # schema: certificate_profiles.slug
SERIAL_HEX_MAX = 40  # RFC 5280 section 4.1.2.2: at most 20 octets

_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?")
_HEX = re.compile(r"[0-9a-f]+")

E = TypeVar("E", bound=StrEnum)


def new_uuid() -> str:
    return str(uuid.uuid4())


def check_id(value: str, what: str = "id") -> str:
    """A UUID in canonical lowercase form; anything else raises ValueError."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, TypeError, AttributeError):
        raise ValueError(f"{what} must be a UUID string, got {value!r}") from None


def normalise_serial(serial_hex: str) -> str:
    """Lowercase hex of the serial's integer value: no separators, no leading zeros.

    "00:AB:cd" and "abcd" name the same serial, so they are stored (and looked up) alike.
    This is the key in the serial_hex columns, never shown: records carry `shown_serial`.
    """
    digits = serial_hex.replace(":", "").strip().lower()
    if not _HEX.fullmatch(digits):
        raise ValueError(f"serial must be hexadecimal, got {serial_hex!r}")
    digits = digits.lstrip("0") or "0"
    if len(digits) > SERIAL_HEX_MAX:
        raise ValueError(f"serial is longer than 20 octets: {serial_hex!r}")
    return digits


def shown_serial(stored: str) -> str:
    """A serial_hex column's value (any spelling normalise_serial accepts) in the form
    records carry and everything shows: openssl's, upper case, even length
    ("e85dff" -> "E85DFF", "e85df" -> "0E85DF"; pki_types.serials)."""
    return serial_text(int(normalise_serial(stored), 16))


def check_slug(slug: str) -> str:
    """Profile slugs appear in ACME URLs: lowercase letters, digits, '-' and '_'."""
    if len(slug) > SLUG_MAX or not _SLUG.fullmatch(slug):
        raise ValueError(
            f"profile slug must be 1-{SLUG_MAX} lowercase letters, digits, '-' or '_', "
            f"starting and ending with a letter or digit; got {slug!r}"
        )
    return slug


def check_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    """Certificate metadata: non-empty string keys, string values, both within the columns."""
    checked: dict[str, str] = {}
    for key, value in metadata.items():
        if not isinstance(key, str) or not key or len(key) > METADATA_KEY_MAX:
            raise ValueError(f"metadata keys must be 1-{METADATA_KEY_MAX} characters: {key!r}")
        if not isinstance(value, str) or len(value) > METADATA_VALUE_MAX:
            raise ValueError(
                f"metadata value for {key!r} must be a string of at most "
                f"{METADATA_VALUE_MAX} characters"
            )
        checked[key] = value
    return checked


def enum_value(kind: type[E], value: str, what: str) -> E:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise ValueError(f"{what} must be one of {allowed}; got {value!r}") from None
