"""Authorization and order polls that wait, briefly, for a validation this process is running.

A client answers a challenge (the POST returns it as `processing`, RFC 8555 7.5.1) and then
polls the authorization until it is no longer pending. Most validations against a
responsive host finish in milliseconds, so an authorization poll that finds one of its
challenges `processing` with the validation in flight in this process waits up to a bound
for the worker to record the result and answers with the outcome. The client needs one
poll instead of several, and the server answers fewer requests. An order poll that finds
the order pending while validations of its authorizations are in flight here waits the
same way (clients such as lego and the bench poll the order, not the authorization). When
another process
works the job, or the bound runs out, the answer is `pending` with Retry-After, as
without the wait: waiting is an optimisation, never a dependency.
"""

from __future__ import annotations

import asyncio
import time

STALE_AFTER = 120.0  # seconds: a job another process took never reports here


class ValidationWaiters:
    """Per-process: challenge id -> the event set when its validation result is recorded,
    also found by the challenge's authorization id."""

    def __init__(self) -> None:
        self._events: dict[str, tuple[float, asyncio.Event, str]] = {}
        self._by_authorization: dict[str, str] = {}  # authorization id -> challenge id

    def started(self, challenge_id: str, authorization_id: str = "") -> None:
        now = time.monotonic()
        stale = [k for k, (at, _, _) in self._events.items() if now - at > STALE_AFTER]
        for key in stale:
            self._forget(key)
        self._events[challenge_id] = (now, asyncio.Event(), authorization_id)
        if authorization_id:
            self._by_authorization[authorization_id] = challenge_id

    def in_flight(self, challenge_id: str) -> asyncio.Event | None:
        entry = self._events.get(challenge_id)
        return None if entry is None else entry[1]

    def in_flight_for(self, authorization_id: str) -> asyncio.Event | None:
        """The event of a validation in flight for the authorization, if any."""
        challenge_id = self._by_authorization.get(authorization_id)
        return None if challenge_id is None else self.in_flight(challenge_id)

    def done(self, challenge_id: str) -> None:
        entry = self._forget(challenge_id)
        if entry is not None:
            entry[1].set()

    def _forget(self, challenge_id: str) -> tuple[float, asyncio.Event, str] | None:
        entry = self._events.pop(challenge_id, None)
        if entry is not None and self._by_authorization.get(entry[2]) == challenge_id:
            del self._by_authorization[entry[2]]
        return entry
