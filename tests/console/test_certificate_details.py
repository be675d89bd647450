"""One certificate's details page in a real browser: every section checked against the
certificate itself (the PEM parsed with cryptography) and REST's details; the metadata
editor (REST shows the change; bad rows answered 400 with nothing changed); a reader sees
no editor and its POST is refused; a forged id is a 404 page; hostile names and metadata
are shown as text, never run."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID
from playwright.sync_api import Browser, Dialog, Page

from ca_core.serials import serial_to_hex
from testkit.browser import screenshot
from testkit.in_process_server import AcmeServer
from tests.console.conftest import sign_in
from tests.rest.conftest import bearer_client
from tests.rest.test_certificates_support import CERTS, certificate_of, issue, make_profile

XSS = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def http(console: AcmeServer) -> Iterator[httpx.Client]:
    with bearer_client(console, role="admin") as client:
        yield client


@pytest.fixture(scope="module")
def issued(http: httpx.Client) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    return issue(
        http,
        commonName=f"web-{tag}.example.com",
        altNames=[
            {"type": "dns_name", "value": f"web-{tag}.example.com"},
            {"type": "ip_address", "value": "10.1.2.3"},
            {"type": "email", "value": "ops@example.com"},
        ],
        organization="Acme Corp",
        organizationalUnit="Platform",
        country="DE",
        state="Berlin",
        locality="Berlin-Mitte",
        ttl="30d",
        metadata={"team": "web", "env": "prod", "old": "gone soon"},
    )


@pytest.fixture(scope="module")
def admin(console: AcmeServer, browser: Browser) -> Iterator[Page]:
    page = sign_in(browser, console, "admin")
    yield page
    page.context.close()


def field(page: Page, name: str) -> str:
    return page.locator(f"main [data-field={name}]").first.inner_text().strip()


def test_every_section_matches_the_certificate(
    admin: Page, http: httpx.Client, issued: dict[str, Any]
) -> None:
    cert_id = issued["certificate"]["certificateId"]
    cert = certificate_of(issued)
    rest = http.get(f"{CERTS}/{cert_id}").json()
    admin.goto(f"/ui/certificates/{cert_id}")
    screenshot(admin, "certificate-details")
    subject = cert.subject
    common_name = subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert admin.locator("main h1").inner_text().startswith(str(common_name))
    assert field(admin, "commonName") == common_name
    assert field(admin, "serialNumber") == serial_to_hex(cert.serial_number)
    assert field(admin, "status").lower() == "active"
    shown_after = admin.locator("main [data-field=notAfter] time").get_attribute("datetime")
    assert shown_after is not None
    shown = datetime.fromisoformat(shown_after.replace("Z", "+00:00")).replace(microsecond=0)
    assert shown == cert.not_valid_after_utc
    assert field(admin, "sha256") == cert.fingerprint(hashes.SHA256()).hex(":").upper()
    assert field(admin, "sha1") == cert.fingerprint(hashes.SHA1()).hex(":").upper()  # noqa: S303
    for name, oid in (
        ("organization", NameOID.ORGANIZATION_NAME),
        ("organizationalUnit", NameOID.ORGANIZATIONAL_UNIT_NAME),
        ("country", NameOID.COUNTRY_NAME),
        ("state", NameOID.STATE_OR_PROVINCE_NAME),
        ("locality", NameOID.LOCALITY_NAME),
    ):
        assert field(admin, name) == subject.get_attributes_for_oid(oid)[0].value
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    shown_sans = field(admin, "altNames")
    for value in [*sans.get_values_for_type(x509.DNSName), "10.1.2.3", "ops@example.com"]:
        assert value in shown_sans
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert field(admin, "isCA") == ("yes" if constraints.ca else "no")
    assert field(admin, "keyUsages") == ", ".join(rest["keyUsages"]) != ""
    assert field(admin, "extendedKeyUsages") == ", ".join(rest["extendedKeyUsages"])
    assert field(admin, "keyAlgorithm") == rest["keyAlgorithm"]
    assert field(admin, "signatureAlgorithm") == rest["signatureAlgorithm"]
    assert field(admin, "issuerDn") == cert.issuer.rfc4514_string()
    ca_link = admin.locator("main [data-field=issuingCa] a")
    assert ca_link.inner_text() == rest["issuingCa"]["name"]
    assert ca_link.get_attribute("href") == f"/ui/cas/{rest['issuingCa']['id']}"
    profile_link = admin.locator("main [data-field=profile] a")
    assert profile_link.get_attribute("href") == f"/ui/profiles/{rest['profile']['id']}"
    assert profile_link.inner_text() == "default"
    metadata = admin.locator("main [data-field=metadata]").inner_text()
    assert "team" in metadata and "web" in metadata
    # the request it came from, with its read-only metadata
    request_link = admin.locator("main [data-field=request] a")
    assert request_link.get_attribute("href") == f"/ui/requests/{issued['certificateRequestId']}"
    assert "gone soon" in field(admin, "requestMetadata")
    shown_pem = admin.locator("main textarea#pem").input_value()
    assert x509.load_pem_x509_certificate(shown_pem.encode()) == cert
    assert admin.locator("main form[action$='/metadata']").count() == 1  # an admin may edit


def test_renewed_from_and_by_link_both_ways(admin: Page, http: httpx.Client) -> None:
    first = issue(http, commonName=f"renew-{uuid.uuid4().hex[:8]}.example.com")
    old_id = first["certificate"]["certificateId"]
    renewed = http.post(f"{CERTS}/{old_id}/renew", json={})
    if renewed.status_code != 200:
        pytest.skip(f"renewal over REST answered {renewed.status_code}: {renewed.text}")
    new_id = renewed.json()["certificate"]["certificateId"]
    admin.goto(f"/ui/certificates/{old_id}")
    assert admin.locator("main [data-field=renewedBy] a").get_attribute("href") == (
        f"/ui/certificates/{new_id}"
    )
    with admin.expect_navigation():
        admin.click("main [data-field=renewedBy] a")
    assert admin.locator("main [data-field=renewedFrom] a").get_attribute("href") == (
        f"/ui/certificates/{old_id}"
    )


def test_editing_metadata_changes_what_rest_shows(
    admin: Page, http: httpx.Client, issued: dict[str, Any]
) -> None:
    cert_id = issued["certificate"]["certificateId"]
    admin.goto(f"/ui/certificates/{cert_id}")
    admin.click("main details.edit > summary")
    rows = admin.locator("main form.metadata-form tbody tr")
    keys = [rows.nth(i).locator("input[name=key]").input_value() for i in range(rows.count())]
    assert keys[:3] == ["env", "old", "team"] and keys[3:] == ["", ""]
    rows.nth(0).locator("input[name=value]").fill("staging")
    rows.nth(1).locator("input[name=remove]").check()
    rows.nth(3).locator("input[name=key]").fill("owner")
    rows.nth(3).locator("input[name=value]").fill("alice")
    screenshot(admin, "certificate-metadata-edit")
    with admin.expect_navigation():
        admin.click("main form.metadata-form button[type=submit]")
    assert "saved=1" in admin.url
    assert "The metadata is saved" in admin.locator("main p.notice").inner_text()
    expected = {"env": "staging", "owner": "alice", "team": "web"}
    assert http.get(f"{CERTS}/{cert_id}").json()["metadata"] == expected
    # the request's metadata is untouched (read-only)
    assert "gone soon" in field(admin, "requestMetadata")

    # a duplicate key: 400, the rows kept, the message shown, nothing changed
    admin.click("main details.edit > summary")
    rows = admin.locator("main form.metadata-form tbody tr")
    rows.nth(3).locator("input[name=key]").fill("team")
    rows.nth(3).locator("input[name=value]").fill("other")
    with admin.expect_navigation() as nav:
        admin.click("main form.metadata-form button[type=submit]")
    assert nav.value is not None and nav.value.status == 400
    assert "the key 'team' is given twice" in admin.locator("#err-metadata").inner_text()
    assert http.get(f"{CERTS}/{cert_id}").json()["metadata"] == expected


def test_a_reader_sees_no_editor_and_its_post_is_refused(
    console: AcmeServer, browser: Browser, http: httpx.Client, issued: dict[str, Any]
) -> None:
    cert_id = issued["certificate"]["certificateId"]
    before = http.get(f"{CERTS}/{cert_id}").json()["metadata"]
    reader = sign_in(browser, console, "reader", profiles=("default",))
    reader.goto(f"/ui/certificates/{cert_id}")
    assert field(reader, "commonName") == issued_name(issued)
    assert reader.locator("main form[action$='/metadata']").count() == 0
    assert reader.locator("main details.edit").count() == 0
    csrf = reader.locator("header input[name=csrf]").input_value()
    answer = reader.request.post(
        f"/ui/certificates/{cert_id}/metadata",
        form={"csrf": csrf, "key": "team", "value": "taken over"},
    )
    assert answer.status == 403
    assert "certificate.edit" in answer.text()
    assert http.get(f"{CERTS}/{cert_id}").json()["metadata"] == before
    reader.context.close()


def issued_name(issued: dict[str, Any]) -> str:
    cert = certificate_of(issued)
    return str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def test_a_forged_or_unreachable_id_is_a_404_page(
    console: AcmeServer, browser: Browser, admin: Page, http: httpx.Client
) -> None:
    for ref in (str(uuid.uuid4()), "not-an-id"):
        answer = admin.goto(f"/ui/certificates/{ref}")
        assert answer is not None and answer.status == 404
        assert "Not found" in admin.locator("main h1").inner_text()
    answer = admin.goto(f"/ui/requests/{uuid.uuid4()}")
    assert answer is not None and answer.status == 404
    # a reader granted another profile: the certificate is "not found", not "forbidden"
    other = make_profile(console, {})
    hidden = issue(http, profile=other.slug, commonName=f"hid-{uuid.uuid4().hex[:8]}.example.com")
    reader = sign_in(browser, console, "reader", profiles=("default",))
    answer = reader.goto(f"/ui/certificates/{hidden['certificate']['certificateId']}")
    assert answer is not None and answer.status == 404
    reader.context.close()


def test_hostile_names_and_metadata_are_shown_as_text(
    console: AcmeServer, admin: Page, http: httpx.Client
) -> None:
    dialogs: list[str] = []

    def record(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    admin.on("dialog", record)
    body = {
        "profileId": "default",
        "attributes": {"commonName": XSS},
        "metadata": {"note": XSS, XSS: "key"},
    }
    answer = http.post(CERTS, json=body)  # the default profile takes any common name
    assert answer.status_code == 200, answer.text
    cert_id = answer.json()["certificate"]["certificateId"]
    admin.goto(f"/ui/certificates/{cert_id}")
    text = admin.locator("main").inner_text()
    assert XSS in field(admin, "metadata") and text.count(XSS) >= 2
    assert field(admin, "commonName") == XSS
    admin.goto("/ui/certificates?meta=note%3D" + "%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert admin.locator("main input[name=meta]").first.input_value() == f"note={XSS}"
    assert XSS in admin.locator("table.inventory").inner_text()
    admin.goto(f"/ui/requests?meta=note%3D{'%3Cscript%3Ealert(1)%3C%2Fscript%3E'}")
    admin.wait_for_load_state("load")
    assert dialogs == []
    assert admin.locator("main script").count() == 0
