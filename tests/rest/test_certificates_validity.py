"""Validity over the REST API (issue 15): the ttl counts from issuance, notBefore is
backdated a minute on top; a notAfter past the issuing CA's own is cut to it and the answer
says so (`notAfterCut`, `warnings`); the policy's maxTtl bounds the requested ttl."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509

from acme_server.services.certificates.issuance import BACKDATE, IssueSpec
from acme_server.services.certificates.issuance import issue as issue_directly
from acme_server.services.certificates.renewal import renew_now
from acme_server.services.context import Services
from pki_types.model import HashAlgorithm, KeyAlgorithm, RequestMethod, SubjectAttributes
from policy import messages
from testkit.in_process_server import AcmeServer
from tests.rest.conftest import bearer_client, with_services
from tests.rest.test_certificates_support import (
    CERTS,
    certificate_of,
    chain_of,
    issue,
    make_profile,
    openssl_csr,
)

SECOND = timedelta(seconds=1)  # X.509 times have whole seconds


@pytest.fixture(scope="module")
def http(api: AcmeServer) -> Iterator[httpx.Client]:
    with bearer_client(api) as client:
        yield client


def _timed(http: httpx.Client, body: dict[str, Any]) -> tuple[dict[str, Any], datetime, datetime]:
    before = datetime.now(UTC)
    response = http.post(CERTS, json=body)
    after = datetime.now(UTC)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data, before, after


def _assert_counts_from_issuance(
    cert: x509.Certificate, ttl: timedelta, before: datetime, after: datetime
) -> None:
    assert before + ttl - SECOND <= cert.not_valid_after_utc <= after + ttl
    assert before - BACKDATE - SECOND <= cert.not_valid_before_utc <= after - BACKDATE
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == ttl + BACKDATE


def test_a_3m_managed_certificate_is_usable_for_3_minutes(http: httpx.Client) -> None:
    body, before, after = _timed(
        http, {"profileId": "default", "attributes": {"commonName": "3m.example.com", "ttl": "3m"}}
    )
    _assert_counts_from_issuance(certificate_of(body), timedelta(minutes=3), before, after)
    assert body["warnings"] == [] and body["notAfterCut"] is None
    details = http.get(f"{CERTS}/{body['certificate']['certificateId']}").json()
    assert details["notAfter"].startswith(
        certificate_of(body).not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%S")
    )


def test_a_csr_certificate_counts_from_issuance_too(http: httpx.Client, tmp_path: Path) -> None:
    csr = openssl_csr(tmp_path, key="ec", sans="DNS:csr-3m.example.com")
    body, before, after = _timed(
        http, {"profileId": "default", "csr": csr, "attributes": {"ttl": "3m"}}
    )
    _assert_counts_from_issuance(certificate_of(body), timedelta(minutes=3), before, after)


def test_renewal_keeps_the_ttl_from_issuance(http: httpx.Client) -> None:
    old = issue(http, commonName="renew-3m.example.com", ttl="3m")
    before = datetime.now(UTC)
    response = http.post(f"{CERTS}/{old['certificate']['certificateId']}/renew")
    after = datetime.now(UTC)
    assert response.status_code == 200, response.text
    new = response.json()
    _assert_counts_from_issuance(certificate_of(new), timedelta(minutes=3), before, after)
    assert new["warnings"] == []


def test_a_ttl_past_the_issuing_ca_is_cut_and_the_answer_says_so(http: httpx.Client) -> None:
    body = issue(http, commonName="long.example.com", ttl="5000d")
    cert, issuing = certificate_of(body), chain_of(body)[0]
    assert cert.not_valid_after_utc == issuing.not_valid_after_utc
    ca_end = issuing.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    cut = body["notAfterCut"]
    assert (cut["reason"], cut["notAfter"]) == ("issuing_ca_not_after", ca_end)
    asked = datetime.fromisoformat(cut["requestedNotAfter"])
    assert asked - datetime.now(UTC) > timedelta(days=4999)
    [warning] = body["warnings"]
    assert warning.startswith(f"notAfter was cut to the issuing CA's notAfter {ca_end}: ")
    assert "the requested ttl 5000d reaches past it" in warning
    details = http.get(f"{CERTS}/{body['certificate']['certificateId']}").json()
    assert details["notAfter"] == ca_end  # the inventory records what was signed

    renewed = http.post(f"{CERTS}/{body['certificate']['certificateId']}/renew")
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["notAfterCut"]["reason"] == "issuing_ca_not_after"
    assert len(renewed.json()["warnings"]) == 1


def test_a_self_signed_certificate_is_never_cut(api: AcmeServer, http: httpx.Client) -> None:
    profile = make_profile(api, {}, self_signed=True)
    body = issue(http, profile=profile.slug, commonName="self.example.com", ttl="5000d")
    cert = certificate_of(body)
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(days=5000) + BACKDATE
    assert body["warnings"] == [] and body["notAfterCut"] is None


def test_max_ttl_bounds_the_requested_ttl_not_the_backdate(
    api: AcmeServer, http: httpx.Client
) -> None:
    profile = make_profile(api, {"maxTtl": "3m"})
    body = issue(http, profile=profile.slug, commonName="max.example.com", ttl="3m")
    cert = certificate_of(body)
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(minutes=4)
    refused = http.post(
        CERTS,
        json={
            "profileId": profile.slug,
            "attributes": {"commonName": "m.example.com", "ttl": "4m"},
        },
    )
    assert refused.status_code == 400, refused.text
    assert refused.json()["details"] == [f"{messages.TTL_EXCEEDED}: 4m requested, at most 3m"]


def test_renewing_a_certificate_without_a_request_record_keeps_its_ttl(api: AcmeServer) -> None:
    """As the server's own TLS certificate is renewed: its TTL is read off the certificate,
    less the backdated minute, so that each renewal does not grow it by a minute."""

    async def work(services: Services) -> tuple[x509.Certificate, x509.Certificate]:
        profile = await services.store.get_default_profile()
        assert profile is not None
        spec = IssueSpec(
            subject=SubjectAttributes(common_name="bare.example.com"),
            sans=(),
            key_usages=frozenset(),
            extended_key_usages=frozenset(),
            validity=timedelta(hours=2),
            hash_algorithm=HashAlgorithm.SHA256,
            request_method=RequestMethod.API_MANAGED,
            key_algorithm=KeyAlgorithm.EC_P256,
        )
        first = await issue_directly(services, profile, spec)
        renewed = await renew_now(services, first.record)
        return first.certificate, renewed.issued.certificate

    first, renewed = with_services(api, work)
    for cert in (first, renewed):
        assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(hours=2, minutes=1)
