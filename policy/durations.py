"""TTLs written as text, as the REST API writes them: "90d", "12h", "1y" (a year is 365 days).

The grammar is `pki_types.durations` (shared with `ca_core.ttl`); this module adds the policy's
bound, its `PolicyError` wording and its display ("365d", never "1y").
"""

from __future__ import annotations

from pki_types.durations import in_largest_unit, ttl_seconds
from policy.errors import PolicyError

MAX_TTL_SECONDS = 100 * 365 * 86400  # far beyond any certificate; refuses absurd values
_MAX_SHOWN_SECONDS = 10**15
_HINT = 'use a positive whole number followed by s, m, h, d, w or y, e.g. "365d"'


def parse_ttl_seconds(text: str) -> int:
    """Parse "<positive int><unit>" to seconds; PolicyError (without a location) otherwise."""
    seconds = ttl_seconds(text)
    if seconds is None:
        raise PolicyError(f"invalid TTL {text[:40]!r}: {_HINT}")
    check_ttl_seconds(seconds)
    return seconds


def check_ttl_seconds(seconds: int) -> None:
    if not 0 < seconds <= MAX_TTL_SECONDS:
        raise PolicyError("a TTL must be positive and at most 100 years")


def format_ttl_seconds(seconds: int) -> str:
    """Render in the largest exact unit of d, h, m, s ("365d", not "1y"); any int is accepted."""
    if abs(seconds) > _MAX_SHOWN_SECONDS:  # str() of a huge int may raise
        return f"more than {_MAX_SHOWN_SECONDS} seconds"
    return in_largest_unit(seconds, ("d", "h", "m"))
