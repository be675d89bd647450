"""Revocation with CRLs checked by `openssl verify`, exports read by `openssl pkcs12`,
bundles, renew-now and the audit trail, over REST on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from acme_server.services.certificates.renewal import CANNOT_RENEW
from testkit.in_process_server import AcmeServer
from tests.rest.conftest import bearer_client
from tests.rest.test_certificates_support import (
    CERTS,
    certificate_of,
    issue,
    openssl_csr,
    run_openssl,
)


@pytest.fixture(scope="module")
def http(api: AcmeServer) -> Iterator[httpx.Client]:
    with bearer_client(api, role="admin") as client:
        yield client


def _crls(http: httpx.Client, ca_id: str) -> list[dict[str, Any]]:
    response = http.get(f"/api/v1/cert-manager/ca/internal/{ca_id}/crls")
    assert response.status_code == 200, response.text
    crls: list[dict[str, Any]] = response.json()
    return crls


def _audit(http: httpx.Client, target_id: str) -> list[str]:
    response = http.get("/api/v1/audit-logs", params={"targetId": target_id})
    assert response.status_code == 200, response.text
    return [entry["action"] for entry in response.json()["auditLogs"]]


def test_revoke_then_openssl_verify_with_the_crl_says_revoked(
    http: httpx.Client, tmp_path: Path
) -> None:
    body = issue(http, commonName="revoke-me.example.com", keyAlgorithm="RSA_2048")
    cert_id = body["certificate"]["certificateId"]
    ca_id = http.get(f"{CERTS}/{cert_id}").json()["issuingCa"]["id"]
    (tmp_path / "cert.pem").write_text(body["certificate"]["certificate"])
    (tmp_path / "chain.pem").write_text(body["certificate"]["certificateChain"])
    before = _crls(http, ca_id)  # a CA without a CRL gets its first one here
    (tmp_path / "crl.pem").write_text(before[0]["crl"])
    verify = [
        "verify", "-crl_check", "-CAfile", str(tmp_path / "chain.pem"),
        "-CRLfile", str(tmp_path / "crl.pem"), str(tmp_path / "cert.pem"),
    ]  # fmt: skip
    good = run_openssl(*verify)
    assert good.returncode == 0, good.stdout + good.stderr

    response = http.post(f"{CERTS}/{cert_id}/revoke", json={"revocationReason": "KEY_COMPROMISE"})
    assert response.status_code == 200, response.text
    revoked = response.json()
    assert revoked["message"] == "Successfully revoked certificate"
    assert revoked["serialNumber"] == body["certificate"]["serialNumber"]
    assert revoked["revokedAt"].endswith("Z")

    crls = _crls(http, ca_id)
    assert len(crls) == len(before) + 1
    newest = x509.load_pem_x509_crl(crls[0]["crl"].encode())
    serial = certificate_of(body).serial_number
    entry = newest.get_revoked_certificate_by_serial_number(serial)
    assert entry is not None
    assert [c["crlNumber"] for c in crls] == sorted((c["crlNumber"] for c in crls), reverse=True)
    (tmp_path / "crl.pem").write_text(crls[0]["crl"])
    bad = run_openssl(*verify)
    assert bad.returncode != 0
    assert "certificate revoked" in (bad.stdout + bad.stderr)

    again = http.post(f"{CERTS}/{cert_id}/revoke", json={"revocationReason": "UNSPECIFIED"})
    assert again.status_code == 409
    details = http.get(f"{CERTS}/{cert_id}").json()
    assert details["status"] == "revoked"
    assert details["revocationReason"] == "KEY_COMPROMISE"
    assert details["revokedAt"] == revoked["revokedAt"]
    assert "certificate.revoke" in _audit(http, cert_id)


def test_pkcs12_export_is_read_by_openssl(http: httpx.Client, tmp_path: Path) -> None:
    body = issue(http, commonName="p12.example.com")
    cert_id = body["certificate"]["certificateId"]
    response = http.post(
        f"{CERTS}/{cert_id}/export",
        json={"format": "pkcs12", "password": "s3cret pass", "alias": "web"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-pkcs12"
    (tmp_path / "f.p12").write_bytes(response.content)
    p12 = str(tmp_path / "f.p12")
    shown = run_openssl("pkcs12", "-in", p12, "-nokeys", "-clcerts", "-passin", "pass:s3cret pass")
    assert shown.returncode == 0, shown.stderr
    assert "subject=CN" in shown.stdout and "p12.example.com" in shown.stdout
    assert "friendlyName: web" in shown.stdout
    key, cert, extra = pkcs12.load_key_and_certificates(response.content, b"s3cret pass")
    assert cert == certificate_of(body)
    assert key is not None and key.public_key() == cert.public_key()
    assert len(extra) == 2
    assert "certificate.export" in _audit(http, cert_id)

    for payload, message in [
        ({"format": "pkcs12", "password": ""}, "password is required"),
        ({"format": "pkcs12"}, "password is required"),
        ({"format": "jks", "password": "x"}, "format must be"),
        ({"password": 5}, "password must be a string"),
    ]:
        refused = http.post(f"{CERTS}/{cert_id}/export", json=payload)
        assert refused.status_code == 400, refused.text
        assert message in refused.json()["message"]

    pem = http.post(f"{CERTS}/{cert_id}/export", json={"format": "pem"})
    assert pem.status_code == 200
    assert pem.text.count("BEGIN CERTIFICATE") == 3 and "BEGIN PRIVATE KEY" in pem.text


def test_bundle_as_json_and_pem(http: httpx.Client, tmp_path: Path) -> None:
    managed = issue(http, commonName="bundle.example.com")
    cert_id = managed["certificate"]["certificateId"]
    response = http.get(f"{CERTS}/{cert_id}/bundle")
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"  # it carries a private key
    bundle = response.json()
    for key in ("certificate", "certificateChain", "privateKey", "serialNumber"):
        assert bundle[key] == managed["certificate"][key]
    pem = http.get(f"{CERTS}/{cert_id}/bundle", headers={"Accept": "application/x-pem-file"})
    assert pem.headers["content-type"].startswith("application/x-pem-file")
    assert pem.text == bundle["certificate"] + bundle["certificateChain"] + bundle["privateKey"]

    csr_pem = openssl_csr(tmp_path, key="ec", sans="DNS:csr-bundle.example.com")
    csr = http.post(CERTS, json={"profileId": "default", "csr": csr_pem}).json()
    csr_bundle = http.get(f"{CERTS}/{csr['certificate']['certificateId']}/bundle").json()
    assert csr_bundle["privateKey"] is None
    assert csr_bundle["certificate"] == csr["certificate"]["certificate"]


def test_renew_now_links_both_ways_with_a_fresh_key(http: httpx.Client, tmp_path: Path) -> None:
    old = issue(
        http,
        commonName="renew.example.com",
        altNames="renew.example.com, 10.2.3.4",
        organization="Acme Corp",
        keyAlgorithm="EC_P384",
        ttl="20d",
        metadata={"owner": "web"},
    )
    old_id = old["certificate"]["certificateId"]
    patched = http.patch(f"{CERTS}/{old_id}/metadata", json={"metadata": {"owner": "ops"}})
    assert patched.status_code == 200

    response = http.post(f"{CERTS}/{old_id}/renew")
    assert response.status_code == 200, response.text
    new = response.json()
    new_id = new["certificate"]["certificateId"]
    assert new["renewedFromId"] == old_id and new_id != old_id
    assert new["certificateRequestId"] != old["certificateRequestId"]
    old_cert, new_cert = certificate_of(old), certificate_of(new)
    assert new_cert.subject == old_cert.subject
    assert new_cert.extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    ) == old_cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert new_cert.public_key() != old_cert.public_key()  # a fresh key
    key = serialization.load_pem_private_key(
        new["certificate"]["privateKey"].encode(), password=None
    )
    assert key.public_key() == new_cert.public_key()
    assert key.key_size == 384  # type: ignore[union-attr]
    assert (new_cert.not_valid_after_utc - new_cert.not_valid_before_utc).days == 20

    old_details = http.get(f"{CERTS}/{old_id}").json()
    new_details = http.get(f"{CERTS}/{new_id}").json()
    assert old_details["renewedById"] == new_id
    assert new_details["renewedFromId"] == old_id
    assert new_details["metadata"] == {"owner": "ops"}
    assert old_details["status"] == "active"  # renewal does not revoke
    assert "certificate.renew" in _audit(http, new_id)

    twice = http.post(f"{CERTS}/{old_id}/renew")
    assert twice.status_code == 409
    assert new_id in twice.json()["message"]
    chained = http.post(f"{CERTS}/{new_id}/renew")
    assert chained.status_code == 200
    assert chained.json()["renewedFromId"] == new_id


def test_renew_refused_without_the_private_key(http: httpx.Client, tmp_path: Path) -> None:
    csr_pem = openssl_csr(tmp_path, key="rsa", sans="DNS:csr-renew.example.com")
    issued = http.post(CERTS, json={"profileId": "default", "csr": csr_pem})
    assert issued.status_code == 200, issued.text
    cert_id = issued.json()["certificate"]["certificateId"]
    response = http.post(f"{CERTS}/{cert_id}/renew")
    assert response.status_code == 400
    assert response.json()["message"] == CANNOT_RENEW
    assert http.get(f"{CERTS}/{cert_id}").json()["renewedById"] is None


def test_writes_are_audited(http: httpx.Client) -> None:
    cert_id = issue(http, commonName="audit.example.com")["certificate"]["certificateId"]
    http.patch(f"{CERTS}/{cert_id}/metadata", json={"metadata": {"a": "b"}})
    http.delete(f"{CERTS}/{cert_id}")
    assert set(_audit(http, cert_id)) == {
        "certificate.issue",
        "certificate.metadata.update",
        "certificate.delete",
    }
    entries = http.get("/api/v1/audit-logs", params={"targetId": cert_id}).json()["auditLogs"]
    assert all(e["actor"].startswith("identity:") for e in entries)
    assert all("privateKey" not in str(e["details"]) for e in entries)
