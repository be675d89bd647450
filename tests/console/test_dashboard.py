"""The dashboard (GET /ui/) and GET /api/v1/dashboard: counts by status and profile, the
expiring and issued charts' bars on the right days, failed renewals and failed ACME
validations listed with links, all within the caller's reach; an auditor gets the 403
page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.sync_api import Browser

from acme_server.services.context import Services
from testkit.acme_client import AcmeClient
from testkit.browser import screenshot
from testkit.flows import authorize
from testkit.in_process_server import AcmeServer
from tests.console.conftest import sign_in
from tests.rest.conftest import bearer_client, with_services

CERTS = "/api/v1/cert-manager/certificates"
RENEWAL_ERROR = "the CA is disabled: renewal refused"


def _issue(http: httpx.Client, name: str, ttl: str) -> dict[str, Any]:
    body = {
        "profileId": "strict",
        "attributes": {"commonName": name, "keyAlgorithm": "EC_P256", "ttl": ttl},
    }
    response = http.post(CERTS, json=body)
    assert response.status_code == 200, response.text
    issued: dict[str, Any] = response.json()["certificate"]
    issued["notAfter"] = x509.load_pem_x509_certificate(
        issued["certificate"].encode()
    ).not_valid_after_utc
    return issued


@pytest.fixture(scope="module")
def issued(console: AcmeServer) -> Iterator[dict[str, Any]]:
    """Three certificates of `strict` (3, 3 and 10 days), one revoked, one whose renewal
    failed as the scheduler records it; and one failed http-01 validation on `default`."""
    day_before = datetime.now(UTC).date()
    with bearer_client(console, role="admin") as http:
        first = _issue(http, "one.allowed.test", "3d")
        second = _issue(http, "two.allowed.test", "3d")
        third = _issue(http, "ten.allowed.test", "10d")
        revoked = http.post(
            f"{CERTS}/{second['certificateId']}/revoke", json={"revocationReason": "SUPERSEDED"}
        )
        assert revoked.status_code == 200, revoked.text

    async def fail_renewal(services: Services) -> int:
        return await services.store.record_renewal_failure(
            third["certificateId"],
            error=RENEWAL_ERROR,
            next_attempt_at=datetime.now(UTC) + timedelta(hours=1),
        )

    assert with_services(console, fail_renewal) == 1
    with console.http() as client_http:
        client = AcmeClient(
            client_http, console.directory_url, ec.generate_private_key(ec.SECP256R1())
        )
        assert client.new_account(contact=["mailto:ops@example.com"]).status_code == 201
        response = client.new_order("nobody-home.test")
        order = response.json()
        authorize(console, client, order, serve=False)  # the responder answers 404
        order_id = response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    yield {
        "first": first,
        "second": second,
        "third": third,
        "order_id": order_id,
        "days": {day_before, datetime.now(UTC).date()},
    }


def test_a_reader_sees_the_figures_of_its_profiles_counted_and_charted(
    console: AcmeServer, browser: Browser, issued: dict[str, Any]
) -> None:
    page = sign_in(browser, console, "reader", profiles=("strict",))
    page.goto("/ui/")
    stats = page.locator("#by-status")
    assert stats.locator("[data-status=total]").inner_text() == "3"
    assert stats.locator("[data-status=active]").inner_text() == "2"
    assert stats.locator("[data-status=revoked]").inner_text() == "1"
    rows = page.locator("#by-profile tbody tr")
    assert rows.count() == 1  # only the profile it is granted
    assert rows.first.get_attribute("data-profile") == "strict"
    assert rows.first.locator("[data-status=total]").inner_text() == "3"
    # expiring: the active certificates only, each on its notAfter's UTC day
    bars = page.locator("#chart-expiring rect.bar")
    expected: dict[str, int] = {}
    for cert in (issued["first"], issued["third"]):
        day = cert["notAfter"].date().isoformat()
        expected[day] = expected.get(day, 0) + 1
    found = {bars.nth(i).get_attribute("data-date"): bars.nth(i).get_attribute("data-count")
             for i in range(bars.count())}  # fmt: skip
    assert found == {day: str(n) for day, n in expected.items()}
    day = issued["first"]["notAfter"].date().isoformat()
    assert page.locator(f"#chart-expiring rect.bar[data-date='{day}'] title").text_content() == (
        f"{day}: 1 certificate expiring"
    )
    assert page.locator("#chart-expiring > title").text_content() == (
        "Certificates expiring per day, next 90 days"
    )
    assert page.locator("#chart-expiring .x-labels text").count() >= 9  # dates on the axis
    # issued: all three today (revoked ones were issued too)
    issued_bars = page.locator("#chart-issued rect.bar")
    assert issued_bars.count() == 1
    assert issued_bars.first.get_attribute("data-count") == "3"
    assert (
        datetime.fromisoformat(issued_bars.first.get_attribute("data-date") or "").date()
        in (issued["days"])
    )
    # the failed renewal, linked; the failed validation is another profile's: not shown
    renewal = page.locator(
        f"#failed-renewals tr[data-certificate='{issued['third']['certificateId']}']"
    )
    assert RENEWAL_ERROR in renewal.inner_text()
    renewal.locator("a").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/ui/certificates/{issued['third']['certificateId']}")
    page.goto("/ui/")
    assert page.locator("#failed-validations-none").is_visible()
    screenshot(page, "dashboard-reader")
    page.context.close()


def test_an_admin_sees_every_profile_and_the_failed_validation(
    console: AcmeServer, browser: Browser, issued: dict[str, Any]
) -> None:
    page = sign_in(browser, console, "admin")
    page.goto("/ui/")
    row = page.locator("#failed-validations tbody tr").first
    text = row.inner_text()
    assert "nobody-home.test" in text and "unauthorized" in text and "404" in text
    row.locator("a", has_text="Order").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/ui/acme/orders/{issued['order_id']}")
    page.goto("/ui/")
    assert (
        page.locator("#by-profile tr[data-profile=strict] [data-status=total]").inner_text() == "3"
    )
    screenshot(page, "dashboard")
    page.context.close()


def test_the_rest_route_answers_the_same_figures(
    console: AcmeServer, issued: dict[str, Any]
) -> None:
    with bearer_client(console, role="reader", profiles=("strict",)) as http:
        body = http.get("/api/v1/dashboard").json()
    assert body["total"] == 3
    assert body["byStatus"] == {"pending": 0, "active": 2, "revoked": 1, "expired": 0}
    assert [p["profile"] for p in body["byProfile"]] == ["strict"]
    assert len(body["expiringPerDay"]) == 90 and len(body["issuedPerDay"]) == 30
    assert sum(d["count"] for d in body["expiringPerDay"]) == 2
    assert body["issuedPerDay"][-1]["date"] == datetime.now(UTC).date().isoformat()
    assert sum(d["count"] for d in body["issuedPerDay"]) == 3
    (failed,) = body["failedRenewals"]
    assert failed["certificateId"] == issued["third"]["certificateId"]
    assert failed["error"] == RENEWAL_ERROR and failed["attempts"] == 1
    assert body["failedValidations"] == []
    with bearer_client(console, role="admin") as http:
        admin = http.get("/api/v1/dashboard").json()
    (validation,) = admin["failedValidations"]
    assert validation["orderId"] == issued["order_id"]
    assert validation["error"]["type"] == "urn:ietf:params:acme:error:unauthorized"
    assert validation["identifier"] == {"type": "dns", "value": "nobody-home.test"}
    with bearer_client(console, role="auditor") as http:
        refused = http.get("/api/v1/dashboard")
    assert refused.status_code == 403
    assert refused.json()["details"] == {"permission": "certificate.list"}


def test_an_auditor_gets_the_403_page(console: AcmeServer, browser: Browser) -> None:
    page = sign_in(browser, console, "auditor")
    response = page.goto("/ui/")
    assert response is not None and response.status == 403
    assert "certificate.list" in page.locator("main").inner_text()
    page.context.close()


def test_on_postgresql_the_dashboard_counts_and_charts_too(
    console_pg: AcmeServer, browser: Browser
) -> None:
    with bearer_client(console_pg, role="admin") as http:
        cert = _issue(http, "pg.allowed.test", "4d")
    page = sign_in(browser, console_pg, "reader", profiles=("strict",))
    page.goto("/ui/")
    assert page.locator("#by-status [data-status=active]").inner_text() == "1"
    day = cert["notAfter"].date().isoformat()
    bar = page.locator(f"#chart-expiring rect.bar[data-date='{day}']")
    assert bar.get_attribute("data-count") == "1"
    assert page.locator("#chart-issued rect.bar").count() == 1
    page.context.close()
