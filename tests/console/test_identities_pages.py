"""Machine identities in the console: create one (its secret shown once, and it logs in
over REST), its client certificates' credential states, role and grants changed, disabled
(its logins and tokens refused); bad input, a forged id and a role without
identity.manage refused with nothing changed."""

from __future__ import annotations

import uuid

import httpx
from playwright.sync_api import Browser, Page, Response

from acme_server.services.context import Services
from store import AuditRecord, IdentityRecord
from testkit.browser import screenshot
from testkit.in_process_server import AcmeServer
from tests.console.conftest import sign_in
from tests.rest.cert_auth_support import csr_pem, new_key
from tests.rest.conftest import LOGIN_PATH, with_services


def _identities(server: AcmeServer) -> list[IdentityRecord]:
    return with_services(server, lambda s: s.store.list_identities())


def _login(server: AcmeServer, client_id: str, secret: str) -> httpx.Response:
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        return http.post(LOGIN_PATH, json={"clientId": client_id, "clientSecret": secret})


def _create(page: Page, name: str, role: str, profiles: tuple[str, ...] = ()) -> Response:
    """Fill and send the create form; the POST's response."""
    page.goto("/ui/identities")
    page.locator("#create-identity").evaluate("f => f.noValidate = true")  # the server checks
    page.fill("#create-identity input[name=name]", name)
    page.select_option("#create-identity select[name=role]", role)
    for slug in profiles:
        page.check(f"#create-identity input[name=profiles][value={slug}]")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("#create-identity button[type=submit]")
    page.wait_for_load_state()
    return answer.value


def test_create_shows_the_secret_once_and_it_logs_in(console: AcmeServer, browser: Browser) -> None:
    page = sign_in(browser, console, "admin")
    name = f"deployer-{uuid.uuid4().hex[:6]}"
    shown = _create(page, name, "issuer", ("default",))
    assert shown.status == 201 and shown.headers["cache-control"] == "no-store"
    assert page.locator("h1").inner_text() == f"Identity {name} created"
    client_id = page.locator("#client-id").input_value()
    secret = page.locator("#client-secret").input_value()
    assert page.locator("button[data-copy=client-secret]").is_visible()
    screenshot(page, "identity-created")
    (record,) = [i for i in _identities(console) if i.name == name]
    assert record.client_id == client_id and record.role == "issuer"
    # the secret is never shown again: the list (the address reloaded) nor the details
    page.goto(page.url)
    assert page.url.endswith("/ui/identities")
    assert secret not in page.content()
    row = page.locator(f"#identities tr[data-identity='{record.id}']")
    assert "default" in row.inner_text() and "issuer" in row.inner_text()
    screenshot(page, "identities")
    row.locator("a").click()
    page.wait_for_load_state()
    assert secret not in page.content()
    # the secret logs in over REST, and the creation is audited with the user as actor
    token = _login(console, client_id, secret).json()["accessToken"]

    async def created(services: Services) -> list[AuditRecord]:
        return await services.store.list_audit(
            limit=5, offset=0, action="identity.create", target_id=record.id
        )

    (entry,) = with_services(console, created)
    assert entry.actor.startswith("user:") and secret not in str(entry.details)
    # its client certificates and their credential state
    with httpx.Client(
        base_url=console.base_url, timeout=30, headers={"Authorization": f"Bearer {token}"}
    ) as http:
        for ttl in ("365d", "100d", "10d"):  # ok, warning (180d), expiring (30d)
            answer = http.post(
                f"/api/v1/identities/{record.id}/certificates",
                json={"csr": csr_pem(new_key(), f"{ttl}.machine.test"), "profileId": "default",
                      "ttl": ttl},
            )  # fmt: skip
            assert answer.status_code == 201, answer.text
    page.goto(f"/ui/identities/{record.id}")
    states = page.locator("#credentials .credential-state").all_text_contents()
    assert sorted(s.strip() for s in states) == ["expiring", "ok", "warning"]
    screenshot(page, "identity")
    page.context.close()


