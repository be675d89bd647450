"""RFC 9773 section 5: newOrder's `replaces`, checked at once, and the successor link made
when the order's certificate is issued.

The certID must be well formed and name a certificate of this CA; the account must have
ordered it, or hold valid authorizations for all of its names (services/ownership.py); it
must share an identifier with the new order; and it must not already be replaced, by an
issued certificate or by another order that may still issue (AlreadyReplacedError). When
the order is finalized, the new certificate is recorded as the old one's successor
(renewed-by / renewed-from); if a rival order won that race, the certificate is issued all
the same, without the link.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from acme_server.services import ari
from acme_server.services.certificates.issuance import IssuedCertificate, IssueSpec, issue
from acme_server.services.context import Services
from acme_server.services.errors import (
    AlreadyRenewedError,
    AlreadyReplacedError,
    InvalidRequestError,
    NotAuthorizedError,
    NotFoundError,
)
from acme_server.services.identifiers import Identifier
from acme_server.services.ownership import account_may_act_on, identifiers_of
from store import OrderRecord, ProfileRecord


async def check_replaces(
    services: Services,
    account_id: str,
    cert_id: str,
    identifiers: Sequence[Identifier],
    now: datetime,
) -> str:
    """The `replaces` certID of a newOrder once checked (see the module docstring)."""
    try:
        old = await ari.find_by_cert_id(services, cert_id)
    except InvalidRequestError as exc:
        raise InvalidRequestError(f"replaces: {exc}") from None
    except NotFoundError:
        raise InvalidRequestError(
            f"replaces: no certificate with certID {cert_id} was issued here"
        ) from None
    if not await account_may_act_on(services, account_id, old, now):
        raise NotAuthorizedError(
            "replaces: the certificate was not ordered by this account, which is not "
            "authorized for all of its names"
        )
    if not identifiers_of(old) & {(i.type, i.value.lower()) for i in identifiers}:
        raise InvalidRequestError("replaces: the certificate shares no identifier with this order")
    if old.renewed_by_id is not None:
        raise AlreadyReplacedError(f"the certificate {cert_id} was already replaced")
    if await services.store.orders_replacing(cert_id, now=now):
        raise AlreadyReplacedError(f"another order already replaces the certificate {cert_id}")
    return cert_id


async def issue_for_order(
    services: Services, profile: ProfileRecord, spec: IssueSpec, order: OrderRecord
) -> IssuedCertificate:
    """Issue an order's certificate, linked as the successor of the one it replaces."""
    if order.replaces is None:
        return await issue(services, profile, spec)
    try:
        old = await ari.find_by_cert_id(services, order.replaces)
    except (InvalidRequestError, NotFoundError):
        return await issue(services, profile, spec)  # deleted since newOrder
    linked = replace(spec, renewed_from_id=old.id)
    try:
        return await issue(services, profile, linked)
    except AlreadyRenewedError:  # replaced by a rival order meanwhile
        return await issue(services, profile, spec)
