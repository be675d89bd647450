"""The Options menu of a certificate and the pages behind it, in a real browser: export
(PEM with copy buttons, PEM and .p12 downloads opened with cryptography and openssl, the
key view audited), auto-renewal (refused for a CSR certificate), renew now, revoke (the
serial on the CA's CRL), delete; role limits, another profile's certificate, CSRF."""

from __future__ import annotations

import html
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from playwright.sync_api import Browser, Page

from acme_server.services.certificates.auto_renewal import CANNOT_AUTO_RENEW
from acme_server.services.certificates.renewal import CANNOT_RENEW
from testkit.browser import screenshot
from testkit.in_process_server import AcmeServer
from tests.console.conftest import make_user, sign_in, sign_in_as
from tests.rest.conftest import bearer_client

CERTS = "/api/v1/cert-manager/certificates"
P12_PASSWORD = "p12 export password"


@pytest.fixture(scope="module")
def admin_api(console: AcmeServer) -> Iterator[httpx.Client]:
    with bearer_client(console, role="admin") as client:
        yield client


def issue_managed(http: httpx.Client, name: str, profile: str = "default") -> dict[str, Any]:
    attributes = {"commonName": name, "altNames": name, "ttl": "7d"}
    answer = http.post(CERTS, json={"profileId": profile, "attributes": attributes})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()["certificate"]
    return body


