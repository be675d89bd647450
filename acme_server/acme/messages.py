"""The JSON of RFC 8555's objects, in one place: account (7.1.2), order (7.1.3),
authorization (7.1.4) and challenge (8), as the handlers answer them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from acme_server.acme.urls import AcmeUrls
from acme_server.services.orders import order_status
from acme_server.services.profiles.settings import CHALLENGE_TYPES
from store import AccountRecord, AuthorizationRecord, ChallengeRecord, OrderRecord


def rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def account_json(account: AccountRecord, urls: AcmeUrls) -> dict[str, Any]:
    return {
        "status": account.status,
        "contact": account.contact,
        "termsOfServiceAgreed": account.terms_of_service_agreed,
        "orders": urls.account_orders(account.id),
        "createdAt": rfc3339(account.created_at),
    }


def order_json(order: OrderRecord, urls: AcmeUrls) -> dict[str, Any]:
    data: dict[str, Any] = {
        "status": order_status(order, datetime.now(UTC)),
        "expires": rfc3339(order.expires),
        "identifiers": order.identifiers,
        "authorizations": [urls.authorization(a) for a in order.authorization_ids],
        "finalize": urls.finalize(order.id),
    }
    if order.not_before is not None:
        data["notBefore"] = rfc3339(order.not_before)
    if order.not_after is not None:
        data["notAfter"] = rfc3339(order.not_after)
    if order.error is not None:
        data["error"] = order.error
    if order.certificate_id is not None and data["status"] == "valid":
        data["certificate"] = urls.certificate(order.certificate_id)
    if order.replaces is not None:
        data["replaces"] = order.replaces  # RFC 9773 5
    return data


def challenge_json(challenge: ChallengeRecord, urls: AcmeUrls) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": challenge.type,
        "url": urls.challenge(challenge.id),
        "status": challenge.status,
        "token": challenge.token,
    }
    if challenge.validated_at is not None:
        data["validated"] = rfc3339(challenge.validated_at)
    if challenge.error is not None:
        data["error"] = challenge.error
    return data


def _type_rank(challenge_type: str) -> int:
    if challenge_type in CHALLENGE_TYPES:
        return CHALLENGE_TYPES.index(challenge_type)
    return len(CHALLENGE_TYPES)


def authorization_json(authz: AuthorizationRecord, urls: AcmeUrls) -> dict[str, Any]:
    status = authz.status
    if status in ("pending", "valid") and authz.expires <= datetime.now(UTC):
        status = "expired"
    # In the profile setting's order (http-01, dns-01, tls-alpn-01), not the store's.
    challenges = tuple(sorted(authz.challenges, key=lambda c: _type_rank(c.type)))
    if status == "valid":  # RFC 8555 7.1.4: the challenge that was validated
        challenges = tuple(c for c in challenges if c.status == "valid") or challenges
    data: dict[str, Any] = {
        "identifier": {"type": authz.identifier_type, "value": authz.identifier_value},
        "status": status,
        "expires": rfc3339(authz.expires),
        "challenges": [challenge_json(c, urls) for c in challenges],
    }
    if authz.wildcard:
        data["wildcard"] = True
    return data
