"""The CA pages in a real browser: the list and details against the CA's real certificate,
the certificate and CRL downloads (PEM and DER, parsed), creating an intermediate as an
admin (and a refused one: in place, nothing made), and a reader's limits (no create button,
a 403 page on POST, a 404 page for a forged id)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from playwright.sync_api import Browser, Page

from testkit.browser import screenshot
from testkit.in_process_server import AcmeServer
from tests.console.conftest import sign_in
from tests.rest.conftest import bearer_client

CAS = "/api/v1/cert-manager/ca/internal"


def rest_cas(server: AcmeServer) -> list[dict[str, Any]]:
    with bearer_client(server, role="admin") as http:
        listed: list[dict[str, Any]] = http.get(CAS).json()["cas"]
        return [http.get(f"{CAS}/{ca['id']}").json()["ca"] for ca in listed]


def download(page: Page, selector: str) -> bytes:
    with page.expect_download() as info:
        page.click(selector)
    return Path(info.value.path()).read_bytes()


def field(page: Page, name: str) -> str:
    return page.locator(f'[data-field="{name}"]').inner_text().strip()


def csrf_of(page: Page) -> str:
    return page.locator("input[name=csrf]").first.input_value()


def test_ca_list_and_details_show_the_real_certificate_and_downloads_parse(
    console: AcmeServer, browser: Browser
) -> None:
    ca = next(c for c in rest_cas(console) if c["type"] == "root")
    cert = x509.load_pem_x509_certificate(ca["certificate"].encode())
    page = sign_in(browser, console, "admin")
    page.goto("/ui/cas")
    row = page.locator(f'table.cas tr[data-ca="{ca["id"]}"]')
    assert ca["name"] in row.inner_text() and ca["subject"] in row.inner_text()
    assert f"{cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC" in row.inner_text()
    assert page.get_by_role("link", name="Create a CA").count() == 1
    screenshot(page, "cas")

    row.locator(f'a[href="/ui/cas/{ca["id"]}"]').click()
    page.wait_for_url(f"**/ui/cas/{ca['id']}")
    assert field(page, "subject") == cert.subject.rfc4514_string()
    assert field(page, "issuer") == cert.issuer.rfc4514_string()
    assert field(page, "serial") == ca["serialNumber"]
    assert field(page, "keyAlgorithm") == ca["keyAlgorithm"]
    assert field(page, "notBefore") == f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
    assert field(page, "notAfter") == f"{cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
    assert field(page, "sha256") == cert.fingerprint(hashes.SHA256()).hex(":").upper()
    assert page.locator("table.chain tbody tr").count() == 1  # a root: itself
    screenshot(page, "ca")

    pem = x509.load_pem_x509_certificate(download(page, "#dl-cert-pem"))
    der = x509.load_der_x509_certificate(download(page, "#dl-cert-der"))
    assert pem == cert and der == cert
    number = int(field(page, "crlNumber"))
    for crl in (
        x509.load_pem_x509_crl(download(page, "#dl-crl-pem")),
        x509.load_der_x509_crl(download(page, "#dl-crl-der")),
    ):
        assert crl.is_signature_valid(cert.public_key())  # type: ignore[arg-type]
        assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == number
        assert f"{crl.next_update_utc:%Y-%m-%d %H:%M} UTC" == field(page, "crlNextUpdate")
    page.context.close()


def test_an_admin_creates_an_intermediate_and_a_refused_one_changes_nothing(
    console: AcmeServer, browser: Browser
) -> None:
    root = next(c for c in rest_cas(console) if c["type"] == "root")
    before = len(rest_cas(console))
    page = sign_in(browser, console, "admin")
    page.goto("/ui/cas/new")
    page.check("input[name=type][value=intermediate]")
    page.fill("input[name=name]", "console-issuing-ca")
    page.fill("input[name=organization]", "Console Test")
    page.fill("input[name=country]", "DE")
    page.select_option("select[name=keyAlgorithm]", "EC_P256")
    page.select_option("select[name=hashAlgorithm]", "SHA256")
    page.fill("input[name=ttl]", "400d")
    with page.expect_response(lambda r: r.request.method == "POST") as refused:
        page.click("main button[type=submit]")  # no parent chosen
    assert refused.value.status == 400
    assert page.locator("#err-parentCaId").inner_text() == (
        "parentCaId is required for an intermediate CA"
    )
    assert page.input_value("input[name=name]") == "console-issuing-ca"  # the form is kept
    assert len(rest_cas(console)) == before
    screenshot(page, "ca_new")

    page.select_option("select[name=parentCaId]", root["id"])
    page.click("main button[type=submit]")
    page.wait_for_url("**/ui/cas/*?created=1")
    made = next(c for c in rest_cas(console) if c["name"] == "console-issuing-ca")
    assert page.url.endswith(f"/ui/cas/{made['id']}?created=1")
    assert made["type"] == "intermediate" and made["parentCaId"] == root["id"]
    cert = x509.load_pem_x509_certificate(made["certificate"].encode())
    parent = x509.load_pem_x509_certificate(root["certificate"].encode())
    cert.verify_directly_issued_by(parent)
    assert cert.subject.rfc4514_string() == "CN=console-issuing-ca,O=Console Test,C=DE"
    assert field(page, "subject") == cert.subject.rfc4514_string()
    assert page.locator("table.chain tbody tr").count() == 2
    page.goto(f"/ui/cas/{root['id']}")
    assert page.locator(f'main a[href="/ui/cas/{made["id"]}"]').count() == 1  # a child

    page.goto("/ui/cas/new")  # the same name again: the service's conflict, in place
    page.fill("input[name=name]", "console-issuing-ca")
    with page.expect_response(lambda r: r.request.method == "POST") as conflict:
        page.click("main button[type=submit]")
    assert conflict.value.status == 409
    assert "already exists" in page.locator("p.error").inner_text()
    assert len(rest_cas(console)) == before + 1
    page.context.close()


def test_a_reader_sees_no_create_button_gets_403_on_post_and_404_for_a_forged_id(
    console: AcmeServer, browser: Browser
) -> None:
    before = len(rest_cas(console))
    page = sign_in(browser, console, "reader", profiles=("eab",))
    page.goto("/ui/cas")
    assert page.locator("table.cas tbody tr").count() >= 1
    assert page.get_by_role("link", name="Create a CA").count() == 0
    answer = page.goto("/ui/cas/new")
    assert answer is not None and answer.status == 403
    assert "ca.manage" in page.locator("main").inner_text()
    posted = page.request.post(
        "/ui/cas/new", form={"csrf": csrf_of(page), "type": "root", "name": "reader-root"}
    )
    assert posted.status == 403 and "ca.manage" in posted.text()
    assert len(rest_cas(console)) == before
    forged = page.goto("/ui/cas/00000000-0000-0000-0000-000000000000")
    assert forged is not None and forged.status == 404
    page.context.close()
