"""RFC 8555 7.3: newAccount (with EAB), account update and deactivation, keyChange, orders list."""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from acme_server.acme import eab
from acme_server.acme.handlers.common import AcmeRequest, acme_json, link, verified
from acme_server.acme.jwk import account_key_from_jwk
from acme_server.acme.jws import check_alg, decode_payload, parse_flattened, verify_signature
from acme_server.acme.messages import account_json
from acme_server.acme.problems import (
    account_does_not_exist,
    conflict,
    external_account_required,
    invalid_contact,
    malformed,
    unauthorized,
    unsupported_contact,
)
from acme_server.acme.urls import AcmeUrls
from acme_server.services.accounts import (
    KeyInUseError,
    NewAccount,
    account_for_key,
    change_key,
    register_account,
    update_account,
)
from acme_server.services.accounts import account_orders as list_orders
from acme_server.services.profiles.settings import EnrollmentConfig
from store import AccountRecord

MAX_CONTACTS = 10
ORDERS_PAGE_SIZE = 50
# A conservative addr-spec: one address, no hfields (RFC 6068), no display name.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"[A-Za-z0-9.!#$%&'*+/=^_`{{|}}~-]+@{_LABEL}(?:\.{_LABEL})+")  # fullmatch


def _reply(account: AccountRecord, urls: AcmeUrls, status: int) -> JSONResponse:
    return acme_json(account_json(account, urls), status, {"Location": urls.account(account.id)})


def validate_contact(contact: Any) -> list[str]:
    """RFC 8555 7.3: mailto: URLs only, one valid address each."""
    if contact is None:
        return []
    if not isinstance(contact, list) or not all(isinstance(c, str) for c in contact):
        raise malformed("contact must be an array of strings")
    if len(contact) > MAX_CONTACTS:
        raise invalid_contact(f"at most {MAX_CONTACTS} contacts")
    for url in contact:
        scheme, _, address = url.partition(":")
        if scheme.lower() != "mailto":
            raise unsupported_contact(f"only mailto: contacts are supported, not {url!r}")
        if "?" in address or "," in address or not _EMAIL.fullmatch(address):
            raise invalid_contact(f"{url!r} is not a single valid email address")
    return list(contact)


async def new_account(request: Request) -> JSONResponse:
    req = await verified(request, "jwk")
    services = req.services
    payload = req.post.payload or {}
    key = req.post.key
    existing = await account_for_key(services, req.profile.id, key.thumbprint)
    if existing is not None:
        if existing.status != "valid":
            raise unauthorized(f"the account for this key is {existing.status}")
        return _reply(existing, req.urls, 200)  # also when EAB is sent again
    if payload.get("onlyReturnExisting") is True:
        raise account_does_not_exist("no account exists for this key")
    contact = validate_contact(payload.get("contact"))
    binding = payload.get("externalAccountBinding")
    eab_kid: str | None = None
    if binding is not None:
        record = await eab.verify_binding(
            binding,
            store=services.store,
            kek=services.kek,
            profile_id=req.profile.id,
            account_key=key,
            new_account_url=req.urls.new_account,
        )
        eab_kid = record.id
    elif EnrollmentConfig.of(req.profile).eab_required:
        raise external_account_required(
            "this directory requires an external account binding (kms eab create)"
        )
    new = NewAccount(
        jwk=key.jwk,
        thumbprint=key.thumbprint,
        contact=contact,
        terms_of_service_agreed=payload.get("termsOfServiceAgreed") is True,
        eab_key_id=eab_kid,
    )
    account, created = await register_account(services, req.profile.id, new)
    return _reply(account, req.urls, 201 if created else 200)


async def _own_account(req: AcmeRequest, account_id: str) -> AccountRecord:
    account = req.post.require_account()
    if account.id != account_id:
        raise unauthorized("the JWS is signed by another account")
    return account


async def account(request: Request) -> JSONResponse:
    """POST-as-GET, contact update, or deactivation (RFC 8555 7.3.2, 7.3.6)."""
    req = await verified(request, "kid")
    current = await _own_account(req, request.path_params["account_id"])
    payload = req.post.payload
    if payload is None:
        return _reply(current, req.urls, 200)
    if payload.get("status") not in (None, "deactivated", "valid"):
        raise malformed("an account's status can only be set to deactivated")
    contact = validate_contact(payload["contact"]) if "contact" in payload else None
    deactivate = payload.get("status") == "deactivated"
    current = await update_account(req.services, current, contact=contact, deactivate=deactivate)
    return _reply(current, req.urls, 200)


async def account_orders(request: Request) -> JSONResponse:
    """RFC 8555 7.1.2.1: the account's orders, a page at a time with Link rel="next"."""
    req = await verified(request, "kid")
    current = await _own_account(req, request.path_params["account_id"])
    orders = await list_orders(
        req.services,
        current.id,
        after=request.query_params.get("cursor"),
        limit=ORDERS_PAGE_SIZE + 1,
    )
    headers: dict[str, str] = {}
    if len(orders) > ORDERS_PAGE_SIZE:
        orders = orders[:ORDERS_PAGE_SIZE]
        next_url = f"{req.urls.account_orders(current.id)}?cursor={orders[-1].id}"
        headers["Link"] = link(next_url, "next")
    return acme_json({"orders": [req.urls.order(o.id) for o in orders]}, 200, headers)


async def key_change(request: Request) -> JSONResponse:
    """RFC 8555 7.3.5: the inner JWS, signed by the new key, names the account and its old key."""
    req = await verified(request, "kid")
    current = req.post.require_account()
    if req.post.jws.payload_b64 == "":
        raise malformed("keyChange needs an inner JWS as its payload")
    inner = parse_flattened(_inner_bytes(req))
    header = inner.protected
    alg = check_alg(header.get("alg"))
    if "jwk" not in header or "kid" in header:
        raise malformed("the inner JWS must carry the new key as jwk and no kid")
    if "nonce" in header:
        raise malformed("the inner JWS must not carry a nonce")
    if header.get("url") != req.post.url:
        raise malformed("the inner JWS url must equal the outer JWS url")
    new_key = account_key_from_jwk(header["jwk"], req.services.key_blocklist)
    verify_signature(alg, new_key.public_key, inner.signing_input, inner.signature)
    body = decode_payload(inner) or {}
    if body.get("account") != req.urls.account(current.id):
        raise malformed("the inner payload's account must be the URL of the signing account")
    if not isinstance(body.get("oldKey"), dict):
        raise malformed("the inner payload needs oldKey, the account's current jwk")
    old_key = account_key_from_jwk(body["oldKey"])
    if old_key.thumbprint != req.post.key.thumbprint:
        raise unauthorized("oldKey is not the account's current key")
    try:
        changed = await change_key(
            req.services, req.profile.id, current, jwk=new_key.jwk, thumbprint=new_key.thumbprint
        )
    except KeyInUseError as exc:  # RFC 8555 7.3.5: 409 with the holder's URL in Location
        raise conflict(str(exc), req.urls.account(exc.holder_id)) from None
    return _reply(changed, req.urls, 200)


def _inner_bytes(req: AcmeRequest) -> bytes:
    payload = req.post.payload
    if payload is None:
        raise malformed("keyChange needs an inner JWS as its payload")
    return json.dumps(payload).encode()
