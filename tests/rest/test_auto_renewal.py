"""Server-driven renewal over a real server on both backends: auto-renewal from the profile's
default, toggled over REST, refused for CSR certificates; scheduler passes (run at a chosen
`now` inside the renew-before window) renew each certificate once, with a fresh key and
the metadata, record failures with backoff, and recover from a crash mid-renewal."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from acme_server.jobs.scheduler import LEASE_NAME, RenewalScheduler
from acme_server.services.certificates.auto_renewal import (
    CANNOT_AUTO_RENEW,
    PassReport,
    renew_at,
    run_pass,
)
from acme_server.services.context import Services
from pki_types.model import CertificateStatus, IssuerType, RevocationReason
from store import CertificateRecord, ProfileRecord
from testkit.in_process_server import AcmeServer
from tests.rest.conftest import bearer_client, with_services
from tests.rest.test_certificates_support import CERTS, certificate_of, issue, openssl_csr

RULES: dict[str, Any] = {"sans": {"dns_name": {"allowed": ["*.renew.test"]}}}


@pytest.fixture(scope="module")
def http(api: AcmeServer) -> Iterator[httpx.Client]:
    with bearer_client(api, role="admin") as client:
        yield client


def auto_profile(api: AcmeServer, rules: dict[str, Any] = RULES) -> ProfileRecord:
    """A profile (own policy, the default CA) with auto-renewal on by default, 30 days."""

    async def create(services: Services) -> ProfileRecord:
        store = services.store
        default = await store.get_default_profile()
        assert default is not None
        suffix = uuid.uuid4().hex[:8]
        policy = await store.create_policy(name=f"renew-{suffix}", rules=rules)
        return await store.create_profile(
            slug=f"renew-{suffix}",
            name=f"renew {suffix}",
            policy_id=policy.id,
            issuer_type=IssuerType.CA,
            ca_id=default.ca_id,
            enrollment={"api": {"enabled": True}},
            defaults={**default.defaults, "ttl": "90d"},
            auto_renew=True,
            renew_before_days=30,
        )

    return with_services(api, create)


def get(api: AcmeServer, cert_id: str) -> CertificateRecord:
    return with_services(api, lambda s: s.store.get_certificate(cert_id))


def run_at(api: AcmeServer, now: datetime) -> PassReport:
    return with_services(api, lambda s: run_pass(s, now=now))


def renewed_of(report: PassReport | None, *ids: str) -> list[str]:
    """The renewed ids among `ids` (other tests' certificates share the database)."""
    return [] if report is None else [old for old, _ in report.renewed if old in ids]


def failed_of(report: PassReport, *ids: str) -> list[str]:
    return [cert_id for cert_id, _ in report.failed if cert_id in ids]


def in_window(api: AcmeServer, cert_id: str) -> datetime:
    cert = get(api, cert_id)
    return renew_at(cert, 30) + timedelta(days=1)


def successors(api: AcmeServer, cert_id: str) -> list[CertificateRecord]:
    async def find(services: Services) -> list[CertificateRecord]:
        rows = await services.store.list_certificates(limit=1000)
        return [r for r in rows if r.renewed_from_id == cert_id]

    return with_services(api, find)


def public_key_der(cert: x509.Certificate) -> bytes:
    return cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_a_managed_certificate_in_its_window_is_renewed_once_with_a_fresh_key(
    api: AcmeServer, http: httpx.Client
) -> None:
    profile = auto_profile(api)
    body = issue(http, profile=profile.slug, commonName="web.renew.test", metadata={"team": "edge"})
    old_id = body["certificate"]["certificateId"]
    assert http.get(f"{CERTS}/{old_id}").json()["autoRenew"] is True  # the profile's default

    # Before the window: nothing happens.
    assert (
        renewed_of(run_at(api, renew_at(get(api, old_id), 30) - timedelta(hours=1)), old_id) == []
    )

    report = run_at(api, in_window(api, old_id))
    assert renewed_of(report, old_id) == [old_id]
    new_id = dict(report.renewed)[old_id]

    new = get(api, new_id)
    old = get(api, old_id)
    assert new.status is CertificateStatus.ACTIVE
    assert (old.renewed_by_id, new.renewed_from_id) == (new_id, old_id)
    assert new.metadata == {"team": "edge"}
    assert new.auto_renew is True and new.encrypted_private_key is not None
    assert old.renewal_status == "renewed"
    new_x509 = x509.load_pem_x509_certificate(new.certificate_pem.encode())
    assert public_key_der(new_x509) != public_key_der(certificate_of(body))  # a fresh key
    assert new_x509.subject == certificate_of(body).subject
    assert new_x509.serial_number != certificate_of(body).serial_number

    # The latest-active bundle is the renewed certificate, with its own key.
    latest = http.get(
        f"/api/v1/cert-manager/certificate-profiles/{profile.slug}/certificates/latest"
    )
    assert latest.status_code == 200, latest.text
    assert latest.json()["certificateId"] == new_id
    key = serialization.load_pem_private_key(latest.json()["privateKey"].encode(), None)
    assert public_key_der(new_x509) == key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    # Exactly once: later passes leave it alone.
    assert renewed_of(run_at(api, in_window(api, old_id) + timedelta(days=2)), old_id) == []
    assert [s.id for s in successors(api, old_id)] == [new_id]
    summary = http.get(f"{CERTS}/{old_id}").json()
    assert summary["renewedById"] == new_id
    assert summary["renewal"]["status"] == "renewed"


def test_concurrent_passes_renew_each_certificate_once(api: AcmeServer, http: httpx.Client) -> None:
    profile = auto_profile(api)
    ids = [
        issue(http, profile=profile.slug, commonName=f"c{i}.renew.test")["certificate"][
            "certificateId"
        ]
        for i in range(3)
    ]
    now = max(in_window(api, i) for i in ids)

    async def two_at_once(services: Services) -> list[PassReport]:
        other = await Services.open(services.settings, migrate=False)
        try:
            return list(await asyncio.gather(run_pass(services, now=now), run_pass(other, now=now)))
        finally:
            await other.close()

    reports = with_services(api, two_at_once)
    renewed = [old for report in reports for old in renewed_of(report, *ids)]
    assert sorted(renewed) == sorted(ids)
    assert all(failed_of(report, *ids) == [] for report in reports)
    for cert_id in ids:
        assert len(successors(api, cert_id)) == 1


def test_a_failure_is_visible_and_retried_with_backoff(api: AcmeServer, http: httpx.Client) -> None:
    profile = auto_profile(api)
    body = issue(http, profile=profile.slug, commonName="flaky.renew.test")
    cert_id = body["certificate"]["certificateId"]
    deny = {"sans": {"dns_name": {"allowed": ["*.renew.test"], "denied": ["flaky.renew.test"]}}}
    with_services(api, lambda s: s.store.update_policy(profile.policy_id, rules=deny))
    now = in_window(api, cert_id)

    first = run_at(api, now)
    assert failed_of(first, cert_id) == [cert_id]
    failed = http.get(f"{CERTS}/{cert_id}").json()
    assert failed["renewal"]["status"] == "failed"
    assert "flaky.renew.test" in failed["renewal"]["lastError"]
    assert failed["renewal"]["attempts"] == 1
    retry = datetime.fromisoformat(failed["renewal"]["nextAttemptAt"].replace("Z", "+00:00"))
    delay = api.settings.renewal_retry_period
    assert retry == now + delay

    assert failed_of(run_at(api, now + delay / 2), cert_id) == []  # waiting for the retry
    second = run_at(api, retry)
    assert failed_of(second, cert_id) == [cert_id]
    again = get(api, cert_id)
    assert again.renewal_attempts == 2
    assert again.next_renewal_at == retry + 2 * delay  # doubled

    with_services(api, lambda s: s.store.update_policy(profile.policy_id, rules=RULES))
    fixed = run_at(api, retry + 2 * delay)
    assert renewed_of(fixed, cert_id) == [cert_id]
    done = get(api, cert_id)
    assert (done.renewal_status, done.renewal_error, done.next_renewal_at) == (
        "renewed",
        None,
        None,
    )
    assert successors(api, cert_id)[0].status is CertificateStatus.ACTIVE


def test_a_crash_mid_renewal_neither_loses_nor_doubles_the_successor(
    api: AcmeServer, http: httpx.Client
) -> None:
    """A crash after reserving the successor (before it was stored signed) leaves a pending
    row linked as renewed_by; the next pass revokes it and renews once."""
    profile = auto_profile(api)
    cert_id = issue(http, profile=profile.slug, commonName="crash.renew.test")["certificate"][
        "certificateId"
    ]
    old = get(api, cert_id)

    async def reserve_then_crash(services: Services) -> CertificateRecord:
        return await services.store.reserve_certificate(
            serial_hex=uuid.uuid4().hex,
            profile_id=old.profile_id,
            ca_id=old.ca_id,
            request_method=old.request_method,
            common_name=old.common_name,
            subject=old.subject,
            sans=old.sans,
            key_algorithm=old.key_algorithm,
            hash_algorithm=old.hash_algorithm,
            not_before=old.not_before,
            not_after=old.not_after,
            renewed_from_id=old.id,
        )

    stuck = with_services(api, reserve_then_crash)
    assert get(api, cert_id).renewed_by_id == stuck.id

    report = run_at(api, in_window(api, cert_id))

    assert (cert_id, stuck.id) in report.abandoned
    new_id = dict(report.renewed)[cert_id]
    gone = get(api, stuck.id)
    assert gone.status is CertificateStatus.REVOKED
    assert gone.revocation_reason is RevocationReason.SUPERSEDED
    assert get(api, cert_id).renewed_by_id == new_id
    assert get(api, new_id).status is CertificateStatus.ACTIVE
    active = [s for s in successors(api, cert_id) if s.status is CertificateStatus.ACTIVE]
    assert [s.id for s in active] == [new_id]


def test_auto_renew_is_toggled_over_rest(api: AcmeServer, http: httpx.Client) -> None:
    profile = auto_profile(api)
    cert_id = issue(http, profile=profile.slug, commonName="toggle.renew.test")["certificate"][
        "certificateId"
    ]
    off = http.patch(f"{CERTS}/{cert_id}/auto-renew", json={"autoRenew": False})
    assert off.status_code == 200, off.text
    assert off.json() == {"certificateId": cert_id, "autoRenew": False}
    assert renewed_of(run_at(api, in_window(api, cert_id)), cert_id) == []

    on = http.patch(f"{CERTS}/{cert_id}/auto-renew", json={"autoRenew": True})
    assert on.status_code == 200, on.text
    assert renewed_of(run_at(api, in_window(api, cert_id)), cert_id) == [cert_id]

    bad = http.patch(f"{CERTS}/{cert_id}/auto-renew", json={"autoRenew": "yes"})
    assert bad.status_code == 400
    assert "autoRenew" in bad.json()["message"]
    missing = http.patch(f"{CERTS}/{uuid.uuid4()}/auto-renew", json={"autoRenew": True})
    assert missing.status_code == 404


def test_a_csr_certificate_is_refused_for_server_side_renewal(
    api: AcmeServer, http: httpx.Client, tmp_path: Path
) -> None:
    profile = auto_profile(api)
    csr = openssl_csr(tmp_path, subject="/CN=csr.renew.test", sans="DNS:csr.renew.test")
    response = http.post(CERTS, json={"profileId": profile.slug, "csr": csr})
    assert response.status_code == 200, response.text
    cert_id = response.json()["certificate"]["certificateId"]
    assert http.get(f"{CERTS}/{cert_id}").json()["autoRenew"] is False  # no key, no default

    refused = http.patch(f"{CERTS}/{cert_id}/auto-renew", json={"autoRenew": True})
    assert refused.status_code == 400
    assert refused.json()["message"] == CANNOT_AUTO_RENEW
    assert renewed_of(run_at(api, in_window(api, cert_id)), cert_id) == []


def test_only_the_lease_holder_runs_a_pass(api: AcmeServer, http: httpx.Client) -> None:
    profile = auto_profile(api)
    cert_id = issue(http, profile=profile.slug, commonName="lease.renew.test")["certificate"][
        "certificateId"
    ]
    now = in_window(api, cert_id)

    async def two_schedulers(services: Services) -> tuple[PassReport | None, PassReport | None]:
        # The server's own scheduler may hold the lease: free it for this test.
        holder = await services.store.lease_holder(LEASE_NAME, now=datetime.now(now.tzinfo))
        if holder is not None:
            await services.store.release_lease(LEASE_NAME, holder)
        first = RenewalScheduler(services, interval=timedelta(seconds=60))
        second = RenewalScheduler(services, interval=timedelta(seconds=60))
        try:
            return await first.tick(now), await second.tick(now)
        finally:
            await services.store.release_lease(LEASE_NAME, first.holder)

    acted, idle = with_services(api, two_schedulers)
    assert idle is None
    assert renewed_of(acted, cert_id) == [cert_id]