def test_role_grants_and_disable_take_effect(console: AcmeServer, browser: Browser) -> None:
    page = sign_in(browser, console, "admin")
    name = f"worker-{uuid.uuid4().hex[:6]}"
    _create(page, name, "reader", ("default",))
    client_id = page.locator("#client-id").input_value()
    secret = page.locator("#client-secret").input_value()
    (record,) = [i for i in _identities(console) if i.name == name]
    page.goto(f"/ui/identities/{record.id}")
    # grants: strict only
    page.uncheck("#grants-form input[name=profiles][value=default]")
    page.check("#grants-form input[name=profiles][value=strict]")
    page.click("#grants-form button[type=submit]")
    page.wait_for_load_state()
    assert "grants are changed" in page.locator("p.notice").inner_text()
    strict = with_services(console, lambda s: s.store.get_profile_by_slug("strict"))
    assert with_services(console, lambda s: s.store.get_identity(record.id)).profile_grants == (
        strict.id,
    )
    # role: issuer
    page.select_option("#role-form select[name=role]", "issuer")
    page.click("#role-form button[type=submit]")
    page.wait_for_load_state()
    assert with_services(console, lambda s: s.store.get_identity(record.id)).role == "issuer"
    token = _login(console, client_id, secret).json()["accessToken"]
    # disable without the confirmation: refused, nothing changed
    page.locator("#disable-form").evaluate("f => f.noValidate = true")  # the server checks
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#disable-form button[type=submit]")
    page.wait_for_load_state()
    assert "tick the box" in page.locator("p.error").inner_text()
    assert not with_services(console, lambda s: s.store.get_identity(record.id)).disabled
    # confirmed (the browser's confirm dialog accepted): disabled, logins and tokens refused
    page.goto(f"/ui/identities/{record.id}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.check("#disable-form input[name=confirm]")
    page.click("#disable-form button[type=submit]")
    page.wait_for_load_state()
    assert "is disabled" in page.locator("p.notice").inner_text()
    assert with_services(console, lambda s: s.store.get_identity(record.id)).disabled
    assert _login(console, client_id, secret).status_code == 401
    with httpx.Client(base_url=console.base_url, timeout=30) as http:
        refused = http.get(
            f"/api/v1/identities/{record.id}", headers={"Authorization": f"Bearer {token}"}
        )
    assert refused.status_code == 401
    row = page.locator(f"#identities tr[data-identity='{record.id}']")
    page.goto("/ui/identities")
    assert "disabled" in (row.text_content() or "")
    page.context.close()


def test_bad_input_forged_ids_and_other_roles_are_refused(
    console: AcmeServer, browser: Browser
) -> None:
    page = sign_in(browser, console, "admin")
    before = len(_identities(console))
    assert _create(page, "no-profiles", "issuer").status == 400
    assert page.locator("p.error").inner_text() == "choose some profiles or all profiles (not both)"
    assert page.locator("#create-identity input[name=name]").input_value() == "no-profiles"
    _create(page, "", "admin")
    assert page.locator("#err-name").inner_text() == "a name is required"
    _create(page, "auditor-with-profiles", "auditor", ("default",))
    assert "takes no profiles" in page.locator("p.error").inner_text()
    assert len(_identities(console)) == before
    response = page.goto(f"/ui/identities/{uuid.uuid4()}")
    assert response is not None and response.status == 404
    page.context.close()
    for role in ("issuer", "reader", "auditor"):
        other = sign_in(
            browser, console, role, profiles=("default",) if role != "auditor" else None
        )
        response = other.goto("/ui/identities")
        assert response is not None and response.status == 403
        assert "identity.manage" in other.locator("main").inner_text()
        other.context.close()
    with httpx.Client(base_url=console.base_url) as http:  # no session: sent to sign in
        answer = http.post("/ui/identities", data={"name": "x", "role": "admin"})
    assert answer.status_code == 303 and "/ui/login" in answer.headers["location"]
    assert len(_identities(console)) == before
