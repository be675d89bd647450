"""TTLs written as text, as the REST API writes them: "90d", "12h", "1y" (a year is 365 days).

The same units as `ca_core.ttl` (which this package may not import): s, m (minutes), h, d,
w, y.
"""

from __future__ import annotations

import re

from policy.errors import PolicyError

UNIT_SECONDS: dict[str, int] = {
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 7 * 86400,
    "y": 365 * 86400,
}
MAX_TTL_SECONDS = 100 * 365 * 86400  # far beyond any certificate; refuses absurd values
_MAX_SHOWN_SECONDS = 10**15
_TTL_RE = re.compile(r"([0-9]{1,12})([smhdwy])")
_HINT = 'use a positive whole number followed by s, m, h, d, w or y, e.g. "365d"'


def parse_ttl_seconds(text: str) -> int:
    """Parse "<positive int><unit>" to seconds; PolicyError (without a location) otherwise."""
    match = _TTL_RE.fullmatch(text.strip())
    if match is None or int(match.group(1)) == 0:
        raise PolicyError(f"invalid TTL {text[:40]!r}: {_HINT}")
    seconds = int(match.group(1)) * UNIT_SECONDS[match.group(2)]
    check_ttl_seconds(seconds)
    return seconds


def check_ttl_seconds(seconds: int) -> None:
    if not 0 < seconds <= MAX_TTL_SECONDS:
        raise PolicyError("a TTL must be positive and at most 100 years")


def format_ttl_seconds(seconds: int) -> str:
    """Render in the largest exact unit of d, h, m, s ("365d", not "1y"); any int is accepted."""
    if abs(seconds) > _MAX_SHOWN_SECONDS:  # str() of a huge int may raise
        return f"more than {_MAX_SHOWN_SECONDS} seconds"
    if seconds > 0:
        for unit in ("d", "h", "m"):
            if seconds % UNIT_SECONDS[unit] == 0:
                return f"{seconds // UNIT_SECONDS[unit]}{unit}"
    return f"{seconds}s"
