"""Authorization and order polls that wait, briefly, for a validation this process is running.

A client answers a challenge (the POST returns it as `processing`, RFC 8555 7.5.1) and then
polls the authorization (or the order) until it is no longer pending. Most validations
against a responsive host finish in milliseconds, so a poll that finds a validation in
flight in this process waits up to a bound for the worker to record the result and answers
with the outcome: the client needs one poll instead of several, and the server answers
fewer requests. An order poll waits the same way for its authorizations' validations
(clients such as lego, and the bench, poll the order).

A challenge POST here registers the validation as expected; a poll waits at most CLAIM_WAIT
for this process's worker to take the job (with several server processes another one's
worker may, and a poll here must not wait for a result it will never be told of), then for
the outcome. A job this worker takes that another process's POST started can be waited for
here too. When another process works the job, or the bound runs out, the answer is
`pending` with Retry-After, as without the wait: waiting is an optimisation, never a
dependency.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

STALE_AFTER = 120.0  # seconds: a job another process took never reports here
CLAIM_WAIT = 0.5  # seconds a poll waits for this process's worker to take the job


@dataclass(slots=True)
class _Validation:
    authorization_id: str
    at: float = field(default_factory=time.monotonic)
    claimed: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    elsewhere: bool = False  # not claimed here in time: presumably another process has it


class ValidationWaiters:
    """Per-process: challenge id -> its validation's claim and outcome events, also found
    by the challenge's authorization id."""

    def __init__(self) -> None:
        self._validations: dict[str, _Validation] = {}
        self._by_authorization: dict[str, str] = {}  # authorization id -> challenge id

    def started(self, challenge_id: str, authorization_id: str) -> None:
        """A challenge POST here asked for the validation."""
        self._entry(challenge_id, authorization_id)

    def taken(self, challenge_id: str) -> None:
        """This process's worker claimed the job of a challenge a POST here started."""
        validation = self._validations.get(challenge_id)
        if validation is not None:
            validation.claimed.set()

    def claimed(self, challenge_id: str, authorization_id: str) -> None:
        """This process's worker is validating the challenge now."""
        self._entry(challenge_id, authorization_id).claimed.set()

    def done(self, challenge_id: str) -> None:
        """The outcome is recorded (or the attempt given up): waiting polls read it."""
        validation = self._validations.pop(challenge_id, None)
        if validation is None:
            return
        if self._by_authorization.get(validation.authorization_id) == challenge_id:
            del self._by_authorization[validation.authorization_id]
        validation.claimed.set()
        validation.done.set()

    async def wait_for_challenges(self, challenge_ids: Iterable[str], seconds: float) -> bool:
        """Wait, at most `seconds` in all, for the outcomes of those of the challenges this
        process validates; True if any arrived."""
        found = [
            v
            for c in challenge_ids
            if (v := self._validations.get(c)) is not None
            and (v.claimed.is_set() or not v.elsewhere)
        ]
        return await _wait(found, seconds)

    async def wait_for_authorizations(
        self, authorization_ids: Iterable[str], seconds: float
    ) -> bool:
        """The same, for the validations of the authorizations' challenges."""
        challenges = [c for a in authorization_ids if (c := self._by_authorization.get(a))]
        return await self.wait_for_challenges(challenges, seconds)

    def _entry(self, challenge_id: str, authorization_id: str) -> _Validation:
        now = time.monotonic()
        stale = [c for c, v in self._validations.items() if now - v.at > STALE_AFTER]
        for challenge in stale:
            self.done(challenge)
        validation = self._validations.get(challenge_id)
        if validation is None:
            validation = self._validations[challenge_id] = _Validation(authorization_id)
            self._by_authorization[authorization_id] = challenge_id
        return validation


async def _wait(validations: list[_Validation], seconds: float) -> bool:
    if not validations or seconds <= 0:
        return False
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            for validation in validations:
                if not validation.claimed.is_set():
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(CLAIM_WAIT):
                            await validation.claimed.wait()
                    if not validation.claimed.is_set():
                        validation.elsewhere = True  # later polls here answer at once
                        continue  # another process's worker has it
                await validation.done.wait()
    return any(validation.done.is_set() for validation in validations)
