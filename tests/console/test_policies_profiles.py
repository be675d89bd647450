"""The policy and profile pages in a real browser: a policy with a bad pattern refused in
place (nothing stored, REST's list unchanged), a policy created with many rules and edited,
a profile created, refused in place and edited (checked through REST), the profile page's
directory URL and client snippets, and a reader's limits."""

from __future__ import annotations

from typing import Any

import yaml
from playwright.sync_api import Browser, Page

from testkit.browser import screenshot
from testkit.in_process_server import AcmeServer
from tests.console.conftest import sign_in
from tests.rest.conftest import bearer_client

POLICIES = "/api/v1/cert-manager/certificate-policies"
PROFILES = "/api/v1/cert-manager/certificate-profiles"
CAS = "/api/v1/cert-manager/ca/internal"


def rest(server: AcmeServer, path: str) -> Any:
    with bearer_client(server, role="admin") as http:
        answer = http.get(path)
        assert answer.status_code == 200, answer.text
        return answer.json()


def submit(page: Page) -> int:
    """Click the form's submit button; the status of the answer to the POST."""
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("main form button[type=submit]")
    page.wait_for_load_state()
    return answer.value.status


def test_a_policy_is_refused_in_place_then_created_and_edited(
    console: AcmeServer, browser: Browser
) -> None:
    before = rest(console, POLICIES)["policies"]
    page = sign_in(browser, console, "admin")
    page.goto("/ui/policies")
    screenshot(page, "policies")
    page.get_by_role("link", name="Create a policy").click()
    page.fill("input[name=name]", "console-web")
    page.fill("textarea[name=description]", "web servers under console.test")
    page.fill('textarea[name="sans.dns_name.allowed"]', "*.console.test\nbad..console.test")
    page.fill("input[name=maxTtl]", "30d")
    assert submit(page) == 400
    error = page.locator('[id="err-sans.dns_name.allowed"]').inner_text()
    assert error == "rules.sans.dns_name.allowed[1]: 'bad..console.test' has an empty label"
    assert page.input_value('textarea[name="sans.dns_name.allowed"]') == (
        "*.console.test\nbad..console.test"
    )
    assert page.input_value("input[name=maxTtl]") == "30d"
    screenshot(page, "policy_form_refused")
    assert rest(console, POLICIES)["policies"] == before  # nothing stored

    page.fill('textarea[name="sans.dns_name.allowed"]', "*.console.test\nconsole.test")
    page.fill('textarea[name="sans.dns_name.denied"]', "secret.console.test")
    page.fill('textarea[name="commonName.allowed"]', "*.console.test")
    page.uncheck("input[name=allowedSanTypes][value=uri]")
    page.check("input[name=requiredSanTypes][value=dns_name]")
    page.uncheck("input[name=allowWildcards]")
    page.fill("input[name=maxSans]", "10")
    page.check('input[name="subject.organization.required"]')
    page.fill('textarea[name="subject.organization.patterns"]', "Console*")
    page.uncheck('input[name="subject.email.allowed"]')
    page.check("input[name=keyAlgorithms][value=EC_P256]")
    page.check("input[name=keyAlgorithms][value=EC_P384]")
    page.check("input[name=signatureAlgorithms][value=ECDSA-SHA256]")
    page.check('input[name="keyUsages.allowed"][value=digital_signature]')
    page.check('input[name="keyUsages.required"][value=digital_signature]')
    page.check('input[name="extendedKeyUsages.allowed"][value=server_auth]')
    assert submit(page) == 303
    assert "/ui/policies/" in page.url and "saved=1" in page.url
    made = next(p for p in rest(console, POLICIES)["policies"] if p["name"] == "console-web")
    rules = made["rules"]
    assert made["description"] == "web servers under console.test"
    assert rules["sans"] == {
        "dns_name": {
            "allowed": ["*.console.test", "console.test"],
            "denied": ["secret.console.test"],
        }
    }
    assert rules["commonName"] == {"allowed": ["*.console.test"], "denied": [], "required": False}
    assert rules["allowedSanTypes"] == ["dns_name", "ip_address", "email"]
    assert rules["requiredSanTypes"] == ["dns_name"]
    assert rules["allowWildcards"] is False and rules["maxSans"] == 10
    assert rules["subject"] == {
        "organization": {"required": True, "patterns": ["Console*"], "allowed": True},
        "email": {"required": False, "patterns": [], "allowed": False},
    }
    assert rules["keyAlgorithms"] == ["EC_P256", "EC_P384"]
    assert rules["signatureAlgorithms"] == ["ECDSA-SHA256"]
    assert rules["keyUsages"] == {
        "allowed": ["digital_signature"],
        "required": ["digital_signature"],
    }
    assert rules["extendedKeyUsages"] == {"allowed": ["server_auth"], "required": []}
    assert rules["maxTtl"] == "30d"
    assert page.locator('[data-field="maxTtl"]').inner_text() == "30d"
    screenshot(page, "policy")

    page.get_by_role("link", name="Edit").click()
    assert page.input_value('textarea[name="sans.dns_name.denied"]') == "secret.console.test"
    assert page.is_checked('input[name="subject.organization.required"]')
    page.fill("input[name=maxTtl]", "14d")
    page.fill("input[name=maxSans]", "many")
    assert submit(page) == 400  # the policy's own message, in place
    assert "maxSans" in page.locator('[id="err-maxSans"]').inner_text()
    page.fill("input[name=maxSans]", "")
    assert submit(page) == 303
    after = rest(console, f"{POLICIES}/{made['id']}")["policy"]["rules"]
    assert after["maxTtl"] == "14d" and after["maxSans"] is None
    assert after["sans"] == rules["sans"] and after["subject"] == rules["subject"]
    page.context.close()


