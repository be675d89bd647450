"""Certificate authorities as an administrator manages them after creation: enable,
disable, delete. (Creating one is services/cas/create.py.)

Disabling is the way to retire a CA: issuance refuses a CA that is not active, while its
certificates stay revocable and its CRL stays published. Deleting is only for a CA that
never mattered: refused while any certificate it issued (of any status), a child CA or a
profile refers to it; its CRLs go with it.
"""

from __future__ import annotations

from acme_server.services.context import Services
from acme_server.services.errors import ConflictError, InvalidRequestError, NotFoundError
from store import CARecord, CAStatus, Conflict, NotFound

STATUSES: tuple[CAStatus, ...] = ("active", "disabled")


async def set_status(services: Services, ca: CARecord, status: str) -> tuple[CARecord, bool]:
    """The CA with `status`, and whether it changed."""
    chosen = next((s for s in STATUSES if s == status), None)
    if chosen is None:
        raise InvalidRequestError(f"status must be one of {', '.join(STATUSES)}; got {status!r}")
    try:
        changed = await services.store.set_ca_status(ca.id, chosen)
        return await services.store.get_ca(ca.id), changed
    except NotFound:
        raise NotFoundError(f"no certificate authority with id {ca.id!r}") from None


async def delete_ca(services: Services, ca: CARecord) -> None:
    try:
        await services.store.delete_ca(ca.id)
    except Conflict as exc:
        raise ConflictError(
            f"certificate authority {ca.name!r} cannot be deleted: {exc}; disable it instead"
        ) from None
    except NotFound:
        raise NotFoundError(f"no certificate authority with id {ca.id!r}") from None
    services.ca_cache.pop(ca.id, None)
