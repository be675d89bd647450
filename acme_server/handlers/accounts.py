"""RFC 8555 7.3: newAccount (with EAB), account update and deactivation, keyChange, orders list."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from acme_server import eab
from acme_server.handlers.common import AcmeRequest, acme_json, link, rfc3339, verified
from acme_server.jwk import account_key_from_jwk
from acme_server.jws import check_alg, decode_payload, parse_flattened, verify_signature
from acme_server.problems import (
    account_does_not_exist,
    conflict,
    external_account_required,
    invalid_contact,
    malformed,
    not_found,
    unauthorized,
    unsupported_contact,
)
from acme_server.services.profile_settings import EnrollmentConfig
from acme_server.urls import AcmeUrls
from store import AccountRecord, Conflict, NotFound

MAX_CONTACTS = 10
ORDERS_PAGE_SIZE = 50
# A conservative addr-spec: one address, no hfields (RFC 6068), no display name.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"[A-Za-z0-9.!#$%&'*+/=^_`{{|}}~-]+@{_LABEL}(?:\.{_LABEL})+")  # fullmatch


def account_json(account: AccountRecord, urls: AcmeUrls) -> dict[str, Any]:
    return {
        "status": account.status,
        "contact": account.contact,
        "termsOfServiceAgreed": account.terms_of_service_agreed,
        "orders": urls.account_orders(account.id),
        "createdAt": rfc3339(account.created_at),
    }


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
    store = req.services.store
    payload = req.post.payload or {}
    existing = await store.get_account_by_thumbprint(req.profile.id, req.post.key.thumbprint)
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
            store=store,
            kek=req.services.kek,
            profile_id=req.profile.id,
            account_key=req.post.key,
            new_account_url=req.urls.new_account,
        )
        eab_kid = record.id
    elif EnrollmentConfig.of(req.profile).eab_required:
        raise external_account_required(
            "this directory requires an external account binding (kms eab create)"
        )
    try:
        account = await store.create_account(
            profile_id=req.profile.id,
            jwk_thumbprint=req.post.key.thumbprint,
            jwk=req.post.key.jwk,
            contact=contact,
            terms_of_service_agreed=payload.get("termsOfServiceAgreed") is True,
            eab_key_id=eab_kid,
            now=datetime.now(UTC),
        )
    except Conflict as exc:
        raced = await store.get_account_by_thumbprint(req.profile.id, req.post.key.thumbprint)
        if raced is not None:
            return _reply(raced, req.urls, 200)
        raise unauthorized(f"external account binding: {exc}") from None
    return _reply(account, req.urls, 201)


async def _own_account(req: AcmeRequest, account_id: str) -> AccountRecord:
    account = req.post.require_account()
    if account.id != account_id:
        raise unauthorized("the JWS is signed by another account")
    return account


async def account(request: Request) -> JSONResponse:
    """POST-as-GET, contact update, or deactivation (RFC 8555 7.3.2, 7.3.6)."""
    req = await verified(request, "kid")
    current = await _own_account(req, request.path_params["account_id"])
    store = req.services.store
    payload = req.post.payload
    if payload is None:
        return _reply(current, req.urls, 200)
    if payload.get("status") not in (None, "deactivated", "valid"):
        raise malformed("an account's status can only be set to deactivated")
    if "contact" in payload:
        current = await store.update_account_contact(
            current.id, validate_contact(payload["contact"])
        )
    if payload.get("status") == "deactivated":
        await store.deactivate_account(current.id, datetime.now(UTC))
        current = await store.get_account(current.id)
    return _reply(current, req.urls, 200)


async def account_orders(request: Request) -> JSONResponse:
    """RFC 8555 7.1.2.1: the account's orders, a page at a time with Link rel="next"."""
    req = await verified(request, "kid")
    current = await _own_account(req, request.path_params["account_id"])
    after = request.query_params.get("cursor")
    try:
        orders = await req.services.store.list_account_orders(
            current.id, limit=ORDERS_PAGE_SIZE + 1, after=after
        )
    except (NotFound, ValueError):
        raise malformed("the orders cursor is not one this server gave out") from None
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
    store = req.services.store
    holder = await store.get_account_by_thumbprint(req.profile.id, new_key.thumbprint)
    if holder is not None:
        raise conflict("the new key is already in use by an account", req.urls.account(holder.id))
    try:
        await store.change_account_key(
            current.id, jwk=new_key.jwk, jwk_thumbprint=new_key.thumbprint
        )
    except Conflict:
        holder = await store.get_account_by_thumbprint(req.profile.id, new_key.thumbprint)
        location = req.urls.account(holder.id) if holder else req.urls.account(current.id)
        raise conflict("the new key is already in use by an account", location) from None
    except NotFound:
        raise not_found("account") from None
    return _reply(await store.get_account(current.id), req.urls, 200)


def _inner_bytes(req: AcmeRequest) -> bytes:
    payload = req.post.payload
    if payload is None:
        raise malformed("keyChange needs an inner JWS as its payload")
    return json.dumps(payload).encode()
