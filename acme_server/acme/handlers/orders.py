"""RFC 8555 7.4 newOrder and finalize, 7.1.3 the order: parse -> services/orders.py -> render."""

from __future__ import annotations

import binascii
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from acme_server.acme.handlers.common import acme_json, verified
from acme_server.acme.identifiers import parse_identifiers
from acme_server.acme.messages import order_json
from acme_server.acme.problems import bad_csr, bad_public_key, malformed
from acme_server.jose import b64url_decode
from acme_server.services.orders import (
    FinalizeRequest,
    OrderRequest,
    check_ready,
    create_order,
    current_order,
    finalize_order,
    owned_order,
)
from acme_server.services.profiles.settings import EnrollmentConfig
from ca_core.csr import CsrFacts, csr_facts, load_csr
from ca_core.errors import BadCSR, BadKey, CAError
from ca_core.goodkey import KeyBlocklist
from ca_core.keys import spki_der


async def new_order(request: Request) -> JSONResponse:
    req = await verified(request, "kid")
    account = req.post.require_account()
    payload = req.post.payload
    if payload is None:
        raise malformed("newOrder needs a payload")
    if payload.get("profile") not in (None, req.profile.slug):
        raise malformed(
            f"this directory issues profile {req.profile.slug!r}; use that profile's directory"
        )
    identifiers = parse_identifiers(
        payload.get("identifiers"), allow_ip=EnrollmentConfig.of(req.profile).allow_ip_identifiers
    )
    replaces = payload.get("replaces")
    if replaces is not None and not isinstance(replaces, str):
        raise malformed("replaces must be a certID string (RFC 9773 5)")
    wanted = OrderRequest(
        identifiers=tuple(identifiers),
        not_before=_parse_time(payload, "notBefore"),
        not_after=_parse_time(payload, "notAfter"),
        replaces=replaces,
    )
    order = await create_order(
        req.services, req.state.limiter, account, req.profile, wanted, datetime.now(UTC)
    )
    return acme_json(order_json(order, req.urls), 201, {"Location": req.urls.order(order.id)})


def _parse_time(payload: dict[str, Any], key: str) -> datetime | None:
    raw = payload.get(key)
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise malformed(f"{key} must be an RFC 3339 date-time string")
    try:
        moment = datetime.fromisoformat(raw)
        if moment.tzinfo is None:
            raise malformed(f"{key} must carry a time zone (e.g. Z)")
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 moved past the range
        raise malformed(f"{key} {raw!r} is not an RFC 3339 date-time in range") from None


async def order(request: Request) -> JSONResponse:
    req = await verified(request, "kid")
    account = req.post.require_account()
    found = await owned_order(req.services, account.id, request.path_params["order_id"])
    found = await current_order(req.services, req.state.validation_waiters, found)
    headers = {"Retry-After": "1"} if found.status == "processing" else None
    return acme_json(order_json(found, req.urls), 200, headers)


def _csr_facts(payload: dict[str, object] | None, blocklist: KeyBlocklist) -> CsrFacts:
    raw = (payload or {}).get("csr")
    if not isinstance(raw, str):
        raise malformed("finalize needs the CSR as base64url DER in csr")
    try:
        der = b64url_decode(raw)
    except (ValueError, binascii.Error):
        raise bad_csr("the CSR is not base64url") from None
    try:
        return csr_facts(load_csr(der), blocklist)
    except BadKey as exc:
        raise bad_public_key(str(exc)) from None
    except (BadCSR, CAError) as exc:
        raise bad_csr(str(exc)) from None


async def finalize(request: Request) -> JSONResponse:
    req = await verified(request, "kid")
    account = req.post.require_account()
    found = await owned_order(req.services, account.id, request.path_params["order_id"])
    check_ready(found, datetime.now(UTC))
    wanted = FinalizeRequest(
        facts=_csr_facts(req.post.payload, req.services.key_blocklist),
        account_spki=spki_der(req.post.key.public_key),
        account_uri=req.urls.account(found.account_id),
    )
    done = await finalize_order(req.services, req.state.resolver, req.profile, found, wanted)
    return acme_json(order_json(done, req.urls), 200, {"Location": req.urls.order(done.id)})
