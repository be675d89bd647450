"""The certificate requests pages in a real browser: the list (newest first, filters by
status, profile and several metadata pairs held in the URL, paging, links to the
certificate) and one request's read-only details; a granted reader's reach; bad filters
and forged ids."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page

from testkit.browser import screenshot
from testkit.in_process_server import AcmeServer
from tests.console.conftest import sign_in
from tests.rest.conftest import bearer_client
from tests.rest.test_certificates_support import REQUESTS, issue, make_profile


@pytest.fixture(scope="module")
def http(console: AcmeServer) -> Iterator[httpx.Client]:
    with bearer_client(console, role="admin") as client:
        yield client


@pytest.fixture(scope="module")
def made(http: httpx.Client) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    bodies = {
        name: issue(
            http,
            commonName=f"{name}-{tag}.example.com",
            metadata={"run": tag, "team": team, "env": env},
        )
        for name, team, env in (
            ("one", "web", "prod"),
            ("two", "web", "dev"),
            ("three", "ops", "prod"),
        )
    }
    return {"tag": tag, **bodies}


@pytest.fixture(scope="module")
def admin(console: AcmeServer, browser: Browser) -> Iterator[Page]:
    page = sign_in(browser, console, "admin")
    yield page
    page.context.close()


def request_ids(page: Page) -> list[str]:
    links = page.locator("table.requests tbody td:last-child a")
    return [str(links.nth(i).get_attribute("href")).rsplit("/", 1)[1] for i in range(links.count())]


def test_metadata_and_status_filters_and_links(admin: Page, made: dict[str, Any]) -> None:
    tag = made["tag"]
    admin.goto("/ui/requests")
    admin.locator("main input[name=meta]").last.fill(f"run={tag}")
    with admin.expect_navigation():
        admin.click("main form.filters button[type=submit]")
    ids = {name: made[name]["certificateRequestId"] for name in ("one", "two", "three")}
    assert request_ids(admin) == [ids["three"], ids["two"], ids["one"]]  # newest first
    admin.locator("main input[name=meta]").last.fill("team=web")
    with admin.expect_navigation():
        admin.click("main form.filters button[type=submit]")
    admin.locator("main input[name=meta]").last.fill("env=prod")
    admin.select_option("select[name=status]", "issued")
    with admin.expect_navigation():
        admin.click("main form.filters button[type=submit]")
    assert request_ids(admin) == [ids["one"]]
    assert "status=issued" in admin.url and "meta=env%3Dprod" in admin.url
    screenshot(admin, "requests-list")
    row = admin.locator("table.requests tbody tr").first
    assert row.locator("td").nth(2).inner_text() == "api_managed"
    assert row.locator("td").nth(3).inner_text() == "default"
    cert_link = row.locator("td").nth(4).locator("a")
    assert cert_link.get_attribute("href") == (
        f"/ui/certificates/{made['one']['certificate']['certificateId']}"
    )
    admin.goto(f"/ui/requests?meta=run%3D{tag}&status=failed")
    assert request_ids(admin) == []


def test_paging_through_requests(admin: Page, made: dict[str, Any], http: httpx.Client) -> None:
    tag = made["tag"]
    for _ in range(25):  # 28 with the module's three: two pages of 25
        issue(http, commonName=f"page-{tag}.example.com", metadata={"run": tag})
    admin.goto(f"/ui/requests?meta=run%3D{tag}")
    assert len(request_ids(admin)) == 25
    first_page = request_ids(admin)
    with admin.expect_navigation():
        admin.click("main nav.pager a[rel=next]")
    second = request_ids(admin)
    assert len(second) == 3 and not set(second) & set(first_page)
    assert made["one"]["certificateRequestId"] == second[-1]
    total = http.get(REQUESTS, params={"metadata[run]": tag}).json()["totalCount"]
    assert total == 28


def test_one_request_read_only(admin: Page, made: dict[str, Any], http: httpx.Client) -> None:
    request_id = made["two"]["certificateRequestId"]
    rest = http.get(f"{REQUESTS}/{request_id}").json()
    admin.goto(f"/ui/requests/{request_id}")
    screenshot(admin, "request-details")
    main = admin.locator("main")
    assert main.locator("[data-field=id]").inner_text() == request_id
    assert main.locator("[data-field=method]").inner_text() == rest["method"] == "api_managed"
    assert main.locator("[data-field=status]").inner_text().lower() == "issued"
    metadata = main.locator("[data-field=metadata]").inner_text()
    assert "team" in metadata and "web" in metadata and "dev" in metadata
    assert rest["attributes"]["commonName"] in main.locator("[data-field=attributes]").inner_text()
    assert main.locator("[data-field=certificate] a").get_attribute("href") == (
        f"/ui/certificates/{rest['certificateId']}"
    )
    assert main.locator("form[method=post]").count() == 0  # nothing to change here


def test_a_granted_reader_reaches_only_its_profiles_requests(
    console: AcmeServer, browser: Browser, http: httpx.Client, made: dict[str, Any]
) -> None:
    other = make_profile(console, {})
    hidden = issue(
        http, profile=other.slug, commonName="hidden.example.com", metadata={"run": made["tag"]}
    )
    reader = sign_in(browser, console, "reader", profiles=("default",))
    reader.goto(f"/ui/requests?meta=run%3D{made['tag']}")
    assert hidden["certificateRequestId"] not in request_ids(reader)
    reader.goto(f"/ui/requests?meta=run%3D{made['tag']}&meta=team%3Dweb")
    assert made["one"]["certificateRequestId"] in request_ids(reader)
    answer = reader.goto(f"/ui/requests/{hidden['certificateRequestId']}")
    assert answer is not None and answer.status == 404
    reader.context.close()


def test_bad_filters_and_forged_ids(admin: Page) -> None:
    answer = admin.goto("/ui/requests?status=lost&meta=novalue")
    assert answer is not None and answer.status == 400
    assert "pending" in admin.locator("main").inner_text()
    assert "key=value" in admin.locator("#err-meta").inner_text()
    for ref in (str(uuid.uuid4()), "../../etc"):
        answer = admin.goto(f"/ui/requests/{ref}")
        assert answer is not None and answer.status == 404
