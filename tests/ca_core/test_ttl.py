"""TTL text such as "90d": parsing, refusal messages, display."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ca_core.errors import InvalidTTL
from ca_core.ttl import MAX_TTL, format_ttl, parse_ttl


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90d", timedelta(days=90)),
        ("365d", timedelta(days=365)),
        ("12h", timedelta(hours=12)),
        ("30m", timedelta(minutes=30)),
        ("45s", timedelta(seconds=45)),
        ("2w", timedelta(weeks=2)),
        ("1y", timedelta(days=365)),
        ("  7d\n", timedelta(days=7)),
        ("007d", timedelta(days=7)),
        ("100y", MAX_TTL),
    ],
)
def test_valid_ttls(text: str, expected: timedelta) -> None:
    assert parse_ttl(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "   ", "0d", "-1d", "1.5d", "abc", "10", "10x", "d", "1 d", "1D", "1d2h", "٣d", "+1d"],
)
def test_invalid_ttls_are_refused_with_a_hint(text: str) -> None:
    with pytest.raises(InvalidTTL) as caught:
        parse_ttl(text)
    assert str(caught.value).endswith(
        ': use a positive whole number followed by s, m, h, d, w or y, e.g. "90d" or "12h"'
    )


def test_invalid_ttl_message_is_exact() -> None:
    with pytest.raises(InvalidTTL) as caught:
        parse_ttl("abc")
    assert str(caught.value) == (
        'invalid TTL "abc": use a positive whole number followed by s, m, h, d, w or y, '
        'e.g. "90d" or "12h"'
    )


@pytest.mark.parametrize("text", ["101y", "36501d", "999999999999y", "9" * 5000 + "d"])
def test_absurdly_large_ttls_are_refused(text: str) -> None:
    with pytest.raises(InvalidTTL, match="invalid TTL"):
        parse_ttl(text)


def test_too_large_message_names_the_limit() -> None:
    with pytest.raises(InvalidTTL, match=r'^invalid TTL "101y": at most 100y \(36500 days\)'):
        parse_ttl("101y")


@pytest.mark.parametrize(
    ("td", "text"),
    [
        (timedelta(days=365), "1y"),
        (timedelta(days=90), "90d"),
        (timedelta(days=14), "2w"),
        (timedelta(hours=36), "36h"),
        (timedelta(minutes=90), "90m"),
        (timedelta(seconds=61), "61s"),
        (timedelta(seconds=61, microseconds=5), "61s"),
    ],
)
def test_format_ttl(td: timedelta, text: str) -> None:
    assert format_ttl(td) == text


@pytest.mark.parametrize("td", [timedelta(0), timedelta(seconds=-5), timedelta(microseconds=1)])
def test_format_ttl_refuses_less_than_a_second(td: timedelta) -> None:
    with pytest.raises(InvalidTTL, match="at least one second"):
        format_ttl(td)


@given(st.text())
def test_parse_ttl_raises_nothing_but_invalid_ttl(text: str) -> None:
    with contextlib.suppress(InvalidTTL):
        assert parse_ttl(text) > timedelta(0)


@given(st.from_regex(r"\s*[0-9]{1,14}[smhdwyx]?\s*", fullmatch=True))
def test_parse_ttl_on_near_misses_raises_nothing_but_invalid_ttl(text: str) -> None:
    with contextlib.suppress(InvalidTTL):
        assert timedelta(0) < parse_ttl(text) <= MAX_TTL


@given(st.integers(min_value=1, max_value=int(MAX_TTL.total_seconds())))
def test_format_then_parse_is_the_identity(seconds: int) -> None:
    td = timedelta(seconds=seconds)
    assert parse_ttl(format_ttl(td)) == td


@pytest.mark.parametrize(
    ("text", "shown"),
    [("ünï", '"ünï"'), ("1d\x00", '"1d\\x00"'), ("x" * 50, '"' + "x" * 40 + '..."')],
)
def test_messages_quote_the_input_readably(text: str, shown: str) -> None:
    with pytest.raises(InvalidTTL) as caught:
        parse_ttl(text)
    assert str(caught.value).startswith(f"invalid TTL {shown}: ")
