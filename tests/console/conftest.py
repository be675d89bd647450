"""Console test fixtures: the real app on loopback (SQLite; `console_pg` on PostgreSQL),
a real Chromium, and users of each role.

    def test_something(console: AcmeServer, browser: Browser) -> None:
        page = sign_in(browser, console, role="reader", profiles=("eab",))
        page.goto(console.base_url + "/ui/certificates")

`make_user(server, role)` creates a console user through the service layer and returns
(name, password); `sign_in` does the same and signs in through the login form, returning a
Page in a fresh browser context (its own cookies).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from acme_server.services.context import Services
from acme_server.services.identities import grants
from acme_server.services.users import accounts
from store import UserRecord
from testkit.browser import chromium
from testkit.in_process_server import AcmeServer, acme_server
from testkit.postgres import fresh_postgres_database
from tests.rest.conftest import with_services

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AcmeServer]:
    """The running server on SQLite (default, `eab` and `strict` profiles)."""
    with acme_server(tmp_path_factory.mktemp("console") / "data") as running:
        yield running


@pytest.fixture(scope="module")
def console_pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AcmeServer]:
    """The running server on a fresh PostgreSQL database."""
    data_dir: Path = tmp_path_factory.mktemp("console-pg") / "data"
    with fresh_postgres_database() as url, acme_server(data_dir, url) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as running:
        yield running


def make_user(
    server: AcmeServer,
    role: str = "admin",
    *,
    profiles: tuple[str, ...] | None = None,
    name: str | None = None,
    must_change: bool = False,
    password: str = PASSWORD,
) -> UserRecord:
    """A console user made as `kms user create` makes one (profiles: slugs granted)."""
    label = name or f"{role}-{uuid.uuid4().hex[:8]}"

    async def create(services: Services) -> UserRecord:
        ids = None if profiles is None else await grants.profile_ids(services, list(profiles))
        return await accounts.create_user(
            services,
            label,
            password,
            role=role,
            profile_grants=None if ids is None else tuple(ids),
            must_change_password=must_change,
        )

    return with_services(server, create)


def sign_in_as(browser: Browser, server: AcmeServer, name: str, password: str = PASSWORD) -> Page:
    """A new browser context signed in through the login form; asserts it worked."""
    context = browser.new_context(base_url=server.base_url)
    page = context.new_page()
    page.goto("/ui/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/ui/login" not in page.url, page.content()
    return page


def sign_in(
    browser: Browser,
    server: AcmeServer,
    role: str = "admin",
    *,
    profiles: tuple[str, ...] | None = None,
) -> Page:
    user = make_user(server, role, profiles=profiles)
    return sign_in_as(browser, server, user.name)