def test_a_profile_is_created_refused_in_place_and_edited(
    console: AcmeServer, browser: Browser
) -> None:
    strict = rest(console, f"{POLICIES}/strict")["policy"]
    ca = next(c for c in rest(console, CAS)["cas"] if c["type"] == "intermediate")
    page = sign_in(browser, console, "admin")
    page.goto("/ui/profiles")
    screenshot(page, "profiles")
    page.get_by_role("link", name="Create a profile").click()
    page.fill("input[name=slug]", "console-web")
    page.fill("input[name=name]", "Console web servers")
    page.select_option("select[name=policyId]", strict["id"])
    page.select_option("select[name=caId]", ca["id"])
    page.check('input[name="enrollment.acme.eabRequired"]')
    page.uncheck('input[name="enrollment.acme.challengeTypes"][value=tls-alpn-01]')
    page.uncheck('input[name="enrollment.api.allowKeyExport"]')
    page.fill('input[name="defaults.ttl"]', "60d")  # the strict policy's maxTtl is 30d
    assert submit(page) == 400
    assert page.locator('[id="err-defaults.ttl"]').inner_text() == (
        "defaults.ttl: 60d is longer than the policy's maxTtl 30d"
    )
    assert page.input_value("input[name=slug]") == "console-web"
    screenshot(page, "profile_form_refused")
    assert not page.is_checked('input[name="enrollment.api.allowKeyExport"]')  # kept
    slugs = [p["slug"] for p in rest(console, PROFILES)["profiles"]]
    assert "console-web" not in slugs

    page.fill('input[name="defaults.ttl"]', "20d")
    page.check("input[name=autoRenew]")
    page.fill("input[name=renewBeforeDays]", "5")
    assert submit(page) == 303
    made = rest(console, f"{PROFILES}/console-web")["profile"]
    assert page.url.endswith(f"/ui/profiles/{made['id']}?saved=1")
    assert made["name"] == "Console web servers" and made["policyId"] == strict["id"]
    assert made["issuerType"] == "ca" and made["caId"] == ca["id"]
    assert made["enrollment"] == {
        "acme": {
            "enabled": True,
            "eabRequired": True,
            "allowIpIdentifiers": True,
            "challengeTypes": ["http-01", "dns-01"],
            "caaCheck": True,
        },
        "api": {"enabled": True, "allowKeyExport": False},
    }
    assert made["defaults"]["ttl"] == "20d" and made["defaults"]["keyAlgorithm"] == "EC_P256"
    assert made["autoRenew"] is True and made["renewBeforeDays"] == 5
    assert page.locator('[data-field="api.allowKeyExport"]').inner_text() == "refused"

    page.get_by_role("link", name="Edit").click()
    assert page.input_value('input[name="defaults.ttl"]') == "20d"
    assert page.is_checked('input[name="enrollment.acme.eabRequired"]')
    page.uncheck('input[name="enrollment.acme.eabRequired"]')
    page.check('input[name="enrollment.api.allowKeyExport"]')
    page.fill('input[name="defaults.ttl"]', "10d")
    page.check('input[name="defaults.extendedKeyUsages"][value=client_auth]')
    page.uncheck('input[name="defaults.certificatePoliciesAutomatic"]')
    page.fill('textarea[name="defaults.certificatePolicies"]', "1.3.6.1.4.1.55555.1")
    page.fill("input[name=renewBeforeDays]", "12")  # not shorter than 10d: refused
    assert submit(page) == 400
    assert "renewBeforeDays" in page.locator('[id="err-renewBeforeDays"]').inner_text()
    page.fill("input[name=renewBeforeDays]", "3")
    assert submit(page) == 303
    edited = rest(console, f"{PROFILES}/{made['id']}")["profile"]
    assert edited["enrollment"]["acme"]["eabRequired"] is False
    assert edited["enrollment"]["api"]["allowKeyExport"] is True
    assert edited["defaults"]["ttl"] == "10d" and edited["renewBeforeDays"] == 3
    assert edited["defaults"]["certificatePolicies"] == ["1.3.6.1.4.1.55555.1"]
    assert edited["caId"] == ca["id"] and edited["policyId"] == strict["id"]
    page.context.close()


