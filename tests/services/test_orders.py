"""The ACME order services called directly, on each backend: what the handlers held before
issue 14 (authorization reuse, readiness, the CSR's names, CAA, issuance, revocation by a
subscriber) is the services' now. The same paths over HTTP are tests/acme."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from acme_server.services.accounts import NewAccount, register_account
from acme_server.services.acme_certificates import revoke_presented
from acme_server.services.challenges import (
    Validations,
    owned_challenge,
    respond_to_challenge,
)
from acme_server.services.context import Services
from acme_server.services.errors import (
    AlreadyRevokedError,
    BadCsrError,
    CaaRefusedError,
    InvalidRequestError,
    NotAuthorizedError,
    NotFoundError,
    NotReadyError,
)
from acme_server.services.events import CertificateIssued, CertificateRevoked
from acme_server.services.identifiers import Identifier
from acme_server.services.orders import (
    FinalizeRequest,
    OrderRequest,
    create_order,
    current_order,
    finalize_order,
    owned_order,
)
from acme_server.services.ratelimits import RateLimiter
from acme_server.validation.resolver import Resolver
from acme_server.validation.waiters import ValidationWaiters
from ca_core.csr import csr_facts, load_csr
from ca_core.goodkey import EMPTY_BLOCKLIST
from ca_core.keys import spki_der
from pki_types.model import RevocationReason
from store import AccountRecord, OrderRecord, ProfileRecord
from testkit.dns_server import DNSServer
from testkit.flows import make_csr

ACCOUNT_URI = "https://ca.test/acme/default/account/x"


async def _profile(services: Services) -> ProfileRecord:
    profile = await services.store.get_default_profile()
    assert profile is not None
    return profile


async def _account(services: Services, profile: ProfileRecord) -> AccountRecord:
    thumbprint = secrets.token_urlsafe(32)
    new = NewAccount(
        jwk={"kty": "EC", "crv": "P-256", "x": thumbprint, "y": thumbprint},
        thumbprint=thumbprint,
        contact=[],
        terms_of_service_agreed=True,
        eab_key_id=None,
    )
    account, created = await register_account(services, profile.id, new)
    assert created
    return account


def _wanted(*names: str) -> OrderRequest:
    return OrderRequest(identifiers=tuple(Identifier("dns", n) for n in names))


async def _validated(services: Services, account: AccountRecord, order: OrderRecord) -> OrderRecord:
    """Start each authorization's http-01 challenge as a client would, then record the
    validator's success (the validator itself is tests/validation's)."""
    validations = Validations(None, ValidationWaiters(), asyncio.Event())
    for authz_id in order.authorization_ids:
        authz = await services.store.get_authorization(authz_id)
        http01 = next(c for c in authz.challenges if c.type == "http-01")
        challenge, authz = await owned_challenge(services, account.id, http01.id)
        started = await respond_to_challenge(services, validations, account, challenge, authz)
        assert started.status == "processing"
        assert validations.wakeup.is_set()  # no worker here: any process's worker is woken
        assert await services.store.record_validation(
            http01.id, valid=True, error=None, now=datetime.now(UTC)
        )
    return await owned_order(services, account.id, order.id)


def _finalize_request(
    *names: str, key: ec.EllipticCurvePrivateKey | None = None
) -> FinalizeRequest:
    facts = csr_facts(load_csr(make_csr(*names, key=key)), EMPTY_BLOCKLIST)
    account_key = ec.generate_private_key(ec.SECP256R1())
    return FinalizeRequest(
        facts=facts, account_spki=spki_der(account_key.public_key()), account_uri=ACCOUNT_URI
    )


async def test_orders_reuse_pending_authorizations_and_belong_to_their_account(
    services: Services,
) -> None:
    profile = await _profile(services)
    account, other = await _account(services, profile), await _account(services, profile)
    limiter, now = RateLimiter(), datetime.now(UTC)
    first = await create_order(services, limiter, account, profile, _wanted("a.svc.test"), now)
    second = await create_order(services, limiter, account, profile, _wanted("a.svc.test"), now)
    assert first.status == "pending" and first.id != second.id
    assert first.authorization_ids == second.authorization_ids
    theirs = await create_order(services, limiter, other, profile, _wanted("a.svc.test"), now)
    assert theirs.authorization_ids != first.authorization_ids
    with pytest.raises(NotFoundError, match="order not found"):
        await owned_order(services, other.id, first.id)
    with pytest.raises(NotFoundError, match="challenge not found"):
        authz = await services.store.get_authorization(first.authorization_ids[0])
        await owned_challenge(services, other.id, authz.challenges[0].id)


async def test_an_order_past_the_issuing_cas_expiry_is_refused(services: Services) -> None:
    profile = await _profile(services)
    account = await _account(services, profile)
    assert profile.ca_id is not None
    ca = await services.store.get_ca(profile.ca_id)
    late = OrderRequest(
        identifiers=(Identifier("dns", "late.svc.test"),),
        not_after=ca.not_after + timedelta(days=1),
    )
    with pytest.raises(InvalidRequestError, match="past the issuing CA's own expiry"):
        await create_order(services, RateLimiter(), account, profile, late, datetime.now(UTC))


async def test_finalize_checks_readiness_and_the_csr_then_issues_once(
    services: Services, resolver: Resolver
) -> None:
    profile = await _profile(services)
    account = await _account(services, profile)
    names = ("b.svc.test", "www.b.svc.test")
    order = await create_order(
        services, RateLimiter(), account, profile, _wanted(*names), datetime.now(UTC)
    )
    with pytest.raises(NotReadyError, match="the order is pending, not ready"):
        await finalize_order(services, resolver, profile, order, _finalize_request(*names))
    order = await _validated(services, account, order)
    assert order.status == "ready"
    assert (await current_order(services, ValidationWaiters(), order)).status == "ready"

    with pytest.raises(BadCsrError, match=r"missing www\.b\.svc\.test"):
        await finalize_order(services, resolver, profile, order, _finalize_request(names[0]))
    key = ec.generate_private_key(ec.SECP256R1())
    same_key = _finalize_request(*names, key=key)
    same_key = FinalizeRequest(same_key.facts, spki_der(key.public_key()), ACCOUNT_URI)
    with pytest.raises(BadCsrError, match="must not be the account key"):
        await finalize_order(services, resolver, profile, order, same_key)

    seen: list[CertificateIssued] = []
    services.events.subscribe(CertificateIssued, seen.append)
    done = await finalize_order(services, resolver, profile, order, _finalize_request(*names))
    assert done.status == "valid" and done.certificate_id is not None
    record = await services.store.get_certificate(done.certificate_id)
    assert record.status == "active"
    leaf = x509.load_pem_x509_certificate(record.certificate_pem.encode())
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sorted(sans.get_values_for_type(x509.DNSName)) == sorted(names)
    assert [e.certificate_id for e in seen] == [record.id]
    stored = await owned_order(services, account.id, order.id)
    assert (stored.status, stored.certificate_id) == ("valid", record.id)
    with pytest.raises(NotReadyError, match="the order is valid, not ready"):
        await finalize_order(services, resolver, profile, stored, _finalize_request(*names))


async def test_caa_refusal_names_each_refused_name_and_leaves_the_order_ready(
    services: Services, resolver: Resolver, dns: DNSServer
) -> None:
    profile = await _profile(services)
    account = await _account(services, profile)
    dns.add("caa.svc.test", "CAA", '0 issue "another-ca.example"')
    order = await create_order(
        services, RateLimiter(), account, profile, _wanted("caa.svc.test"), datetime.now(UTC)
    )
    order = await _validated(services, account, order)
    with pytest.raises(CaaRefusedError) as refused:
        await finalize_order(services, resolver, profile, order, _finalize_request("caa.svc.test"))
    [name] = refused.value.names
    assert (name.kind, dict(name.identifier)) == ("caa", {"type": "dns", "value": "caa.svc.test"})
    assert (await owned_order(services, account.id, order.id)).status == "ready"


async def test_a_subscriber_revokes_what_it_ordered_and_nothing_else(
    services: Services, resolver: Resolver
) -> None:
    profile = await _profile(services)
    account, stranger = await _account(services, profile), await _account(services, profile)
    order = await create_order(
        services, RateLimiter(), account, profile, _wanted("r.svc.test"), datetime.now(UTC)
    )
    order = await _validated(services, account, order)
    done = await finalize_order(services, resolver, profile, order, _finalize_request("r.svc.test"))
    assert done.certificate_id is not None
    record = await services.store.get_certificate(done.certificate_id)
    leaf = x509.load_pem_x509_certificate(record.certificate_pem.encode())
    unrelated = ec.generate_private_key(ec.SECP256R1()).public_key()

    with pytest.raises(NotAuthorizedError, match="neither ordered this certificate"):
        await revoke_presented(
            services, leaf, RevocationReason.KEY_COMPROMISE,
            account_id=stranger.id, jws_spki=spki_der(unrelated),
        )  # fmt: skip
    with pytest.raises(NotAuthorizedError, match="not the certificate's key"):
        await revoke_presented(
            services, leaf, RevocationReason.KEY_COMPROMISE,
            account_id=None, jws_spki=spki_der(unrelated),
        )  # fmt: skip
    seen: list[CertificateRevoked] = []
    services.events.subscribe(CertificateRevoked, seen.append)
    await revoke_presented(
        services, leaf, RevocationReason.KEY_COMPROMISE,
        account_id=account.id, jws_spki=spki_der(unrelated),
    )  # fmt: skip
    assert (await services.store.get_certificate(record.id)).status == "revoked"
    assert [(e.certificate_id, e.reason) for e in seen] == [
        (record.id, RevocationReason.KEY_COMPROMISE)
    ]
    with pytest.raises(AlreadyRevokedError):
        await revoke_presented(
            services, leaf, RevocationReason.UNSPECIFIED,
            account_id=account.id, jws_spki=spki_der(unrelated),
        )  # fmt: skip
