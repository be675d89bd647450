"""What protects a signed-in user: the CSRF token every form carries, sessions that end when
idle, values shown as text, refused sign-ins audited without the password."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from playwright.sync_api import Browser, Dialog

from acme_server.services import audit
from acme_server.services.context import Services
from acme_server.services.users import sessions
from store import AuditRecord
from testkit.in_process_server import AcmeServer
from tests.console.conftest import PASSWORD, make_user, sign_in_as
from tests.rest.conftest import with_services


def _signed_in_client(server: AcmeServer, name: str) -> tuple[httpx.Client, str]:
    """An httpx client with a session cookie, and the session's CSRF token."""
    http = httpx.Client(base_url=server.base_url)
    answer = http.post("/ui/login", data={"name": name, "password": PASSWORD})
    assert answer.status_code == 303, answer.text
    token = http.cookies["kms_session"]

    async def csrf(services: Services) -> str:
        found = await sessions.session_of(services, token)
        assert found is not None
        return found[0].csrf_token

    return http, with_services(server, csrf)


def test_a_form_without_its_csrf_token_changes_nothing(console: AcmeServer) -> None:
    user = make_user(console, "admin")
    http, csrf = _signed_in_client(console, user.name)
    change = {"current": PASSWORD, "new": "an attacker's choice!", "again": "an attacker's choice!"}
    for forged in ({}, {"csrf": "not-the-token"}, {"csrf": csrf[:-1]}):
        refused = http.post("/ui/password", data={**change, **forged})
        assert refused.status_code == 403
        assert "security token" in refused.text and "nothing was changed" in refused.text
        signed_out = http.post("/ui/logout", data=forged)
        assert signed_out.status_code == 403
    assert http.get("/ui/", follow_redirects=False).status_code == 200  # still signed in
    http.close()
    with httpx.Client(base_url=console.base_url) as fresh:
        still = fresh.post("/ui/login", data={"name": user.name, "password": PASSWORD})
        assert still.status_code == 303  # the password did not change


def test_another_sessions_token_is_refused(console: AcmeServer) -> None:
    """A CSRF token is bound to its session: one user's token does nothing in another's."""
    mallory, alice = make_user(console, "admin"), make_user(console, "admin")
    attacker, their_token = _signed_in_client(console, mallory.name)
    victim, _ = _signed_in_client(console, alice.name)
    refused = victim.post("/ui/logout", data={"csrf": their_token})
    assert refused.status_code == 403
    assert victim.get("/ui/", follow_redirects=False).status_code == 200
    attacker.close()
    victim.close()


def test_an_idle_session_ends_and_sign_in_returns_to_the_page(
    console: AcmeServer, browser: Browser
) -> None:
    user = make_user(console, "admin")
    page = sign_in_as(browser, console, user.name)
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "kms_session")
    idle = console.settings.console_idle_period + timedelta(seconds=1)

    async def backdate(services: Services) -> None:
        found = await sessions.session_of(services, token)
        assert found is not None
        await services.store.touch_session(found[0].id, datetime.now(UTC) - idle)

    with_services(console, backdate)
    page.goto("/ui/?from=idle")
    assert "/ui/login" in page.url and "next=%2Fui%2F%3Ffrom%3Didle" in page.url
    page.fill("input[name=name]", user.name)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert page.url.endswith("/ui/?from=idle")
    page.context.close()


def test_a_user_name_with_markup_is_shown_as_text(console: AcmeServer, browser: Browser) -> None:
    hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    user = make_user(console, "admin", name=hostile)
    page = sign_in_as(browser, console, user.name)
    dialogs: list[Dialog] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog))
    page.reload()
    assert hostile in page.locator("header .who").inner_text()
    assert page.locator("header .who script").count() == 0
    assert page.locator("header .who img").count() == 0
    assert dialogs == []
    page.context.close()


def test_refused_sign_ins_are_audited_without_the_password(console: AcmeServer) -> None:
    user = make_user(console, "reader", profiles=("default",))
    secret_try = "my-secret-guess-" + user.id[:8]
    with httpx.Client(base_url=console.base_url) as http:
        assert (
            http.post("/ui/login", data={"name": user.name, "password": secret_try}).status_code
            == 401
        )
        assert (
            http.post("/ui/login", data={"name": user.name, "password": PASSWORD}).status_code
            == 303
        )

    async def entries(services: Services) -> list[AuditRecord]:
        return await audit.list_entries(services, limit=50, offset=0, target_id=user.id)

    found = with_services(console, entries)
    actions = [e.action for e in found]
    assert "user.login.refused" in actions and "user.login" in actions
    refused = next(e for e in found if e.action == "user.login.refused")
    assert refused.actor.startswith("address:") and refused.details["name"] == user.name
    assert all(secret_try not in str(e.details) and PASSWORD not in str(e.details) for e in found)
