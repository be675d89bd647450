"""The issue dialog in a real browser: a managed certificate (its key shown once and
matching the certificate), one from a CSR made here, a policy refusal shown next to the
field with the policy's exact messages (REST's, word for word) and nothing issued, bad
input and an oversized CSR answered with a message, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from playwright.sync_api import Browser, Page

from testkit.browser import screenshot
from testkit.in_process_server import AcmeServer
from tests.console.conftest import make_user, sign_in, sign_in_as
from tests.rest.conftest import bearer_client

CERTS = "/api/v1/cert-manager/certificates"


@pytest.fixture(scope="module")
def admin_api(console: AcmeServer) -> Iterator[httpx.Client]:
    with bearer_client(console, role="admin") as client:
        yield client


def count(http: httpx.Client, profile: str) -> int:
    answer = http.get(CERTS, params={"profileId": profile, "limit": 1})
    assert answer.status_code == 200, answer.text
    total: int = answer.json()["totalCount"]
    return total


def find(http: httpx.Client, serial: str) -> dict[str, Any]:
    answer = http.get(f"{CERTS}/{serial}")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def public_der(key: Any) -> bytes:
    return key.public_bytes(  # type: ignore[no-any-return]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def submit(page: Page) -> int:
    with page.expect_response(lambda r: r.url.endswith("/ui/certificates/new")) as answer:
        page.click("main button:has-text('Issue')")
    page.wait_for_load_state()
    return answer.value.status


def test_a_managed_issuance_shows_its_key_once_matching_the_certificate(
    console: AcmeServer, browser: Browser, admin_api: httpx.Client
) -> None:
    user = make_user(console, "issuer", profiles=None)
    page = sign_in_as(browser, console, user.name)
    page.goto("/ui/certificates")
    page.click("main a:has-text('Issue a certificate')")  # the table's way in
    page.wait_for_load_state()
    assert page.url.endswith("/ui/certificates/new")
    assert (
        page.locator("select[name=profileId] option[selected]").get_attribute("value") == "default"
    )
    page.fill("input[name=commonName]", "managed.example.com")
    page.fill("input[name=organization]", "Example Corp")
    page.fill("input[name=country]", "DE")
    page.fill("textarea[name=altNames]", "managed.example.com\nwww.managed.example.com\n10.1.2.3")
    page.select_option("select[name=keyAlgorithm]", "EC_P384")
    page.check("input[name=extendedKeyUsages][value=server_auth]")
    page.check("input[name=extendedKeyUsages][value=client_auth]")
    page.fill("input[name=ttl]", "10d")
    page.fill("textarea[name=metadata]", "team=payments\nenv = prod")
    screenshot(page, "certificate_issue")
    assert submit(page) == 200
    screenshot(page, "certificate_issued")
    key = serialization.load_pem_private_key(page.input_value("#pem-key").encode(), None)
    cert = x509.load_pem_x509_certificate(page.input_value("#pem-certificate").encode())
    assert public_der(key.public_key()) == public_der(cert.public_key())
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp384r1"
    copy_all = page.locator("button[data-copy-all]").get_attribute("data-copy-all") or ""
    assert "pem-key" in copy_all.split() and page.locator("#pkcs12-form").count() == 1
    stored = find(admin_api, format(cert.serial_number, "X"))
    assert stored["metadata"] == {"team": "payments", "env": "prod"}
    assert stored["subject"]["organization"] == "Example Corp"
    assert {n["value"] for n in stored["altNames"]} == {
        "managed.example.com", "www.managed.example.com", "10.1.2.3",
    }  # fmt: skip
    assert sorted(stored["extendedKeyUsages"]) == ["client_auth", "server_auth"]
    assert stored["requestMethod"] == "api_managed"
    logs = admin_api.get(
        "/api/v1/audit-logs", params={"targetId": stored["id"], "action": "certificate.issue"}
    ).json()["auditLogs"]
    assert [entry["actor"] for entry in logs] == [f"user:{user.id}"]
    page.click("main a:has-text('Open the certificate')")
    page.wait_for_url(f"**/ui/certificates/{stored['id']}")
    page.context.close()


def test_a_csr_issuance_shows_the_certificate_for_the_csrs_key(
    console: AcmeServer, browser: Browser, admin_api: httpx.Client
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "csr.example.com")]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("csr.example.com")]), False)
        .sign(key, hashes.SHA256())
    )
    page = sign_in(browser, console, "issuer", profiles=("default",))
    page.goto("/ui/certificates/new")
    page.click("main nav.tabs a:has-text('From a CSR')")
    page.fill("textarea[name=csr]", csr.public_bytes(serialization.Encoding.PEM).decode())
    page.fill("input[name=ttl]", "5d")
    page.fill("textarea[name=metadata]", "source=console")
    assert submit(page) == 200
    assert page.locator("#pem-key").count() == 0
    cert = x509.load_pem_x509_certificate(page.input_value("#pem-certificate").encode())
    assert public_der(cert.public_key()) == public_der(key.public_key())
    stored = find(admin_api, format(cert.serial_number, "X"))
    assert stored["requestMethod"] == "api_csr" and stored["metadata"] == {"source": "console"}
    page.context.close()


def test_a_policy_refusal_is_shown_next_to_the_names_and_nothing_is_issued(
    console: AcmeServer, browser: Browser, admin_api: httpx.Client
) -> None:
    attributes = {"commonName": "ok.allowed.test", "altNames": "ok.allowed.test, evil.example.com"}
    rest = admin_api.post(
        CERTS, json={"profileId": "strict", "attributes": attributes | {"ttl": "7d"}}
    )
    assert rest.status_code == 400
    expected = rest.json()["details"]
    assert any("evil.example.com" in message for message in expected)
    before = count(admin_api, "strict")
    page = sign_in(browser, console, "issuer", profiles=("default", "strict"))
    page.goto("/ui/certificates/new?profile=strict")
    page.fill("input[name=commonName]", "ok.allowed.test")
    page.fill("textarea[name=altNames]", "ok.allowed.test\nevil.example.com")
    page.fill("input[name=ttl]", "7d")
    assert submit(page) == 400
    shown = page.inner_text("#err-altNames")
    for message in expected:
        assert message in shown
    # the form keeps what was typed, and a second refusal, a too long TTL, lands at the TTL
    assert page.input_value("input[name=commonName]") == "ok.allowed.test"
    page.fill("input[name=ttl]", "60d")
    assert submit(page) == 400
    assert page.inner_text("#err-ttl").startswith("TTL exceeds the maximum allowed by the policy")
    assert count(admin_api, "strict") == before
    page.context.close()


def test_bad_fields_and_an_oversized_csr_are_answered_in_place_never_a_500(
    console: AcmeServer, browser: Browser, admin_api: httpx.Client
) -> None:
    before = count(admin_api, "default")
    page = sign_in(browser, console, "issuer", profiles=("default",))
    page.goto("/ui/certificates/new")
    page.fill("input[name=commonName]", "bad.example.com")
    page.fill("input[name=country]", "DE")
    page.locator("input[name=country]").evaluate("e => e.value = 'DEU'")  # past maxlength
    page.fill("textarea[name=metadata]", "no equals sign here")
    assert submit(page) == 400
    assert "two-letter" in page.inner_text("#err-country")
    assert "key=value" in page.inner_text("#err-metadata")
    page.fill("input[name=country]", "DE")
    page.fill("textarea[name=metadata]", "")
    page.fill("input[name=ttl]", "forever")
    assert submit(page) == 400
    assert page.inner_text("#err-ttl").startswith("invalid TTL")

    page.goto("/ui/certificates/new?mode=csr")
    page.fill("textarea[name=csr]", "-----BEGIN CERTIFICATE REQUEST-----\n" + "A" * 70_000)
    assert submit(page) == 400
    assert "too large" in page.inner_text("#err-csr")
    page.fill("textarea[name=csr]", "not a CSR at all")
    assert submit(page) == 400
    assert page.inner_text("#err-csr")
    token = page.locator("input[name=csrf]").first.get_attribute("value") or ""
    huge = page.request.post(
        "/ui/certificates/new", form={"csrf": token, "mode": "csr", "csr": "A" * 300_000}
    )
    assert huge.status == 400 and "exceeds" in huge.text()
    assert count(admin_api, "default") == before
    page.context.close()


def test_the_dialog_needs_certificate_issue_and_offers_only_granted_profiles(
    console: AcmeServer, browser: Browser
) -> None:
    reader = sign_in(browser, console, "reader", profiles=("default",))
    assert reader.goto("/ui/certificates/new").status == 403  # type: ignore[union-attr]
    reader.context.close()
    issuer = sign_in(browser, console, "issuer", profiles=("eab",))
    issuer.goto("/ui/certificates/new")
    options = issuer.locator("select[name=profileId] option").all()
    assert [o.get_attribute("value") for o in options] == ["eab"]
    token = issuer.locator("input[name=csrf]").first.get_attribute("value") or ""
    other = issuer.request.post(
        "/ui/certificates/new",
        form={
            "csrf": token,
            "mode": "managed",
            "profileId": "default",
            "commonName": "x.example.com",
        },
    )
    assert other.status == 404  # a profile not granted answers as a missing one
    issuer.context.close()