def test_the_profile_page_gives_the_directory_url_and_client_snippets(
    console: AcmeServer, browser: Browser
) -> None:
    profile = rest(console, f"{PROFILES}/eab")["profile"]
    directory = profile["acmeDirectoryUrl"]
    assert directory == console.profile_directory("eab")
    page = sign_in(browser, console, "admin")
    page.goto(f"/ui/profiles/{profile['id']}")
    assert page.input_value("#acme-directory") == directory
    certbot = page.input_value("#snippet-certbot")
    assert certbot.startswith(f"certbot certonly --server {directory} ")
    assert "--eab-kid=<EAB_KID> --eab-hmac-key=<EAB_HMAC_KEY>" in certbot
    lego = page.input_value("#snippet-lego")
    assert lego.startswith(f"lego --server {directory} ") and "--eab --kid=<EAB_KID>" in lego
    issuer = yaml.safe_load(page.input_value("#snippet-cert-manager"))
    assert issuer["kind"] == "ClusterIssuer"
    acme = issuer["spec"]["acme"]
    assert acme["server"] == directory
    assert acme["privateKeySecretRef"]["name"] == "kms-eab-account-key"
    assert acme["externalAccountBinding"]["keyID"] == "<EAB_KID>"
    assert acme["solvers"] == [{"http01": {"ingress": {"ingressClassName": "nginx"}}}]
    assert page.locator("button[data-copy=acme-directory]").count() == 1
    screenshot(page, "profile")

    default = rest(console, f"{PROFILES}/default")["profile"]
    page.goto(f"/ui/profiles/{default['id']}")
    assert "--eab" not in page.input_value("#snippet-certbot")
    assert "externalAccountBinding" not in page.input_value("#snippet-cert-manager")
    page.context.close()


def test_a_reader_sees_no_create_or_edit_buttons_and_gets_403_on_post(
    console: AcmeServer, browser: Browser
) -> None:
    before = rest(console, PROFILES)["profiles"], rest(console, POLICIES)["policies"]
    page = sign_in(browser, console, "reader", profiles=("eab",))
    page.goto("/ui/profiles")
    assert page.locator("table.profiles tbody tr").count() == 1  # its one granted profile
    assert page.get_by_role("link", name="Create a profile").count() == 0
    page.click("table.profiles a >> text=eab")
    assert page.get_by_role("link", name="Edit").count() == 0
    assert page.get_by_role("link", name="EAB credentials").count() == 0
    page.goto("/ui/policies")
    assert page.get_by_role("link", name="Create a policy").count() == 0
    csrf = page.locator("input[name=csrf]").first.input_value()
    for path, fields in (
        ("/ui/policies/new", {"name": "reader-policy"}),
        ("/ui/profiles/new", {"slug": "reader-profile", "policyId": "strict"}),
        ("/ui/profiles/eab/edit", {"slug": "eab2"}),
    ):
        answer = page.request.post(path, form={"csrf": csrf, **fields})
        assert answer.status == 403, path
    assert (rest(console, PROFILES)["profiles"], rest(console, POLICIES)["policies"]) == before
    forged = page.goto("/ui/profiles/no-such-profile")
    assert forged is not None and forged.status == 404
    page.context.close()
