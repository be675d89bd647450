"""Durations and renew-before settings as agent.yaml writes them: "30s", "15m", "12h",
"30d", "2w"; a renew-before may also be a share of the lifetime, "33%"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"([0-9]{1,9})([smhdw])")
_PERCENT = re.compile(r"([0-9]{1,3}(?:\.[0-9]{1,3})?)%")
DURATION_HINT = 'a whole number followed by s, m, h, d or w, e.g. "30s" or "12h"'


def parse_duration(text: str) -> timedelta:
    """Parse "<positive int><unit>"; ValueError naming the expected form otherwise."""
    match = _DURATION.fullmatch(text.strip())
    if match is None or int(match.group(1)) == 0:
        raise ValueError(f"{text!r} is not a duration: use {DURATION_HINT}")
    return timedelta(seconds=int(match.group(1)) * UNIT_SECONDS[match.group(2)])


def format_duration(td: timedelta) -> str:
    seconds = int(td.total_seconds())
    for unit in ("w", "d", "h", "m"):
        if seconds and seconds % UNIT_SECONDS[unit] == 0:
            return f"{seconds // UNIT_SECONDS[unit]}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True, slots=True)
class RenewBefore:
    """When to renew: a fixed period before notAfter, or when `fraction` of the lifetime
    is left (0 < fraction < 1)."""

    period: timedelta | None = None
    fraction: float | None = None

    @classmethod
    def parse(cls, text: str) -> RenewBefore:
        percent = _PERCENT.fullmatch(text.strip())
        if percent is not None:
            value = float(percent.group(1))
            if not 0 < value < 100:
                raise ValueError(f"{text!r}: a percentage must be above 0% and below 100%")
            return cls(fraction=value / 100)
        try:
            return cls(period=parse_duration(text))
        except ValueError:
            raise ValueError(
                f"{text!r} is neither a duration ({DURATION_HINT}) nor a percentage "
                'of the lifetime (e.g. "33%")'
            ) from None

    def renew_at(self, not_before: datetime, not_after: datetime) -> datetime:
        """The moment a certificate valid from not_before to not_after is due. A period
        longer than the lifetime makes it due at once (not_before)."""
        if self.fraction is not None:
            return not_after - (not_after - not_before) * self.fraction
        assert self.period is not None
        return max(not_before, not_after - self.period)

    def __str__(self) -> str:
        if self.fraction is not None:
            return f"{self.fraction * 100:g}%"
        assert self.period is not None
        return format_duration(self.period)
