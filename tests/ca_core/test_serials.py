"""Serial numbers (RFC 5280 4.1.2.2): positive, >= 64 random bits, <= 20 octets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ca_core.errors import CAError
from ca_core.serials import new_serial, serial_from_hex, serial_to_hex


def test_s4_1_2_2_new_serials_are_positive_large_and_at_most_20_octets() -> None:
    serials = [new_serial() for _ in range(200)]
    assert len(set(serials)) == 200
    assert all(s > 0 and s.bit_length() <= 159 for s in serials)
    assert max(s.bit_length() for s in serials) > 64


@pytest.mark.parametrize(
    ("n", "text"), [(1, "01"), (255, "ff"), (256, "0100"), (0xABCDEF, "abcdef")]
)
def test_serial_to_hex_is_lowercase_and_even_length(n: int, text: str) -> None:
    assert serial_to_hex(n) == text
    assert serial_from_hex(text) == n


@pytest.mark.parametrize("text", ["0xFF", "FF", "0f:f0", " ff "])
def test_serial_from_hex_is_lenient_about_notation(text: str) -> None:
    assert serial_from_hex(text) in (255, 0x0FF0)


@pytest.mark.parametrize("text", ["", "xyz", "00", "-1", "1" * 41])
def test_serial_from_hex_refuses_non_serials(text: str) -> None:
    with pytest.raises(CAError, match="invalid serial number"):
        serial_from_hex(text)


def test_serial_to_hex_refuses_non_positive() -> None:
    with pytest.raises(CAError, match="must be positive"):
        serial_to_hex(0)


@given(st.integers(min_value=1, max_value=2**159 - 1))
def test_hex_round_trip(n: int) -> None:
    text = serial_to_hex(n)
    assert len(text) % 2 == 0 and text == text.lower()
    assert serial_from_hex(text) == n
