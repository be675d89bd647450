"""Sign-in, sign-out, the forced password change, and what every page carries: the
session cookie's attributes, the security headers, a 404 page for unknown paths."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.sync_api import Browser

from testkit.browser import screenshot
from testkit.in_process_server import AcmeServer, acme_server
from tests.console.conftest import PASSWORD, make_user, sign_in_as


def test_sign_in_shows_the_dashboard_and_sign_out_revokes_the_session(
    console: AcmeServer, browser: Browser
) -> None:
    user = make_user(console, "admin")
    context = browser.new_context(base_url=console.base_url)
    page = context.new_page()
    page.goto("/ui/?passwordChanged=1")
    assert "/ui/login" in page.url  # sent to sign in, the wanted page kept
    screenshot(page, "login")
    page.fill("input[name=name]", user.name)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert page.url.endswith("/ui/?passwordChanged=1")
    cookie = next(c for c in context.cookies() if c["name"] == "kms_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/ui"
    assert not cookie["secure"]  # plain HTTP here; Secure is set when served over TLS
    stolen = cookie["value"]
    page.click("text=Sign out")
    page.wait_for_load_state()
    assert "signedOut=1" in page.url
    page.goto("/ui/")
    assert "/ui/login" in page.url
    # the old cookie is dead in the store, not only in this browser
    with httpx.Client(base_url=console.base_url, cookies={"kms_session": stolen}) as http:
        answer = http.get("/ui/", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/ui/login")


def test_a_wrong_password_is_refused_with_one_message(
    console: AcmeServer, browser: Browser
) -> None:
    user = make_user(console, "reader")
    page = browser.new_page(base_url=console.base_url)
    for name, password in ((user.name, "not the password at all"), ("nobody-here", PASSWORD)):
        page.goto("/ui/login")
        page.fill("input[name=name]", name)
        page.fill("input[name=password]", password)
        page.click("main button[type=submit]")
        assert page.locator("p.error").inner_text() == "wrong name or password"
        assert "/ui/login" in page.url
    page.close()


def test_a_user_locked_after_five_refusals_cannot_sign_in_even_with_the_password(
    console: AcmeServer,
) -> None:
    user = make_user(console, "reader")
    with httpx.Client(base_url=console.base_url) as http:
        for _ in range(5):
            refused = http.post("/ui/login", data={"name": user.name, "password": "x" * 12})
            assert refused.status_code == 401
        locked = http.post("/ui/login", data={"name": user.name, "password": PASSWORD})
    assert locked.status_code == 401 and "wrong name or password" in locked.text


def test_a_password_set_by_an_admin_must_be_changed_first(
    console: AcmeServer, browser: Browser
) -> None:
    user = make_user(console, "issuer", must_change=True)
    page = sign_in_as(browser, console, user.name)
    assert page.url.endswith("/ui/password")
    page.goto("/ui/")
    assert page.url.endswith("/ui/password")  # nothing else until it is changed
    page.locator('form[action="/ui/password"]').evaluate(
        "f => f.noValidate = true"
    )  # the server checks too
    page.fill("input[name=current]", PASSWORD)
    page.fill("input[name=new]", "short")
    page.fill("input[name=again]", "short")
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert "12-1024 characters" in page.locator("p.error").inner_text()
    page.fill("input[name=current]", PASSWORD)
    page.fill("input[name=new]", "a new long passphrase")
    page.fill("input[name=again]", "a new long passphrase")
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert "passwordChanged=1" in page.url
    page.context.close()
    again = sign_in_as(browser, console, user.name, "a new long passphrase")
    assert "/ui/password" not in again.url


def test_every_page_carries_the_security_headers_and_unknown_pages_are_404(
    console: AcmeServer,
) -> None:
    with httpx.Client(base_url=console.base_url) as http:
        for path in ("/ui/login", "/ui/no/such/page"):
            answer = http.get(path)
            csp = answer.headers["content-security-policy"]
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp
            assert "frame-ancestors 'none'" in csp
            assert answer.headers["x-frame-options"] == "DENY"
            assert answer.headers["cache-control"] == "no-store"
            assert answer.headers["referrer-policy"] == "same-origin"
        assert http.get("/ui/no/such/page").status_code == 404
        assert "There is no such page" in http.get("/ui/no/such/page").text


def test_sign_in_never_redirects_off_the_console(console: AcmeServer) -> None:
    user = make_user(console, "reader")
    with httpx.Client(base_url=console.base_url) as http:
        for target in ("https://evil.example/", "//evil.example/ui", "/ui\\@evil"):
            answer = http.post(
                "/ui/login", data={"name": user.name, "password": PASSWORD, "next": target}
            )
            assert answer.status_code == 303 and answer.headers["location"] == "/ui/"


def test_sign_in_on_postgresql(console_pg: AcmeServer, browser: Browser) -> None:
    user = make_user(console_pg, "reader", profiles=("default",))
    page = sign_in_as(browser, console_pg, user.name)
    assert page.locator("h1").inner_text() == "Dashboard"
    assert user.name in page.locator("header .who").inner_text()
    page.context.close()


def test_the_session_cookie_is_secure_when_the_console_is_published_over_https(
    tmp_path: Path,
) -> None:
    with acme_server(tmp_path / "data", external_scheme="https") as server:
        user = make_user(server, "admin")
        served = f"http://127.0.0.1:{server.settings.port}"  # plain HTTP behind the "proxy"
        with httpx.Client(base_url=served) as http:
            answer = http.post("/ui/login", data={"name": user.name, "password": PASSWORD})
        cookie = answer.headers["set-cookie"].lower()
        assert answer.status_code == 303
        assert "secure" in cookie and "httponly" in cookie and "samesite=strict" in cookie


def test_an_auditor_lands_on_the_audit_log(console: AcmeServer, browser: Browser) -> None:
    user = make_user(console, "auditor")
    page = sign_in_as(browser, console, user.name)
    assert page.url.endswith("/ui/audit")
    assert [a.inner_text() for a in page.locator("header nav a").all()] == ["Audit log"]
    page.context.close()
