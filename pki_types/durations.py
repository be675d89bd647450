"""TTLs written as text, as the REST API, the CLI and the settings write them: "90d", "12h",
"1y" (a year is 365 days). Units: s, m (minutes), h, d, w, y.

The one parser of that grammar. `policy.durations` and `ca_core.ttl` wrap it with their own
error type, bounds and wording; this module raises nothing of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

UNIT_SECONDS: dict[str, int] = {
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 7 * 86400,
    "y": 365 * 86400,
}
_TTL_RE = re.compile(r"([0-9]{1,12})([smhdwy])")


def ttl_seconds(text: str) -> int | None:
    """Seconds of "<positive int><unit>" (surrounding whitespace ignored); None otherwise."""
    match = _TTL_RE.fullmatch(text.strip())
    if match is None or int(match.group(1)) == 0:
        return None
    return int(match.group(1)) * UNIT_SECONDS[match.group(2)]


def in_largest_unit(seconds: int, units: Iterable[str]) -> str:
    """A positive count of seconds in the first of `units` (largest first) that divides it
    exactly, else in seconds."""
    if seconds > 0:
        for unit in units:
            if seconds % UNIT_SECONDS[unit] == 0:
                return f"{seconds // UNIT_SECONDS[unit]}{unit}"
    return f"{seconds}s"
