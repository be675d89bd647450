"""Rate limits: sliding windows kept per server process.

A limit reached raises RateLimitedError, which ACME answers with rateLimited and Retry-After
(RFC 8555 6.6). They are counted in each
process's memory, so with N processes an account can reach N times a limit; the limits are a
guard against runaway clients, not a quota.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field

from acme_server.services.errors import RateLimitedError

MAX_TRACKED_KEYS = 100_000


@dataclass
class RateLimiter:
    _events: dict[tuple[str, str], deque[float]] = field(default_factory=dict)

    def hit(self, kind: str, key: str, *, limit: int, window: float, what: str) -> None:
        """Count one event; raise rateLimited when `limit` were already counted in `window`."""
        if limit <= 0:
            return
        now = time.monotonic()
        events = self._events.get((kind, key))
        if events is None:
            if len(self._events) >= MAX_TRACKED_KEYS:
                self._prune(now, window)
            events = self._events.setdefault((kind, key), deque())
        while events and events[0] <= now - window:
            events.popleft()
        if len(events) >= limit:
            retry_after = max(1, math.ceil(events[0] + window - now))
            raise RateLimitedError(
                f"too many {what}: {limit} per {int(window)} s", retry_after=retry_after
            )
        events.append(now)

    def record(self, kind: str, key: str) -> None:
        """Count one event without a limit (limits on it are checked with `count`)."""
        self._events.setdefault((kind, key), deque()).append(time.monotonic())

    def count(self, kind: str, key: str, *, window: float) -> int:
        now = time.monotonic()
        events = self._events.get((kind, key), deque())
        return sum(1 for t in events if t > now - window)

    def _prune(self, now: float, window: float) -> None:
        for key in [k for k, v in self._events.items() if not v or v[-1] <= now - window]:
            del self._events[key]
