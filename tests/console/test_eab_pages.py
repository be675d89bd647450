"""EAB credentials in a real browser: one created in the console (its HMAC key shown once,
never again), certbot registering with it at the `eab` profile's directory, the list then
showing it used and bound to that account; revoking (the confirmation checked by the
server); and the limits of a role without eab.manage."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from acme_server.services.context import Services
from store import AccountRecord
from testkit.browser import screenshot
from testkit.in_process_server import AcmeServer
from tests.console.conftest import sign_in
from tests.rest.conftest import bearer_client, with_services

CERTBOT = Path(sys.prefix) / "bin" / "certbot"
PROFILES = "/api/v1/cert-manager/certificate-profiles"


def rest_keys(server: AcmeServer, slug: str = "eab") -> dict[str, dict[str, Any]]:
    with bearer_client(server, role="admin") as http:
        answer = http.get(f"{PROFILES}/{slug}/eab-credentials")
        assert answer.status_code == 200, answer.text
        return {k["kid"]: k for k in answer.json()["eabCredentials"]}


def eab_profile(server: AcmeServer) -> dict[str, Any]:
    with bearer_client(server, role="admin") as http:
        profile: dict[str, Any] = http.get(f"{PROFILES}/eab").json()["profile"]
        return profile


def create_in_console(page: Page, profile_id: str, kind: str) -> tuple[str, str]:
    """Create a credential on the EAB page; (kid, HMAC key) as the answer shows them."""
    page.goto(f"/ui/profiles/{profile_id}/eab")
    page.select_option("select[name=kind]", kind)
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("#eab-create button[type=submit]")
    assert answer.value.status == 201
    assert answer.value.headers["cache-control"] == "no-store"
    return page.input_value("#eab-kid"), page.input_value("#eab-hmac")


def certbot_register(tmp: Path, directory: str, kid: str, hmac: str) -> None:
    argv = [
        str(CERTBOT),
        "register",
        "--server",
        directory,
        f"--eab-kid={kid}",
        f"--eab-hmac-key={hmac}",
        "--agree-tos",
        "--no-eff-email",
        "-m",
        "ops@example.com",
        "--non-interactive",
        "--config-dir",
        str(tmp / "config"),
        "--work-dir",
        str(tmp / "work"),
        "--logs-dir",
        str(tmp / "logs"),
    ]
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, check=False
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"


def row(page: Page, kid: str) -> str:
    return page.locator(f'tr[data-kid="{kid}"]').inner_text()


def status(page: Page, kid: str) -> str:
    """The status badge's text (its text-transform aside)."""
    return (page.locator(f'tr[data-kid="{kid}"] .badge').text_content() or "").strip()


def test_an_eab_credential_made_in_the_console_registers_certbot_and_shows_bound(
    console: AcmeServer, browser: Browser, tmp_path: Path
) -> None:
    if not CERTBOT.exists():
        pytest.skip("certbot is not installed in this venv")
    profile = eab_profile(console)
    page = sign_in(browser, console, "admin")
    page.goto(f"/ui/profiles/{profile['id']}")
    page.get_by_role("link", name="EAB credentials", exact=True).click()
    kid, hmac = create_in_console(page, profile["id"], "single")
    assert kid.startswith("kid-") and len(hmac) >= 43
    assert page.locator("#eab-directory").inner_text() == profile["acmeDirectoryUrl"]
    assert f"--eab-kid={kid} --eab-hmac-key={hmac}" in page.input_value("#eab-certbot")
    assert page.locator("button[data-copy=eab-hmac]").count() == 1
    screenshot(page, "eab_created")
    assert rest_keys(console)[kid]["status"] == "usable"

    page.goto(f"/ui/profiles/{profile['id']}/eab")  # the list: never the key again
    assert hmac not in page.content()
    assert status(page, kid) == "usable" and "single-use" in row(page, kid)

    certbot_register(tmp_path, profile["acmeDirectoryUrl"], kid, hmac)

    async def bound_account(services: Services) -> AccountRecord:
        key = await services.store.get_eab_key(kid)
        assert key.bound_account_id is not None
        return await services.store.get_account(key.bound_account_id)

    account = with_services(console, bound_account)
    assert account.eab_key_id == kid and account.contact == ["mailto:ops@example.com"]
    page.reload()
    assert status(page, kid) == "used"
    assert account.id in row(page, kid)
    link = page.locator(f'tr[data-kid="{kid}"] a[href="/ui/acme/accounts/{account.id}"]')
    assert link.count() == 1
    assert rest_keys(console)[kid]["status"] == "used"
    screenshot(page, "eab")
    page.context.close()


def test_revoking_needs_the_confirmation_and_then_refuses_the_key(
    console: AcmeServer, browser: Browser
) -> None:
    profile = eab_profile(console)
    page = sign_in(browser, console, "admin")
    kid, _hmac = create_in_console(page, profile["id"], "reusable")
    page.goto(f"/ui/profiles/{profile['id']}/eab")
    assert "reusable" in row(page, kid)
    form = page.locator(f'tr[data-kid="{kid}"] form.revoke')
    page.on("dialog", lambda dialog: dialog.accept())  # the data-confirm prompt
    form.evaluate("f => { f.noValidate = true; }")  # past the browser's check: the server's
    with page.expect_response(lambda r: r.request.method == "POST") as refused:
        form.locator("button[type=submit]").click()  # the box not ticked
    assert refused.value.status == 400
    assert "confirmation" in page.locator(f'[id="err-revoke-{kid}"]').inner_text()
    assert rest_keys(console)[kid]["status"] == "usable"

    form = page.locator(f'tr[data-kid="{kid}"] form.revoke')
    form.locator("input[name=confirm]").check()
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"**/eab?revoked={kid}")
    assert status(page, kid) == "revoked"
    assert page.locator(f'tr[data-kid="{kid}"] form.revoke').count() == 0
    assert rest_keys(console)[kid]["status"] == "revoked"
    again = page.request.post(
        f"/ui/profiles/{profile['id']}/eab/{kid}/revoke",
        form={"csrf": page.locator("input[name=csrf]").first.input_value(), "confirm": "on"},
    )
    assert again.status == 409 and "already revoked" in again.text()
    forged = page.request.post(
        f"/ui/profiles/{profile['id']}/eab/kid-forged/revoke",
        form={"csrf": page.locator("input[name=csrf]").first.input_value(), "confirm": "on"},
    )
    assert forged.status == 404
    page.context.close()


def test_a_role_without_eab_manage_sees_no_credentials_and_gets_403(
    console: AcmeServer, browser: Browser
) -> None:
    before = rest_keys(console)
    page = sign_in(browser, console, "issuer", profiles=("eab",))
    profile_id = eab_profile(console)["id"]
    page.goto(f"/ui/profiles/{profile_id}")
    assert page.get_by_role("link", name="EAB credentials").count() == 0
    answer = page.goto(f"/ui/profiles/{profile_id}/eab")
    assert answer is not None and answer.status == 403
    assert "eab.manage" in page.locator("main").inner_text()
    posted = page.request.post(
        f"/ui/profiles/{profile_id}/eab",
        form={"csrf": page.locator("input[name=csrf]").first.input_value(), "kind": "single"},
    )
    assert posted.status == 403
    assert rest_keys(console) == before
    page.context.close()
