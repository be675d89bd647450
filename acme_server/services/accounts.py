"""ACME accounts (RFC 8555 7.3): find by key, register, update contact, deactivate, change
key, and list an account's orders. Keys arrive as a public JWK and its RFC 7638
thumbprint, already checked by the ACME layer (acme/jwk.py), as is an EAB binding."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from acme_server.services.context import Services
from acme_server.services.errors import (
    ConflictError,
    InvalidRequestError,
    NotAuthorizedError,
    NotFoundError,
)
from store import AccountRecord, Conflict, NotFound, OrderRecord


class KeyInUseError(ConflictError):
    """keyChange: another account holds the new key (RFC 8555 7.3.5 wants its URL)."""

    def __init__(self, holder_id: str) -> None:
        super().__init__("the new key is already in use by an account")
        self.holder_id = holder_id


@dataclass(frozen=True, slots=True)
class NewAccount:
    jwk: dict[str, Any]
    thumbprint: str
    contact: Sequence[str]
    terms_of_service_agreed: bool
    eab_key_id: str | None  # the EAB credential it is bound to, if any


async def account_for_key(
    services: Services, profile_id: str, thumbprint: str
) -> AccountRecord | None:
    return await services.store.get_account_by_thumbprint(profile_id, thumbprint)


async def register_account(
    services: Services, profile_id: str, new: NewAccount
) -> tuple[AccountRecord, bool]:
    """The account, and True if it was created now (False: a concurrent newAccount for the
    same key won, and this is its account)."""
    try:
        account = await services.store.create_account(
            profile_id=profile_id,
            jwk_thumbprint=new.thumbprint,
            jwk=new.jwk,
            contact=list(new.contact),
            terms_of_service_agreed=new.terms_of_service_agreed,
            eab_key_id=new.eab_key_id,
            now=datetime.now(UTC),
        )
    except Conflict as exc:
        raced = await services.store.get_account_by_thumbprint(profile_id, new.thumbprint)
        if raced is not None:
            return raced, False
        raise NotAuthorizedError(f"external account binding: {exc}") from None
    return account, True


async def update_account(
    services: Services,
    account: AccountRecord,
    *,
    contact: Sequence[str] | None,
    deactivate: bool,
) -> AccountRecord:
    """RFC 8555 7.3.2 contact update and 7.3.6 deactivation."""
    current = account
    if contact is not None:
        current = await services.store.update_account_contact(current.id, list(contact))
    if deactivate:
        await services.store.deactivate_account(current.id, datetime.now(UTC))
        current = await services.store.get_account(current.id)
    return current


async def account_orders(
    services: Services, account_id: str, *, after: str | None, limit: int
) -> list[OrderRecord]:
    """RFC 8555 7.1.2.1: a page of the account's orders after the cursor `after`."""
    try:
        return await services.store.list_account_orders(account_id, limit=limit, after=after)
    except (NotFound, ValueError):
        raise InvalidRequestError("the orders cursor is not one this server gave out") from None


async def change_key(
    services: Services,
    profile_id: str,
    account: AccountRecord,
    *,
    jwk: dict[str, Any],
    thumbprint: str,
) -> AccountRecord:
    """RFC 8555 7.3.5: the account's key becomes `jwk`; KeyInUseError if another has it."""
    store = services.store
    holder = await store.get_account_by_thumbprint(profile_id, thumbprint)
    if holder is not None:
        raise KeyInUseError(holder.id)
    try:
        await store.change_account_key(account.id, jwk=jwk, jwk_thumbprint=thumbprint)
    except Conflict:
        holder = await store.get_account_by_thumbprint(profile_id, thumbprint)
        raise KeyInUseError(holder.id if holder else account.id) from None
    except NotFound:
        raise NotFoundError("account not found") from None
    return await store.get_account(account.id)
