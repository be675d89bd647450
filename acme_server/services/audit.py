"""The audit log: who did what to which object, and when.

Callers record ids and names only -- never a secret. A client secret, an access token,
a private key, an EAB HMAC key or a password must not appear in `details` (nor in any other
argument): the log is readable by every REST caller with a token. `record` does not look
inside `details`; keeping secrets out is the caller's duty.

Actors: "cli" for the `kms` command line, "identity:<identity id>" for a REST caller
(`actor_of(principal)` in acme_server/rest/auth.py), "system" for the scheduler.
"""

from __future__ import annotations

from datetime import datetime

from acme_server.services.context import Services
from acme_server.services.errors import InvalidRequestError
from store import AuditRecord
from store.columns import utc_now

ACTOR_CLI = "cli"
ACTOR_SYSTEM = "system"
ACTOR_MAX = 255  # schema: audit_log.actor
ACTION_MAX = 64  # schema: audit_log.action
TARGET_TYPE_MAX = 64  # schema: audit_log.target_type
TARGET_ID_MAX = 255  # schema: audit_log.target_id
LIST_LIMIT_MAX = 1000


def _clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[:limit]


async def record(
    services: Services,
    *,
    actor: str,
    action: str,
    target_type: str,
    target_id: str | None,
    details: dict[str, object] | None = None,
    at: datetime | None = None,
) -> None:
    """Append one entry. `details` holds ids and names only (never secrets; see above).

    action: a dotted verb such as "identity.create", "certificate.revoke".
    Over-long strings are clipped to their columns rather than refused: an audit write
    must not make the action it records fail after the fact.
    """
    await services.store.add_audit(
        at=at or utc_now(),
        actor=_clip(actor, ACTOR_MAX),
        action=_clip(action, ACTION_MAX),
        target_type=_clip(target_type, TARGET_TYPE_MAX),
        target_id=None if target_id is None else _clip(target_id, TARGET_ID_MAX),
        details=dict(details or {}),
    )


def _check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= LIST_LIMIT_MAX:
        raise InvalidRequestError(f"limit must be between 1 and {LIST_LIMIT_MAX}")
    if offset < 0:
        raise InvalidRequestError("offset must not be negative")


async def list_entries(
    services: Services,
    *,
    limit: int,
    offset: int,
    target_type: str | None = None,
    target_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
) -> list[AuditRecord]:
    """A page of entries, newest first, optionally filtered (exact matches)."""
    _check_page(limit, offset)
    return await services.store.list_audit(
        limit=limit,
        offset=offset,
        target_type=target_type,
        target_id=target_id,
        actor=actor,
        action=action,
    )


async def count_entries(
    services: Services,
    *,
    target_type: str | None = None,
    target_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
) -> int:
    """How many entries match the filters (for the REST list's totalCount)."""
    return await services.store.count_audit(
        target_type=target_type, target_id=target_id, actor=actor, action=action
    )
