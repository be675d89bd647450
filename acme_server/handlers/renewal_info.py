"""RFC 9773: the renewalInfo resource (section 4) and newOrder's `replaces` (section 5).

GET <renewalInfo>/<certID> needs no JWS (section 4.1): it answers the suggested window
(services/ari.py) with Retry-After, 404 for a certificate this CA did not issue and
`malformed` for a certID that is not one.

`replaces` in newOrder is checked at once (section 5): the certID must be well formed and
name a certificate of this CA; the account must have ordered it, or hold valid
authorizations for all of its names; it must share an identifier with the new order; and
it must not already be replaced, by an issued certificate or by another order that may
still issue (`alreadyReplaced`, 409). When the order is finalized, the new certificate is
recorded as the old one's successor (renewed-by / renewed-from); if a rival order won
that race, the certificate is issued all the same, without the link.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from acme_server.handlers.common import AcmeRequest, profile_of, rfc3339
from acme_server.handlers.ownership import account_may_act_on, identifiers_of
from acme_server.identifiers import Identifier
from acme_server.problems import AcmeProblem, malformed, unauthorized
from acme_server.services import ari
from acme_server.services.context import Services
from acme_server.services.errors import AlreadyRenewedError, InvalidRequestError, NotFoundError
from acme_server.services.issuance import IssuedCertificate, IssueSpec, issue
from store import OrderRecord, ProfileRecord


def already_replaced(detail: str) -> AcmeProblem:
    return AcmeProblem("alreadyReplaced", detail, 409)


async def renewal_info(request: Request) -> JSONResponse:
    state, _, _ = await profile_of(request)
    services = state.services
    text = request.path_params["cert_id"]
    try:
        record = await ari.find_by_cert_id(services, text)
    except InvalidRequestError as exc:
        raise malformed(str(exc)) from None
    except NotFoundError as exc:
        raise AcmeProblem("malformed", str(exc), 404) from None
    now = datetime.now(UTC)
    window = ari.suggested_window(record, await ari.renew_before_days(services, record), now)
    body = {"suggestedWindow": {"start": rfc3339(window.start), "end": rfc3339(window.end)}}
    return JSONResponse(body, headers={"Retry-After": str(ari.retry_after(window, now))})


async def check_replaces(
    req: AcmeRequest, payload: dict[str, Any], identifiers: list[Identifier], now: datetime
) -> str | None:
    """The `replaces` certID of a newOrder payload once checked (see the module docstring);
    None when the payload has none."""
    raw = payload.get("replaces")
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise malformed("replaces must be a certID string (RFC 9773 5)")
    services = req.services
    try:
        old = await ari.find_by_cert_id(services, raw)
    except InvalidRequestError as exc:
        raise malformed(f"replaces: {exc}") from None
    except NotFoundError:
        raise malformed(f"replaces: no certificate with certID {raw} was issued here") from None
    account = req.post.require_account()
    names = identifiers_of(old)
    if not await account_may_act_on(services, account.id, old, now):
        raise unauthorized(
            "replaces: the certificate was not ordered by this account, which is not "
            "authorized for all of its names"
        )
    if not names & {(i.type, i.value.lower()) for i in identifiers}:
        raise malformed("replaces: the certificate shares no identifier with this order")
    if old.renewed_by_id is not None:
        raise already_replaced(f"the certificate {raw} was already replaced")
    if await services.store.orders_replacing(raw, now=now):
        raise already_replaced(f"another order already replaces the certificate {raw}")
    return raw


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
