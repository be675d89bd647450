"""Authorization polls that wait, briefly, for a validation this process is running.

A client answers a challenge (the POST returns it as `processing`, RFC 8555 7.5.1) and then
polls the authorization until it is no longer pending. Most validations against a
responsive host finish in milliseconds, so an authorization poll that finds one of its
challenges `processing` with the validation in flight in this process waits up to a bound
for the worker to record the result and answers with the outcome. The client needs one
poll instead of several, and the server answers fewer requests. When another process
works the job, or the bound runs out, the answer is `pending` with Retry-After, as
without the wait: waiting is an optimisation, never a dependency.
"""

from __future__ import annotations

import asyncio
import time

STALE_AFTER = 120.0  # seconds: a job another process took never reports here


class ValidationWaiters:
    """Per-process: challenge id -> the event set when its validation result is recorded."""

    def __init__(self) -> None:
        self._events: dict[str, tuple[float, asyncio.Event]] = {}

    def started(self, challenge_id: str) -> None:
        now = time.monotonic()
        stale = [k for k, (at, _) in self._events.items() if now - at > STALE_AFTER]
        for key in stale:
            del self._events[key]
        self._events[challenge_id] = (now, asyncio.Event())

    def in_flight(self, challenge_id: str) -> asyncio.Event | None:
        entry = self._events.get(challenge_id)
        return None if entry is None else entry[1]

    def done(self, challenge_id: str) -> None:
        entry = self._events.pop(challenge_id, None)
        if entry is not None:
            entry[1].set()
