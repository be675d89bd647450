"""ACME accounts and orders in the console, read-only: a real ACME client (testkit's)
registers (one account with EAB), one order fails validation because the http-01
responder does not serve the token, one succeeds; the pages show the accounts, the orders
and the failure's problem document, and link the issued certificate. Forged ids are 404
pages, roles without ca.manage the 403 page."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.sync_api import Browser

from testkit.acme_client import AcmeClient, eab_binding
from testkit.browser import screenshot
from testkit.flows import authorize, issue
from testkit.in_process_server import AcmeServer
from tests.console.conftest import sign_in


def _last(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


@pytest.fixture(scope="module")
def flows(console: AcmeServer) -> Iterator[dict[str, Any]]:
    with console.http() as http:
        client = AcmeClient(http, console.directory_url, ec.generate_private_key(ec.SECP256R1()))
        assert client.new_account(contact=["mailto:web-team@example.com"]).status_code == 201
        account_id = _last(client.kid or "")
        failing = client.new_order("nobody-home.test")
        assert failing.status_code == 201, failing.text
        authorize(console, client, failing.json(), serve=False)  # the responder answers 404
        done, _ = issue(console, client, "served.test")
        eab_client = AcmeClient(
            http, console.profile_directory("eab"), ec.generate_private_key(ec.SECP256R1())
        )
        kid, hmac_key = console.eab_credential("eab")
        url = eab_client.directory["newAccount"]
        binding = eab_binding(kid, hmac_key, eab_client.key, url)
        assert eab_client.new_account(externalAccountBinding=binding).status_code == 201
        yield {
            "account_id": account_id,
            "failed_order": _last(failing.headers["Location"]),
            "done": done,
            "eab_account": _last(eab_client.kid or ""),
            "kid": kid,
        }


def test_accounts_list_and_an_account_with_its_orders(
    console: AcmeServer, browser: Browser, flows: dict[str, Any]
) -> None:
    page = sign_in(browser, console, "admin")
    page.goto("/ui/acme/accounts")
    row = page.locator(f"#acme-accounts tr[data-account='{flows['account_id']}']")
    assert "mailto:web-team@example.com" in row.inner_text()
    assert "default" in row.inner_text()
    eab_row = page.locator(f"#acme-accounts tr[data-account='{flows['eab_account']}']")
    assert flows["kid"] in eab_row.inner_text() and "eab" in eab_row.inner_text()
    screenshot(page, "acme-accounts")
    row.locator("a").first.click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/ui/acme/accounts/{flows['account_id']}")
    orders = page.locator("#acme-orders tbody tr")
    assert orders.count() == 2
    failed = page.locator(f"#acme-orders tr[data-order='{flows['failed_order']}']")
    assert "nobody-home.test" in failed.inner_text()
    assert (failed.locator(".badge").text_content() or "").strip() == "invalid"
    assert "unauthorized" in failed.inner_text()
    screenshot(page, "acme-account")
    page.context.close()


def test_the_failed_order_shows_why_and_the_valid_one_links_its_certificate(
    console: AcmeServer, browser: Browser, flows: dict[str, Any]
) -> None:
    page = sign_in(browser, console, "admin")
    page.goto(f"/ui/acme/accounts/{flows['account_id']}")
    page.click(f"#acme-orders tr[data-order='{flows['failed_order']}'] a")
    page.wait_for_load_state()
    assert page.url.endswith(f"/ui/acme/orders/{flows['failed_order']}")
    authz = page.locator(".authorization")
    assert authz.count() == 1
    assert "nobody-home.test" in authz.locator(".authz-name").inner_text()
    challenge = authz.locator("tr[data-challenge=http-01]")
    assert (challenge.locator(".badge").text_content() or "").strip() == "invalid"
    problem = challenge.locator(".problem").inner_text()
    assert "unauthorized" in problem and "404" in problem
    assert "/.well-known/acme-challenge/" in problem
    challenge.locator("details summary").click()
    assert "urn:ietf:params:acme:error:unauthorized" in challenge.locator("pre").inner_text()
    assert page.locator("#order-error").is_visible()  # the order's own error
    screenshot(page, "acme-order-failed")
    page.goto(f"/ui/acme/accounts/{flows['account_id']}")
    valid = page.locator("#acme-orders tbody tr", has_text="served.test")
    valid.locator("a").first.click()
    page.wait_for_load_state()
    link = page.locator("#order-certificate")
    certificate_id = link.inner_text()
    assert (page.locator("#order-status").text_content() or "").strip() == "valid"
    link.click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/ui/certificates/{certificate_id}")
    page.context.close()


def test_forged_ids_are_404_and_other_roles_403(
    console: AcmeServer, browser: Browser, flows: dict[str, Any]
) -> None:
    page = sign_in(browser, console, "admin")
    for path in (f"/ui/acme/accounts/{uuid.uuid4()}", f"/ui/acme/orders/{uuid.uuid4()}"):
        response = page.goto(path)
        assert response is not None and response.status == 404, path
        assert "not found" in page.locator("main").inner_text()
    response = page.goto("/ui/acme/accounts?page=zero")
    assert response is not None and response.status == 400
    page.context.close()
    for role in ("issuer", "reader", "auditor"):
        other = sign_in(
            browser, console, role, profiles=("default",) if role != "auditor" else None
        )
        for path in ("/ui/acme/accounts", f"/ui/acme/orders/{flows['failed_order']}"):
            response = other.goto(path)
            assert response is not None and response.status == 403, (role, path)
            assert "ca.manage" in other.locator("main").inner_text()
            assert "nobody-home.test" not in other.content()
        other.context.close()
