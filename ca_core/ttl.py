"""Validity periods written as text: "90d", "12h", "1y" (a year is 365 days).

The grammar is `pki_types.durations` (shared with `policy.durations`); this module adds the
CA core's bound, its `InvalidTTL` wording and its display (largest exact unit, "1y").
"""

from __future__ import annotations

from datetime import timedelta

from ca_core.errors import InvalidTTL
from pki_types.durations import in_largest_unit, ttl_seconds

MAX_TTL = timedelta(days=100 * 365)  # far beyond any sane certificate; refuses overflow
_HINT = 'use a positive whole number followed by s, m, h, d, w or y, e.g. "90d" or "12h"'


def parse_ttl(text: str) -> timedelta:
    """Parse "<positive int><unit>"; raise InvalidTTL with a helpful message otherwise."""
    seconds = ttl_seconds(text)
    if seconds is None:
        raise InvalidTTL(f"invalid TTL {_quote(text)}: {_HINT}")
    if seconds > MAX_TTL.total_seconds():
        raise InvalidTTL(
            f"invalid TTL {_quote(text)}: at most {format_ttl(MAX_TTL)} "
            f"({MAX_TTL.days} days) is allowed"
        )
    return timedelta(seconds=seconds)


def format_ttl(td: timedelta) -> str:
    """Render a positive period in its largest exact unit; sub-second parts are dropped."""
    seconds = td // timedelta(seconds=1)
    if seconds <= 0:
        raise InvalidTTL(f"cannot format a TTL of {td}: it must be at least one second")
    return in_largest_unit(seconds, ("y", "w", "d", "h", "m"))


def _quote(text: str) -> str:
    """Quote user text for a message: short, with invisible characters escaped."""
    shown = text if len(text) <= 40 else text[:40] + "..."
    return '"' + "".join(c if c.isprintable() else repr(c)[1:-1] for c in shown) + '"'
