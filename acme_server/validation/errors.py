"""The one error validation raises; the worker stores `to_problem()` on the challenge.

ValidationFailure(problem, detail)
    problem  an RFC 8555 section 6.7 error type suffix (PROBLEM_TYPES), e.g. "connection";
             anything else is a programming error (ValueError)
    detail   text for the ACME client: names the URL/address and what was wrong, never a
             secret and never a Python exception repr
"""

from __future__ import annotations

from typing import Any, Final

from acme_server.services.errors import ACME_ERROR, stored_problem

# RFC 8555 section 6.7 (table of error types). Validation itself produces caa, connection,
# dns, incorrectResponse, rejectedIdentifier, tls and unauthorized; the rest are accepted so
# a caller can report, e.g., "malformed" through the same path.
PROBLEM_TYPES: Final = frozenset(
    {
        "accountDoesNotExist",
        "alreadyRevoked",
        "badCSR",
        "badNonce",
        "badPublicKey",
        "badRevocationReason",
        "badSignatureAlgorithm",
        "caa",
        "compound",
        "connection",
        "dns",
        "externalAccountRequired",
        "incorrectResponse",
        "invalidContact",
        "malformed",
        "orderNotReady",
        "rateLimited",
        "rejectedIdentifier",
        "serverInternal",
        "tls",
        "unauthorized",
        "unsupportedContact",
        "unsupportedIdentifier",
        "userActionRequired",
    }
)
# RFC 7807 section 3.1 "status"; RFC 8555 section 6.7 problems from validation are 400s.
PROBLEM_STATUS: Final = 400


class ValidationFailure(Exception):
    """A challenge failed validation; `problem` is the RFC 8555 section 6.7 type suffix."""

    def __init__(self, problem: str, detail: str) -> None:
        if problem not in PROBLEM_TYPES:
            raise ValueError(f"unknown ACME problem type {problem!r}")
        super().__init__(f"{problem}: {detail}")
        self.problem = problem
        self.detail = detail

    @property
    def type(self) -> str:
        """The full problem type URN."""
        return ACME_ERROR + self.problem

    def to_problem(self) -> dict[str, Any]:
        """The RFC 7807 problem document for the challenge's `error` field."""
        return stored_problem(self.problem, self.detail, PROBLEM_STATUS)

    def __repr__(self) -> str:
        return f"ValidationFailure({self.problem!r}, {self.detail!r})"


# A detail quotes at most this much of anything a remote party chose (names, Locations,
# bodies), escaped, so a hostile server cannot flood or forge log lines through it.
MAX_QUOTED_CHARS: Final = 100


def quoted(text: str | bytes, limit: int = MAX_QUOTED_CHARS) -> str:
    """`text` for a detail: double-quoted, non-printables escaped, at most `limit` chars."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    escaped = "".join(_escape(ch) for ch in text[:limit])
    return f'"{escaped}"' + ("..." if len(text) > limit else "")


def _escape(ch: str) -> str:
    if ch in '"\\':
        return "\\" + ch
    if ch.isprintable():
        return ch
    return ch.encode("unicode_escape").decode("ascii")
