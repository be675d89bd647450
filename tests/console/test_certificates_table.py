"""The inventory table in a real browser: filters (metadata pairs, status, SAN and name
search, method, expiry, profile), the URL holding the whole filter, paging and sorting by
column header, a granted reader's reach, and bad filter input answered with a 400 page.
One table test runs on PostgreSQL too."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page

from testkit.browser import screenshot
from testkit.in_process_server import AcmeServer
from tests.console.conftest import sign_in
from tests.rest.conftest import bearer_client
from tests.rest.test_certificates_support import CERTS, issue, make_profile


@dataclass
class Made:
    """The certificates a test module issued, tagged with `run=<tag>` metadata."""

    tag: str
    ids: dict[str, str]  # short name -> certificate id
    names: dict[str, str]  # short name -> common name


def _make(server: AcmeServer) -> Made:
    tag = uuid.uuid4().hex[:8]
    specs = (
        ("alpha", "20d", {"team": "web", "env": "prod"}),
        ("bravo", "5d", {"team": "web", "env": "dev"}),
        ("charlie", "60d", {"team": "ops", "env": "prod"}),
        ("delta", "40d", {"team": "web", "env": "prod"}),
        ("echo", "10d", {"team": "db"}),
    )
    ids: dict[str, str] = {}
    names: dict[str, str] = {}
    with bearer_client(server, role="admin") as http:
        for short, ttl, meta in specs:
            name = f"{short}-{tag}.example.com"
            body = issue(
                http,
                commonName=name,
                ttl=ttl,
                altNames=[
                    {"type": "dns_name", "value": name},
                    {"type": "dns_name", "value": f"san-{short}-{tag}.internal.test"},
                ],
                metadata={"run": tag, **meta},
            )
            ids[short] = body["certificate"]["certificateId"]
            names[short] = name
        revoked = http.post(
            f"{CERTS}/{ids['echo']}/revoke", json={"revocationReason": "SUPERSEDED"}
        )
        assert revoked.status_code == 200, revoked.text
    return Made(tag, ids, names)


@pytest.fixture(scope="module")
def made(console: AcmeServer) -> Made:
    return _make(console)


@pytest.fixture(scope="module")
def admin(console: AcmeServer, browser: Browser) -> Iterator[Page]:
    page = sign_in(browser, console, "admin")
    yield page
    page.context.close()


def names_shown(page: Page) -> list[str]:
    links = page.locator("table.inventory tbody td:first-child > a")
    return [links.nth(i).inner_text() for i in range(links.count())]


def short(made: Made, page: Page) -> list[str]:
    by_name = {v: k for k, v in made.names.items()}
    return [by_name.get(name, name) for name in names_shown(page)]


def submit_filter(page: Page) -> None:
    with page.expect_navigation():
        page.locator("main form.filters button[type=submit]").click()


def test_several_metadata_pairs_filter_and_the_url_restores_the_filter(
    console: AcmeServer, browser: Browser, admin: Page, made: Made
) -> None:
    admin.goto("/ui/certificates")
    admin.locator("input[name=meta]").last.fill(f"run={made.tag}")
    submit_filter(admin)
    assert sorted(short(made, admin)) == ["alpha", "bravo", "charlie", "delta", "echo"]
    admin.locator("input[name=meta]").last.fill("team=web")
    submit_filter(admin)
    assert short(made, admin) == ["delta", "bravo", "alpha"]  # newest first
    admin.locator("input[name=meta]").last.fill("env=prod")
    submit_filter(admin)
    assert short(made, admin) == ["delta", "alpha"]
    query = parse_qs(urlsplit(admin.url).query)
    assert sorted(query["meta"]) == sorted([f"run={made.tag}", "team=web", "env=prod"])
    screenshot(admin, "certificates-table")

    bookmarked = admin.url
    other = sign_in(browser, console, "admin")  # a new browser context opens the bookmark
    other.goto(bookmarked)
    assert short(made, other) == ["delta", "alpha"]
    kept = [other.locator("input[name=meta]").nth(i).input_value() for i in range(3)]
    assert sorted(kept) == sorted([f"run={made.tag}", "team=web", "env=prod"])
    other.context.close()


def test_status_search_method_and_expiry_filters(admin: Page, made: Made) -> None:
    run = f"meta=run%3D{made.tag}"
    admin.goto(f"/ui/certificates?{run}")
    admin.select_option("select[name=status]", "revoked")
    submit_filter(admin)
    assert short(made, admin) == ["echo"]
    assert admin.locator("table.inventory tbody .badge").inner_text().lower() == "revoked"
    assert admin.locator("select[name=status]").input_value() == "revoked"

    admin.goto(f"/ui/certificates?{run}&status=active")
    assert sorted(short(made, admin)) == ["alpha", "bravo", "charlie", "delta"]

    admin.goto("/ui/certificates")
    admin.fill("input[name=q]", f"SAN-CHARLIE-{made.tag}.internal")  # only in a SAN
    submit_filter(admin)
    assert short(made, admin) == ["charlie"]
    admin.goto(f"/ui/certificates?q=bravo-{made.tag}")  # the common name
    assert short(made, admin) == ["bravo"]

    admin.goto(f"/ui/certificates?{run}&method=api_managed")
    assert len(short(made, admin)) == 5
    admin.goto(f"/ui/certificates?{run}&method=acme")
    assert short(made, admin) == []
    assert "No certificate matches" in admin.locator("main").inner_text()

    admin.goto(f"/ui/certificates?{run}&within=15&status=active")
    assert short(made, admin) == ["bravo"]  # 5d; echo (10d) is revoked


def test_paging_walks_the_pages_and_keeps_the_filter(admin: Page, made: Made) -> None:
    admin.goto(f"/ui/certificates?meta=run%3D{made.tag}&sort=commonName&order=asc&limit=2")
    assert short(made, admin) == ["alpha", "bravo"]
    assert "1\u20132 of 5" in admin.locator("main nav.pager").inner_text()
    with admin.expect_navigation():
        admin.click("main nav.pager a[rel=next]")
    assert short(made, admin) == ["charlie", "delta"]
    with admin.expect_navigation():
        admin.click("main nav.pager a[rel=next]")
    assert short(made, admin) == ["echo"]
    assert admin.locator("main nav.pager a[rel=next]").count() == 0
    with admin.expect_navigation():
        admin.click("main nav.pager a[rel=prev]")
    assert short(made, admin) == ["charlie", "delta"]
    assert f"run%3D{made.tag}" in admin.url and "limit=2" in admin.url


def test_column_headers_sort_both_ways(admin: Page, made: Made) -> None:
    admin.goto(f"/ui/certificates?meta=run%3D{made.tag}")
    with admin.expect_navigation():
        admin.click("main th a:has-text('Common name')")
    assert short(made, admin) == ["alpha", "bravo", "charlie", "delta", "echo"]
    with admin.expect_navigation():
        admin.click("main th a:has-text('Common name')")
    assert short(made, admin) == ["echo", "delta", "charlie", "bravo", "alpha"]
    with admin.expect_navigation():
        admin.click("main th a:has-text('Not after')")
    assert short(made, admin) == ["charlie", "delta", "alpha", "echo", "bravo"]
    with admin.expect_navigation():
        admin.click("main th a:has-text('Not after')")
    assert short(made, admin) == ["bravo", "echo", "alpha", "delta", "charlie"]
    assert "sort=notAfter" in admin.url and "order=asc" in admin.url


def test_the_table_shows_serial_not_after_profile_and_ca(
    console: AcmeServer, admin: Page, made: Made
) -> None:
    with bearer_client(console, role="admin") as http:
        rest = http.get(f"{CERTS}/{made.ids['alpha']}").json()
    admin.goto(f"/ui/certificates?q=alpha-{made.tag}")
    cells = admin.locator("table.inventory tbody tr").first.locator("td")
    assert cells.nth(0).locator("a").get_attribute("href") == f"/ui/certificates/{rest['id']}"
    assert cells.nth(1).inner_text().lower() == "active"
    assert cells.nth(2).inner_text() == rest["serialNumber"]  # openssl's form, as REST
    assert cells.nth(3).locator("time").get_attribute("datetime") == rest["notAfter"]
    assert cells.nth(4).inner_text() == rest["profile"]["slug"] == "default"
    ca_link = cells.nth(5).locator("a")
    assert ca_link.inner_text() == rest["issuingCa"]["name"]
    assert ca_link.get_attribute("href") == f"/ui/cas/{rest['issuingCa']['id']}"


def test_a_granted_reader_sees_only_its_profiles(
    console: AcmeServer, browser: Browser, made: Made
) -> None:
    other = make_profile(console, {})
    with bearer_client(console, role="admin") as http:
        issue(http, profile=other.slug, commonName=f"hidden-{made.tag}.example.com",
              metadata={"run": made.tag})  # fmt: skip
    page = sign_in(browser, console, "reader", profiles=("default",))
    page.goto(f"/ui/certificates?meta=run%3D{made.tag}")
    assert len(short(made, page)) == 5 and f"hidden-{made.tag}.example.com" not in names_shown(page)
    page.goto(f"/ui/certificates?profile={other.id}")
    assert names_shown(page) == []
    options = page.locator("select[name=profile] option").all_inner_texts()
    assert other.slug not in options
    assert page.locator("main a:has-text('Issue a certificate')").count() == 0  # a reader
    page.context.close()


def test_bad_filter_input_is_a_400_page_with_the_field_marked(
    console: AcmeServer, browser: Browser, admin: Page
) -> None:
    answer = admin.goto("/ui/certificates?within=soon&meta=nokey")
    assert answer is not None and answer.status == 400
    assert "whole number of days" in admin.locator("#err-within").inner_text()
    assert "key=value" in admin.locator("#err-meta").inner_text()
    assert admin.locator("input[name=within]").input_value() == "soon"
    answer = admin.goto("/ui/certificates?status=lost")
    assert answer is not None and answer.status == 400


def test_the_table_on_postgresql(console_pg: AcmeServer, browser: Browser) -> None:
    made = _make(console_pg)
    page = sign_in(browser, console_pg, "admin")
    page.goto(f"/ui/certificates?meta=run%3D{made.tag}&meta=team%3Dweb&meta=env%3Dprod")
    assert short(made, page) == ["delta", "alpha"]
    page.goto(f"/ui/certificates?q=SAN-CHARLIE-{made.tag}")
    assert short(made, page) == ["charlie"]
    page.goto(f"/ui/certificates?meta=run%3D{made.tag}&status=revoked")
    assert short(made, page) == ["echo"]
    page.goto(f"/ui/certificates?meta=run%3D{made.tag}&sort=commonName&order=asc&limit=2&offset=2")
    assert short(made, page) == ["charlie", "delta"]
    page.context.close()
