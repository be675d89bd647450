"""Serial numbers (RFC 5280 4.1.2.2): positive, >= 64 random bits, <= 20 octets; shown as
`openssl x509 -noout -serial` prints them, read back in any spelling."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import given
from hypothesis import strategies as st

from ca_core.errors import CAError
from ca_core.issuer import issue_self_signed
from ca_core.serials import new_serial, serial_from_hex, serial_to_hex
from pki_types.model import KeyAlgorithm
from tests.ca_core.helpers import cached_key, leaf_request, openssl

# 0x0E85DF...: the top nibble is zero, so openssl prints a leading "0" (40 digits, not 39)
TOP_NIBBLE_ZERO = 0x0E85DFF1C2D3B4A59687_7A6B5C4D3E2F10213243


def test_s4_1_2_2_new_serials_are_positive_large_and_at_most_20_octets() -> None:
    serials = [new_serial() for _ in range(200)]
    assert len(set(serials)) == 200
    assert all(s > 0 and s.bit_length() <= 159 for s in serials)
    assert max(s.bit_length() for s in serials) > 64


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (1, "01"),
        (0x80, "80"),  # no DER sign octet: openssl prints the magnitude
        (255, "FF"),
        (256, "0100"),
        (0xABCDEF, "ABCDEF"),
        (0xE85DF, "0E85DF"),
        (TOP_NIBBLE_ZERO, "0E85DFF1C2D3B4A596877A6B5C4D3E2F10213243"),
        (2**159 - 1, "7" + "F" * 39),
    ],
)
def test_serial_to_hex_is_upper_case_even_length_without_colons(n: int, text: str) -> None:
    assert serial_to_hex(n) == text
    assert serial_from_hex(text) == n


@pytest.mark.parametrize(
    "given", [1, 0x80, 255, 256, 0xE85DF, TOP_NIBBLE_ZERO, 2**155, 2**159 - 1, None]
)
def test_serial_to_hex_is_what_openssl_prints(given: int | None) -> None:
    # None: a new random serial, drawn here (not at collection, which every xdist worker
    # must do alike).
    n = new_serial() if given is None else given
    key = cached_key(KeyAlgorithm.EC_P256, "serials")
    pem = issue_self_signed(leaf_request(key, serial=n), key).public_bytes(Encoding.PEM)
    shown = openssl("x509", "-noout", "-serial", stdin=pem)
    assert shown.returncode == 0, shown.stdout
    assert shown.stdout.strip() == f"serial={serial_to_hex(n)}"


@pytest.mark.parametrize(
    "text",
    [
        "0E85DF",  # the shown form
        "0e85df",  # lower case
        "e85df",  # odd length: the leading zero dropped (how serials used to be shown)
        "E85DF",
        "0e:85:df",  # colon-separated, as `openssl x509 -text` and browsers show it
        "0E:85:DF",
        "00:0E:85:DF",  # a DER-style leading zero octet
        "0x0e85df",
        " 0E85DF ",
    ],
)
def test_serial_from_hex_reads_every_spelling(text: str) -> None:
    assert serial_from_hex(text) == 0xE85DF
    assert serial_to_hex(serial_from_hex(text)) == "0E85DF"


@pytest.mark.parametrize("text", ["", "xyz", "00", "-1", "1" * 41, "0E 85", "0E_85"])
def test_serial_from_hex_refuses_non_serials(text: str) -> None:
    with pytest.raises(CAError, match="invalid serial number"):
        serial_from_hex(text)


def test_serial_to_hex_refuses_non_positive() -> None:
    with pytest.raises(CAError, match="must be positive"):
        serial_to_hex(0)
    with pytest.raises(CAError, match="must be positive"):
        serial_to_hex(-5)


@given(st.integers(min_value=1, max_value=2**159 - 1))
def test_hex_round_trip(n: int) -> None:
    text = serial_to_hex(n)
    assert len(text) % 2 == 0 and text == text.upper() and ":" not in text
    assert len(text) == 2 * ((n.bit_length() + 7) // 8)  # no octet more than the value needs
    assert serial_from_hex(text) == n
    assert serial_from_hex(text.lower()) == n
    assert serial_from_hex(text.lstrip("0")) == n
    assert serial_from_hex(":".join(text[i : i + 2] for i in range(0, len(text), 2))) == n
