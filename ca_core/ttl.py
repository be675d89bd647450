"""Validity periods written as text: "90d", "12h", "1y" (a year is 365 days)."""

from __future__ import annotations

import re
from datetime import timedelta

from ca_core.errors import InvalidTTL

UNIT_SECONDS: dict[str, int] = {
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 7 * 86400,
    "y": 365 * 86400,
}
MAX_TTL = timedelta(days=100 * 365)  # far beyond any sane certificate; refuses overflow
_TTL_RE = re.compile(r"([0-9]{1,12})([smhdwy])")
_HINT = 'use a positive whole number followed by s, m, h, d, w or y, e.g. "90d" or "12h"'


def parse_ttl(text: str) -> timedelta:
    """Parse "<positive int><unit>"; raise InvalidTTL with a helpful message otherwise."""
    match = _TTL_RE.fullmatch(text.strip())
    if match is None or int(match.group(1)) == 0:
        raise InvalidTTL(f"invalid TTL {_quote(text)}: {_HINT}")
    seconds = int(match.group(1)) * UNIT_SECONDS[match.group(2)]
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
    for unit in ("y", "w", "d", "h", "m"):
        if seconds % UNIT_SECONDS[unit] == 0:
            return f"{seconds // UNIT_SECONDS[unit]}{unit}"
    return f"{seconds}s"


def _quote(text: str) -> str:
    """Quote user text for a message: short, with invisible characters escaped."""
    shown = text if len(text) <= 40 else text[:40] + "..."
    return '"' + "".join(c if c.isprintable() else repr(c)[1:-1] for c in shown) + '"'