def issue_from_csr(http: httpx.Client, name: str) -> dict[str, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = csr.public_bytes(serialization.Encoding.PEM).decode()
    answer = http.post(CERTS, json={"profileId": "default", "csr": pem})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()["certificate"]
    return body


def details(http: httpx.Client, cert_id: str) -> dict[str, Any]:
    answer = http.get(f"{CERTS}/{cert_id}")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def open_menu(page: Page, cert_id: str) -> None:
    page.goto(f"/ui/certificates/{cert_id}")
    page.click("details.cert-actions > summary")


def csrf_of(page: Page) -> str:
    return page.locator("input[name=csrf]").first.get_attribute("value") or ""


def same_key(key_pem: str, cert_pem: str) -> bool:
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    return key.public_key().public_bytes(der, spki) == cert.public_key().public_bytes(der, spki)


def test_export_shows_the_pem_texts_and_downloads_pem_and_pkcs12(
    console: AcmeServer, browser: Browser, admin_api: httpx.Client, tmp_path: Path
) -> None:
    issued = issue_managed(admin_api, "export-me.example.com")
    cert_id = issued["certificateId"]
    user = make_user(console, "issuer", profiles=None)
    page = sign_in_as(browser, console, user.name)
    open_menu(page, cert_id)
    page.click("details.cert-actions a:has-text('Export')")
    assert page.url.endswith(f"/ui/certificates/{cert_id}/export")
    key_pem = page.input_value("#pem-key")
    assert same_key(key_pem, page.input_value("#pem-certificate"))
    assert page.input_value("#pem-certificate") == issued["certificate"]
    assert page.input_value("#pem-chain") == issued["certificateChain"]
    copy_all = page.locator("button[data-copy-all]").get_attribute("data-copy-all") or ""
    assert copy_all.split() == ["pem-certificate", "pem-chain", "pem-key"]
    assert page.locator("button[data-copy=pem-key]").count() == 1
    screenshot(page, "certificate_export")

    with page.expect_download() as fullchain:
        page.click("main a:has-text('Download certificate and chain')")
    chain = x509.load_pem_x509_certificates(Path(fullchain.value.path()).read_bytes())
    assert format(chain[0].serial_number, "X") == issued["serialNumber"].lstrip("0")
    assert len(chain) == 1 + len(
        x509.load_pem_x509_certificates(issued["certificateChain"].encode())
    )
    with page.expect_download() as bundle:
        page.click("main a:has-text('with the private key')")
    assert same_key(
        Path(bundle.value.path()).read_text().split("-----END CERTIFICATE-----\n")[-1],
        issued["certificate"],
    )

    # PKCS#12: an empty password is refused in place (the browser's check turned off)
    page.locator("#pkcs12-form").evaluate("f => f.noValidate = true")
    with page.expect_response(lambda r: r.url.endswith("/export/pkcs12")) as refused:
        page.click("#pkcs12-form button[type=submit]")
    assert refused.value.status == 400
    assert "password is required" in page.inner_text("#err-password")
    page.fill("#pkcs12-form input[name=password]", P12_PASSWORD)
    page.fill("#pkcs12-form input[name=alias]", "my-alias")
    with page.expect_download() as p12:
        page.click("#pkcs12-form button[type=submit]")
    assert p12.value.suggested_filename == f"{issued['serialNumber']}.p12"
    target = tmp_path / "export.p12"
    p12.value.save_as(target)
    key, leaf, extra = pkcs12.load_key_and_certificates(target.read_bytes(), P12_PASSWORD.encode())
    assert key is not None and leaf is not None
    assert leaf.public_bytes(serialization.Encoding.PEM).decode() == issued["certificate"]
    assert same_key(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
        issued["certificate"],
    )
    assert len(extra) == len(chain) - 1
    opened = subprocess.run(
        ["openssl", "pkcs12", "-in", str(target), "-passin", f"pass:{P12_PASSWORD}", "-nokeys"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert opened.returncode == 0, opened.stderr
    assert "my-alias" in opened.stdout and "BEGIN CERTIFICATE" in opened.stdout

    # the key views (page, bundle.pem, .p12) are audited as REST audits them
    logs = admin_api.get(
        "/api/v1/audit-logs", params={"targetId": cert_id, "action": "certificate.export"}
    ).json()["auditLogs"]
    assert len(logs) >= 4  # export page twice (once with the refusal), bundle.pem, .p12
    assert {entry["actor"] for entry in logs} == {f"user:{user.id}"}
    page.context.close()


def test_a_reader_sees_export_without_key_only_and_is_refused_revoking(
    console: AcmeServer, browser: Browser, admin_api: httpx.Client
) -> None:
    cert_id = issue_managed(admin_api, "reader-view.example.com")["certificateId"]
    page = sign_in(browser, console, "reader", profiles=("default",))
    open_menu(page, cert_id)
    menu = page.locator("details.cert-actions .menu-body")
    assert menu.locator("a").all_inner_texts() == ["Export certificate"]
    assert menu.locator("form").count() == 0
    page.click("details.cert-actions a:has-text('Export')")
    assert page.locator("#pem-key").count() == 0
    assert "certificate.export" in page.inner_text("#key-withheld")
    assert "certificate.export" in page.inner_text("#p12-refused")
    token = csrf_of(page)
    refused = page.request.post(
        f"/ui/certificates/{cert_id}/revoke",
        form={"csrf": token, "reason": "KEY_COMPROMISE", "confirm": "on"},
    )
    assert refused.status == 403 and "certificate.revoke" in refused.text()
    assert page.request.get(f"/ui/certificates/{cert_id}/export/bundle.pem").status == 403
    p12 = page.request.post(
        f"/ui/certificates/{cert_id}/export/pkcs12", form={"csrf": token, "password": "x"}
    )
    assert p12.status == 403
    assert details(admin_api, cert_id)["status"] == "active"
    page.context.close()


def test_another_profiles_certificate_is_a_404_and_a_post_without_csrf_a_403(
    console: AcmeServer, browser: Browser, admin_api: httpx.Client
) -> None:
    cert_id = issue_managed(admin_api, "not-yours.example.com")["certificateId"]
    other = sign_in(browser, console, "issuer", profiles=("eab",))
    assert other.goto(f"/ui/certificates/{cert_id}/export").status == 404  # type: ignore[union-attr]
    forged = other.request.post(
        f"/ui/certificates/{cert_id}/revoke",
        form={"csrf": csrf_of(other), "reason": "UNSPECIFIED", "confirm": "on"},
    )
    assert forged.status == 404
    other.context.close()
    page = sign_in(browser, console, "issuer", profiles=("default",))
    page.goto(f"/ui/certificates/{cert_id}")
    no_token = page.request.post(
        f"/ui/certificates/{cert_id}/revoke", form={"reason": "UNSPECIFIED", "confirm": "on"}
    )
    assert no_token.status == 403 and "security token" in no_token.text()
    wrong = page.request.post(
        f"/ui/certificates/{cert_id}/auto-renew", form={"csrf": "x" * 40, "autoRenew": "on"}
    )
    assert wrong.status == 403
    after = details(admin_api, cert_id)
    assert after["status"] == "active" and after["autoRenew"] is False
    page.context.close()


def test_revoke_with_key_compromise_puts_the_serial_on_the_cas_crl(
    console: AcmeServer, browser: Browser, admin_api: httpx.Client
) -> None:
    issued = issue_managed(admin_api, "revoke-me.example.com")
    cert_id = issued["certificateId"]
    page = sign_in(browser, console, "issuer", profiles=("default",))
    # without the confirmation: the form again, 400, nothing revoked
    page.goto(f"/ui/certificates/{cert_id}/revoke")
    page.locator("main form").evaluate("f => f.noValidate = true")
    with page.expect_response(lambda r: r.url.endswith("/revoke")) as unconfirmed:
        page.click("main button.danger")
    assert unconfirmed.value.status == 400
    assert page.inner_text("#err-confirm") == "tick the box to confirm"
    assert details(admin_api, cert_id)["status"] == "active"

    open_menu(page, cert_id)
    labels = page.locator("details.cert-actions select[name=reason] option").all_inner_texts()
    assert len(labels) == 9 and "keyCompromise" in labels and "aACompromise" in labels
    page.select_option("details.cert-actions select[name=reason]", "KEY_COMPROMISE")
    screenshot(page, "certificate_options_menu")
    page.check("details.cert-actions input[name=confirm]")
    page.click("details.cert-actions button:has-text('Revoke')")
    page.wait_for_url(f"**/ui/certificates/{cert_id}")
    assert page.locator("h1 .badge").inner_text().lower() == "revoked"
    assert page.locator("details.cert-actions button:has-text('Revoke')").count() == 0
    after = details(admin_api, cert_id)
    assert after["status"] == "revoked" and after["revocationReason"] == "KEY_COMPROMISE"

    ca = admin_api.get(f"/api/v1/cert-manager/ca/internal/{after['issuingCa']['id']}").json()["ca"]
    with httpx.Client(timeout=30) as http:
        der = http.get(ca["crlDistributionUrl"])
    assert der.status_code == 200
    crl = x509.load_der_x509_crl(der.content)
    entry = crl.get_revoked_certificate_by_serial_number(int(issued["serialNumber"], 16))
    assert entry is not None
    reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    assert reason == x509.ReasonFlags.key_compromise
    # revoking again is refused with the service's message, 409
    again = page.request.post(
        f"/ui/certificates/{cert_id}/revoke",
        form={"csrf": csrf_of(page), "reason": "SUPERSEDED", "confirm": "on"},
    )
    assert again.status == 409 and "already revoked" in again.text()
    page.context.close()


def test_auto_renew_toggles_a_managed_certificate_and_is_refused_for_a_csr_one(
    console: AcmeServer, browser: Browser, admin_api: httpx.Client
) -> None:
    managed = issue_managed(admin_api, "auto.example.com")["certificateId"]
    from_csr = issue_from_csr(admin_api, "auto-csr.example.com")["certificateId"]
    page = sign_in(browser, console, "issuer", profiles=("default",))
    start = details(admin_api, managed)["autoRenew"]
    for _ in range(2):
        open_menu(page, managed)
        label = (
            "Disable auto-renewal"
            if details(admin_api, managed)["autoRenew"]
            else "Enable auto-renewal"
        )
        page.click(f"details.cert-actions button:has-text('{label}')")
        page.wait_for_url(f"**/ui/certificates/{managed}")
        assert details(admin_api, managed)["autoRenew"] is (label.startswith("Enable"))
    assert details(admin_api, managed)["autoRenew"] is start

    open_menu(page, from_csr)
    assert page.locator("details.cert-actions button:has-text('Renew now')").count() == 0
    with page.expect_response(lambda r: r.url.endswith("/auto-renew")) as answer:
        page.click("details.cert-actions button:has-text('Enable auto-renewal')")
    assert answer.value.status == 400
    assert page.inner_text("#refusal") == CANNOT_AUTO_RENEW
    assert details(admin_api, from_csr)["autoRenew"] is False
    renew = page.request.post(f"/ui/certificates/{from_csr}/renew", form={"csrf": csrf_of(page)})
    assert renew.status == 400 and CANNOT_RENEW in html.unescape(renew.text())
    page.context.close()


def test_renew_now_shows_the_new_key_once_and_links_both_ways(
    console: AcmeServer, browser: Browser, admin_api: httpx.Client
) -> None:
    old = issue_managed(admin_api, "renew-me.example.com")["certificateId"]
    page = sign_in(browser, console, "issuer", profiles=("default",))
    page.on("dialog", lambda dialog: dialog.accept())  # the form's data-confirm
    open_menu(page, old)
    page.click("details.cert-actions button:has-text('Renew now')")
    page.wait_for_selector("#pem-key")
    new = details(admin_api, old)["renewedById"]
    assert new is not None and new != old
    fresh = details(admin_api, new)
    assert fresh["renewedFromId"] == old
    assert page.input_value("#pem-certificate") == fresh["certificate"]
    assert same_key(page.input_value("#pem-key"), fresh["certificate"])
    page.click("main a:has-text('Open the certificate')")
    page.wait_for_url(f"**/ui/certificates/{new}")
    open_menu(page, old)  # the old one has a successor: no second renewal offered
    assert page.locator("details.cert-actions button:has-text('Renew now')").count() == 0
    page.context.close()


def test_delete_states_the_crl_meaning_needs_a_confirmation_and_removes_it(
    console: AcmeServer, browser: Browser, admin_api: httpx.Client
) -> None:
    cert_id = issue_managed(admin_api, "delete-me.example.com")["certificateId"]
    issuer = sign_in(browser, console, "issuer", profiles=("default",))
    open_menu(issuer, cert_id)  # certificate.delete is an admin's
    assert issuer.locator("details.cert-actions a:has-text('Delete')").count() == 0
    issuer.context.close()
    page = sign_in(browser, console, "admin")
    open_menu(page, cert_id)
    page.click("details.cert-actions a:has-text('Delete')")
    meaning = page.inner_text("#delete-meaning")
    assert "does not revoke" in meaning and "CRL" in meaning
    page.locator("main form").evaluate("f => f.noValidate = true")
    with page.expect_response(lambda r: r.url.endswith("/delete")) as unconfirmed:
        page.click("main button.danger")
    assert unconfirmed.value.status == 400
    assert details(admin_api, cert_id)["id"] == cert_id
    page.check("main input[name=confirm]")
    page.click("main button.danger")
    page.wait_for_url("**/ui/certificates?deleted=*")
    assert admin_api.get(f"{CERTS}/{cert_id}").status_code == 404
    # a revoked, unexpired certificate stays for the CRL: refused with the service's message
    revoked = issue_managed(admin_api, "revoked-stays.example.com")["certificateId"]
    assert admin_api.post(f"{CERTS}/{revoked}/revoke", json={}).status_code == 200
    refused = page.request.post(
        f"/ui/certificates/{revoked}/delete", form={"csrf": csrf_of(page), "confirm": "on"}
    )
    assert refused.status == 409 and "CRL" in refused.text()
    assert details(admin_api, revoked)["status"] == "revoked"
    page.context.close()
