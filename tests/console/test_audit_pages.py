"""The audit log in the console: filtered by action, actor and object (the filters in the
URL), rows linking to their objects, paged, details shown as text; REST's action filter
answers the same rows; readers and issuers get the 403 page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser

from acme_server.services import audit
from acme_server.services.context import Services
from testkit.browser import screenshot
from testkit.in_process_server import AcmeServer
from tests.console.conftest import sign_in
from tests.rest.conftest import bearer_client, with_services

CERTS = "/api/v1/cert-manager/certificates"
PAGER_ACTOR = "test:pager"
HOSTILE = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def made(console: AcmeServer) -> Iterator[dict[str, Any]]:
    """Two certificates revoked over REST, 60 entries of one actor, one hostile detail."""
    revoked: list[str] = []
    with bearer_client(console, role="admin") as http:
        for name in ("a.example.com", "b.example.com", "kept.example.com"):
            body = {"profileId": "default", "attributes": {"commonName": name, "ttl": "5d"}}
            answer = http.post(CERTS, json=body)
            assert answer.status_code == 200, answer.text
            cert_id = answer.json()["certificate"]["certificateId"]
            if name != "kept.example.com":
                done = http.post(f"{CERTS}/{cert_id}/revoke", json={})
                assert done.status_code == 200, done.text
                revoked.append(cert_id)

    async def write(services: Services) -> None:
        for i in range(60):
            await audit.record(
                services,
                actor=PAGER_ACTOR,
                action="test.page",
                target_type="thing",
                target_id=f"t{i:02d}",
                details={"i": i},
            )
        await audit.record(
            services,
            actor="test:hostile",
            action="test.hostile",
            target_type="thing",
            target_id=None,
            details={"name": HOSTILE},
        )

    with_services(console, write)
    yield {"revoked": revoked}


def test_filtered_by_action_the_rows_are_those_and_link_their_objects(
    console: AcmeServer, browser: Browser, made: dict[str, Any]
) -> None:
    page = sign_in(browser, console, "auditor")
    page.goto("/ui/audit")
    page.fill("#audit-filters input[name=action]", "certificate.revoke")
    page.click("#audit-filters button[type=submit]")
    page.wait_for_load_state()
    assert "action=certificate.revoke" in page.url
    rows = page.locator("#audit tbody tr")
    assert rows.count() == 2
    assert {rows.nth(i).get_attribute("data-action") for i in range(2)} == {"certificate.revoke"}
    links = {rows.nth(i).locator("a.object-link").inner_text() for i in range(2)}
    assert links == set(made["revoked"])
    href = rows.first.locator("a.object-link").get_attribute("href") or ""
    assert href.startswith("/ui/certificates/")
    screenshot(page, "audit")
    # REST's action filter answers the same rows
    with bearer_client(console, role="auditor") as http:
        body = http.get("/api/v1/audit-logs", params={"action": "certificate.revoke"}).json()
    assert body["totalCount"] == 2
    assert {e["targetId"] for e in body["auditLogs"]} == set(made["revoked"])
    # an object's history: every entry about one certificate
    target = rows.first.locator("a.object-link").inner_text()
    rows.first.locator("a", has_text="(history)").click()
    page.wait_for_load_state()
    assert "targetType=certificate" in page.url and f"targetId={target}" in page.url
    history = page.locator("#audit tbody tr a.object-link").all_inner_texts()
    assert len(history) >= 2 and set(history) == {target}  # issued, then revoked
    assert page.locator("#audit-filters input[name=targetId]").input_value() == target
    page.context.close()


def test_paged_by_actor_and_details_shown_as_text(
    console: AcmeServer, browser: Browser, made: dict[str, Any]
) -> None:
    page = sign_in(browser, console, "admin")
    page.goto(f"/ui/audit?actor={PAGER_ACTOR}")
    assert page.locator("#audit tbody tr").count() == 50
    assert page.locator(".pager span").inner_text() == "1\u201350 of 60"
    first_page = page.locator("#audit tbody tr").first.inner_text()
    assert "t59" in first_page  # newest first
    page.click(".pager a[rel=next]")
    page.wait_for_load_state()
    assert page.locator("#audit tbody tr").count() == 10
    assert page.locator(".pager span").inner_text() == "51\u201360 of 60"
    assert "t00" in page.locator("#audit tbody tr").last.inner_text()
    page.goto("/ui/audit?action=test.hostile")
    assert HOSTILE in page.locator("#audit .audit-details").inner_text()
    assert page.locator("#audit script").count() == 0
    page.goto("/ui/audit?action=no.such.action")
    assert page.locator("#audit-none").is_visible()
    response = page.goto("/ui/audit?action=" + "x" * 65)
    assert response is not None and response.status == 400
    response = page.goto("/ui/audit?page=0")
    assert response is not None and response.status == 400
    page.context.close()


def test_readers_and_issuers_get_the_403_page(console: AcmeServer, browser: Browser) -> None:
    for role in ("reader", "issuer"):
        page = sign_in(browser, console, role, profiles=("default",))
        response = page.goto("/ui/audit?action=certificate.revoke")
        assert response is not None and response.status == 403
        text = page.locator("main").inner_text()
        assert "audit.read" in text and "certificate.revoke" not in text
        assert page.locator("header nav a", has_text="Audit log").count() == 0
        page.context.close()
