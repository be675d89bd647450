"""POST /api/v1/cert-manager/certificates against the running server, on both backends:
managed keys of every algorithm, CSRs from the openssl binary, and the profile's policy
with every violation listed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ca_core.serials import serial_to_hex
from policy import messages
from testkit.in_process_server import AcmeServer
from tests.rest.conftest import bearer_client
from tests.rest.test_certificates_support import (
    CERTS,
    certificate_of,
    chain_of,
    count_certificates,
    count_requests,
    issue,
    make_profile,
    openssl_csr,
)

_CURVES = {"EC_P256": ec.SECP256R1, "EC_P384": ec.SECP384R1, "EC_P521": ec.SECP521R1}
_RSA_BITS = {"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}


@pytest.fixture(scope="module")
def http(api: AcmeServer) -> Iterator[httpx.Client]:
    with bearer_client(api) as client:
        yield client


def test_managed_issuance_with_every_key_algorithm(api: AcmeServer, http: httpx.Client) -> None:
    algorithms = ["EC_P256", "EC_P384", "EC_P521", "RSA_2048", "RSA_3072"]
    if not api.settings.database_url:  # RSA-4096 is slow to generate: once, on SQLite
        algorithms.append("RSA_4096")
    for algorithm in algorithms:
        body = issue(http, commonName=f"{algorithm.lower()}.example.com", keyAlgorithm=algorithm)
        issued = body["certificate"]
        cert = certificate_of(body)
        key = serialization.load_pem_private_key(issued["privateKey"].encode(), password=None)
        if algorithm in _CURVES:
            assert isinstance(key, ec.EllipticCurvePrivateKey)
            assert isinstance(key.curve, _CURVES[algorithm])
        else:
            assert isinstance(key, rsa.RSAPrivateKey)
            assert key.key_size == _RSA_BITS[algorithm]
        assert key.public_key() == cert.public_key()
        chain = chain_of(body)
        assert len(chain) == 2  # intermediate, root
        cert.verify_directly_issued_by(chain[0])
        chain[0].verify_directly_issued_by(chain[1])
        issuing = x509.load_pem_x509_certificate(issued["issuingCaCertificate"].encode())
        assert issuing == chain[0]
        assert issued["serialNumber"] == serial_to_hex(cert.serial_number)  # openssl's form
        assert body["certificateRequestId"]


def test_managed_attributes_reach_the_certificate(http: httpx.Client) -> None:
    body = issue(
        http,
        commonName="web.example.com",
        altNames=[
            {"type": "dns_name", "value": "web.example.com"},
            {"type": "ip_address", "value": "10.1.2.3"},
            {"type": "email", "value": "ops@example.com"},
            {"type": "uri", "value": "spiffe://example.com/web"},
        ],
        organization="Acme Corp",
        organizationalUnit="Web",
        country="DE",
        state="Berlin",
        locality="Berlin",
        keyAlgorithm="EC_P384",
        signatureAlgorithm="ECDSA-SHA384",
        keyUsages=["digital_signature", "key_agreement"],
        extendedKeyUsages=["server_auth"],
        ttl="10d",
    )
    cert = certificate_of(body)
    attrs = {a.oid: a.value for a in cert.subject}
    assert attrs[NameOID.ORGANIZATION_NAME] == "Acme Corp"
    assert attrs[NameOID.ORGANIZATIONAL_UNIT_NAME] == "Web"
    assert attrs[NameOID.COUNTRY_NAME] == "DE"
    assert attrs[NameOID.STATE_OR_PROVINCE_NAME] == "Berlin"
    assert attrs[NameOID.LOCALITY_NAME] == "Berlin"
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["web.example.com"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["10.1.2.3"]
    assert san.get_values_for_type(x509.RFC822Name) == ["ops@example.com"]
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == ["spiffe://example.com/web"]
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA384)
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and ku.key_agreement and not ku.key_encipherment
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    # the ttl counts from issuance; notBefore is backdated a minute on top
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(days=10, minutes=1)


def test_alt_names_as_a_comma_separated_string(http: httpx.Client) -> None:
    body = issue(http, altNames="a.example.com, 10.0.0.7 ,ops@example.com,dns:b.example.com")
    cert = certificate_of(body)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["a.example.com", "b.example.com"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["10.0.0.7"]
    assert san.get_values_for_type(x509.RFC822Name) == ["ops@example.com"]


def test_signature_algorithm_of_the_wrong_family_is_refused(
    api: AcmeServer, http: httpx.Client
) -> None:
    before = count_certificates(api)
    response = http.post(
        CERTS,
        json={
            "profileId": "default",
            "attributes": {"commonName": "x.example.com", "signatureAlgorithm": "RSA-SHA256"},
        },
    )
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["details"] == [
        f"{messages.SIGNATURE_ALGORITHM_NOT_ALLOWED}: RSA-SHA256 "
        "(the signing key is EC_P256, which signs with ECDSA)"
    ]
    assert count_certificates(api) == before


@pytest.mark.parametrize("key", ["rsa", "ec"])
@pytest.mark.parametrize("sans", [None, "DNS:app.example.com,DNS:www.example.com,IP:10.9.8.7"])
def test_csr_from_openssl(http: httpx.Client, tmp_path: Path, key: str, sans: str | None) -> None:
    subject = "/CN=app.example.com/O=Acme Corp/OU=Platform/C=US/ST=California/L=San Francisco"
    csr_pem = openssl_csr(tmp_path, key=key, subject=subject, sans=sans)
    response = http.post(
        CERTS, json={"profileId": "default", "csr": csr_pem, "attributes": {"ttl": "30d"}}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "privateKey" not in body["certificate"]
    cert = certificate_of(body)
    csr = x509.load_pem_x509_csr(csr_pem.encode())
    assert cert.public_key() == csr.public_key()
    assert {a.oid: a.value for a in cert.subject} == {a.oid: a.value for a in csr.subject}
    assert len(cert.subject) == 6
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(days=30, minutes=1)
    cert.verify_directly_issued_by(chain_of(body)[0])
    if sans is None:
        with pytest.raises(x509.ExtensionNotFound):
            cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    else:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert san.get_values_for_type(x509.DNSName) == ["app.example.com", "www.example.com"]
        assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["10.9.8.7"]


def test_csr_pasted_with_escaped_newlines(http: httpx.Client, tmp_path: Path) -> None:
    csr_pem = openssl_csr(tmp_path, key="ec", sans="DNS:pasted.example.com")
    escaped = csr_pem.strip().replace("\n", "\\n")  # a literal backslash-n, as pasted
    assert "\n" not in escaped
    response = http.post(
        CERTS, json={"profileId": "default", "csr": escaped, "attributes": {"ttl": "7d"}}
    )
    assert response.status_code == 200, response.text
    cert = certificate_of(response.json())
    assert cert.public_key() == x509.load_pem_x509_csr(csr_pem.encode()).public_key()


@pytest.mark.parametrize(
    ("csr", "message"),
    [
        ("", "CSR cannot be empty"),
        ("-----BEGIN CERTIFICATE REQUEST-----\nnot base64\n-----END CERTIFICATE REQUEST-----",
         "Invalid CSR format"),
    ],
)  # fmt: skip
def test_unusable_csr_is_refused(
    api: AcmeServer, http: httpx.Client, csr: str, message: str
) -> None:
    before = (count_certificates(api), count_requests(api))
    response = http.post(CERTS, json={"profileId": "default", "csr": csr})
    assert response.status_code == 400, response.text
    assert message in response.json()["message"]
    assert (count_certificates(api), count_requests(api)) == before


def test_csr_with_managed_attributes_is_refused(http: httpx.Client, tmp_path: Path) -> None:
    csr_pem = openssl_csr(tmp_path, key="ec")
    response = http.post(
        CERTS,
        json={"profileId": "default", "csr": csr_pem, "attributes": {"commonName": "x.test"}},
    )
    assert response.status_code == 400
    assert "attributes.commonName" in response.json()["message"]


def test_csr_against_a_self_signed_profile_is_refused(
    api: AcmeServer, http: httpx.Client, tmp_path: Path
) -> None:
    profile = make_profile(api, {}, self_signed=True)
    csr_pem = openssl_csr(tmp_path, key="ec")
    response = http.post(CERTS, json={"profileId": profile.id, "csr": csr_pem})
    assert response.status_code == 400
    assert response.json()["message"] == (
        "Self-signed certificates are not supported for CSR signing"
    )
    managed = issue(http, profile=profile.slug, commonName="self.example.com")
    cert = certificate_of(managed)
    assert cert.issuer == cert.subject
    assert managed["certificate"]["certificateChain"] == ""


RESTRICTIVE: dict[str, Any] = {
    "commonName": {"allowed": ["*.corp.test"]},
    "sans": {"dns_name": {"allowed": ["*.corp.test"], "denied": ["bad.corp.test"]}},
    "allowedSanTypes": ["dns_name"],
    "requiredSanTypes": ["dns_name"],
    "allowWildcards": False,
    "maxSans": 2,
    "subject": {"organization": {"required": True, "patterns": ["Acme*"]}},
    "keyAlgorithms": ["EC_P256"],
    "signatureAlgorithms": ["ECDSA-SHA256"],
    "keyUsages": {"allowed": ["digital_signature"], "required": ["digital_signature"]},
    "extendedKeyUsages": {"allowed": ["server_auth"], "required": ["server_auth"]},
    "maxTtl": "30d",
}


def test_every_policy_violation_is_listed(api: AcmeServer, http: httpx.Client) -> None:
    profile = make_profile(api, RESTRICTIVE)
    before = (count_certificates(api), count_requests(api))
    response = http.post(
        CERTS,
        json={
            "profileId": profile.id,
            "attributes": {
                "commonName": "www.evil.test",
                "altNames": "*.corp.test, 10.0.0.1, bad.corp.test",
                "keyAlgorithm": "RSA_2048",
                "signatureAlgorithm": "ECDSA-SHA384",
                "keyUsages": ["key_encipherment"],
                "extendedKeyUsages": ["client_auth"],
                "ttl": "365d",
            },
        },
    )
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["details"] == [
        "common name value does not match allowed patterns: www.evil.test",
        "Missing required organization attribute",
        "Number of SANs exceeds the maximum allowed by the policy: 3 requested, at most 2",
        "Wildcard names are not allowed by template policy: *.corp.test",
        "DNS SAN is not allowed by template policy: *.corp.test",
        "IP SAN is not allowed by template policy: 10.0.0.1",
        "DNS SAN is not allowed by template policy: bad.corp.test",
        "Key algorithm is not allowed by template policy: RSA_2048",
        "Signature algorithm is not allowed by template policy: ECDSA-SHA384",
        "Key usage key_encipherment is not allowed by template policy",
        "Required key usage digital_signature not found",
        "Extended key usage client_auth is not allowed by template policy",
        "Required extended key usage server_auth not found",
        "TTL exceeds the maximum allowed by the policy: 365d requested, at most 30d",
    ]
    assert body["message"] == "; ".join(body["details"])
    assert (count_certificates(api), count_requests(api)) == before

    missing = http.post(
        CERTS,
        json={
            "profileId": profile.slug,
            "attributes": {
                "commonName": "ok.corp.test",
                "organization": "Mallory Ltd",
                "keyUsages": ["digital_signature"],
                "extendedKeyUsages": ["server_auth"],
            },
        },
    )
    assert missing.status_code == 400
    assert missing.json()["details"] == [
        "organization value does not match allowed patterns: Mallory Ltd",
        "Required DNS SAN not found",
        "TTL exceeds the maximum allowed by the policy: 90d requested, at most 30d",
    ]

    good = issue(
        http,
        profile=profile.slug,
        commonName="ok.corp.test",
        altNames=[{"type": "dns_name", "value": "ok.corp.test"}],
        organization="Acme Corp",
        keyAlgorithm="EC_P256",
        signatureAlgorithm="ECDSA-SHA256",
        keyUsages=["digital_signature"],
        extendedKeyUsages=["server_auth"],
        ttl="30d",
    )
    assert certificate_of(good).subject.rfc4514_string() == "CN=ok.corp.test,O=Acme Corp"


def test_csr_is_checked_against_the_policy(
    api: AcmeServer, http: httpx.Client, tmp_path: Path
) -> None:
    profile = make_profile(api, {"keyAlgorithms": ["EC_P256"], "maxTtl": "30d"})
    csr_pem = openssl_csr(tmp_path, key="rsa", sans="DNS:app.example.com")
    response = http.post(
        CERTS, json={"profileId": profile.id, "csr": csr_pem, "attributes": {"ttl": "31d"}}
    )
    assert response.status_code == 400
    assert response.json()["details"] == [
        "Key algorithm is not allowed by template policy: RSA_2048",
        "TTL exceeds the maximum allowed by the policy: 31d requested, at most 30d",
    ]
