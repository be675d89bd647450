"""What can go wrong talking to the server, sorted by what the agent does about it.

EnrollmentError
 +-- TransientError     server down, timeout, 5xx, 429: retried with backoff
 +-- PermanentError     the server refused (4xx): logged, tried again next check
      +-- ProfileMissing   the configured profile does not exist: at start, exit 2
"""

from __future__ import annotations

import httpx


class EnrollmentError(Exception):
    """The agent could not get a certificate; the message says why."""


class TransientError(EnrollmentError):
    """Worth retrying soon."""


class PermanentError(EnrollmentError):
    """Retrying the same request will not help until something changes."""


class ProfileMissing(PermanentError):
    """The server has no such profile."""


class CredentialsRefused(PermanentError):
    """The server refused the machine identity's credentials."""


def message_of(response: httpx.Response) -> str:
    """What an error answer says: its message (or detail), with any listed details."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, dict):
        message = str(body.get("message") or body.get("detail") or body)
        details = body.get("details")
        if isinstance(details, list) and details:
            message += ": " + "; ".join(str(d) for d in details)
        return message
    return str(body)[:200]
