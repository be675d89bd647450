"""Certificate profiles over REST: CRUD, the stored snake_case form ACME reads, the ACME
directory a profile serves, validation naming the field, 401/404/409, audit."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from store import ProfileRecord
from testkit.in_process_server import AcmeServer
from tests.rest.conftest import bearer_client, with_services

POLICIES = "/api/v1/cert-manager/certificate-policies"
PROFILES = "/api/v1/cert-manager/certificate-profiles"
CAS = "/api/v1/cert-manager/ca/internal"


@pytest.fixture
def http(api: AcmeServer) -> Iterator[httpx.Client]:
    with bearer_client(api, role="admin") as client:
        yield client


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def error(response: httpx.Response, status: int, text: str) -> None:
    assert response.status_code == status, response.text
    assert text in response.json()["message"], response.json()["message"]


def policy_id(http: httpx.Client, rules: dict[str, Any] | None = None) -> str:
    response = http.post(POLICIES, json={"name": unique("policy"), "rules": rules or {}})
    assert response.status_code == 201, response.text
    return str(response.json()["policy"]["id"])


def issuing_ca_id(http: httpx.Client) -> str:
    cas = http.get(CAS).json()["cas"]
    return str(next(ca["id"] for ca in cas if ca["type"] == "intermediate"))


def create(http: httpx.Client, **body: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "slug": unique("p"),
        "policyId": policy_id(http),
        "issuerType": "ca",
        "caId": issuing_ca_id(http),
        **body,
    }
    response = http.post(PROFILES, json=fields)
    assert response.status_code == 201, response.text
    profile: dict[str, Any] = response.json()["profile"]
    return profile


def stored(api: AcmeServer, profile_id: str) -> ProfileRecord:
    return with_services(api, lambda s: s.store.get_profile(profile_id))


def slugs(http: httpx.Client) -> list[str]:
    return [p["slug"] for p in http.get(PROFILES).json()["profiles"]]


def test_crud_round_trip_and_the_stored_form(api: AcmeServer, http: httpx.Client) -> None:
    slug = unique("web")
    ca_id = issuing_ca_id(http)
    pol = policy_id(http, {"maxTtl": "90d"})
    body = {
        "slug": slug,
        "name": "Web servers",
        "description": "TLS for web",
        "policyId": pol,
        "issuerType": "ca",
        "caId": ca_id,
        "enrollment": {
            "acme": {
                "enabled": True,
                "eabRequired": True,
                "allowIpIdentifiers": False,
                "challengeTypes": ["http-01", "dns-01"],
                "caaCheck": False,
            },
            "api": {"enabled": False, "allowKeyExport": False},
        },
        "defaults": {
            "ttl": "30d",
            "keyAlgorithm": "RSA_2048",
            "hashAlgorithm": "SHA384",
            "keyUsages": ["digital_signature", "key_encipherment"],
            "extendedKeyUsages": ["server_auth"],
        },
        "autoRenew": True,
        "renewBeforeDays": 10,
    }
    response = http.post(PROFILES, json=body)
    assert response.status_code == 201, response.text
    profile = response.json()["profile"]
    defaults = dict(profile["defaults"])
    # Never set: the CA/B Forum DV policy, which leaves with serverAuth get.
    assert defaults.pop("certificatePolicies") == ["2.23.140.1.2.1"]
    assert defaults == body["defaults"]
    for key, value in body.items():
        if key != "defaults":
            assert profile[key] == value, key
    assert profile["isDefault"] is False
    assert profile["acmeDirectoryUrl"] == f"{api.base_url}/acme/{slug}/directory"

    record = stored(api, profile["id"])
    assert record.enrollment == {
        "acme": {
            "enabled": True,
            "eab_required": True,
            "allow_ip_identifiers": False,
            "challenge_types": ["http-01", "dns-01"],
            "caa_check": False,
        },
        "api": {"enabled": False, "allow_key_export": False},
    }
    assert record.defaults == {
        "ttl": "30d",
        "key_algorithm": "RSA_2048",
        "hash_algorithm": "SHA384",
        "key_usages": ["digital_signature", "key_encipherment"],
        "extended_key_usages": ["server_auth"],
    }

    assert http.get(f"{PROFILES}/{profile['id']}").json()["profile"] == profile
    assert http.get(f"{PROFILES}/{slug}").json()["profile"] == profile
    assert slug in slugs(http)

    patched = http.patch(
        f"{PROFILES}/{profile['id']}",
        json={"description": "new", "enrollment": {"acme": {"eabRequired": False}}},
    )
    assert patched.status_code == 200, patched.text
    after = patched.json()["profile"]
    assert after["description"] == "new"
    assert after["enrollment"]["acme"] == {  # merged: the other members stay
        "enabled": True,
        "eabRequired": False,
        "allowIpIdentifiers": False,
        "challengeTypes": ["http-01", "dns-01"],
        "caaCheck": False,
    }
    assert after["defaults"] == profile["defaults"]

    assert http.delete(f"{PROFILES}/{profile['id']}").status_code == 200
    error(http.get(f"{PROFILES}/{profile['id']}"), 404, "no certificate profile")
    assert slug not in slugs(http)


def test_acme_enabled_profile_serves_its_directory(api: AcmeServer, http: httpx.Client) -> None:
    open_profile = create(http)
    eab_profile = create(http, enrollment={"acme": {"eabRequired": True}})
    off = create(http, enrollment={"acme": {"enabled": False}})
    assert off["acmeDirectoryUrl"] is None

    with httpx.Client(timeout=30) as anonymous:
        directory = anonymous.get(open_profile["acmeDirectoryUrl"])
        assert directory.status_code == 200, directory.text
        assert directory.json()["meta"]["externalAccountRequired"] is False
        assert directory.json()["newAccount"].startswith(f"{api.base_url}/acme/")
        eab = anonymous.get(eab_profile["acmeDirectoryUrl"]).json()
        assert eab["meta"]["externalAccountRequired"] is True
        assert anonymous.get(f"{api.base_url}/acme/{off['slug']}/directory").status_code == 404


def test_self_signed_profile_and_switching_issuer(http: httpx.Client) -> None:
    profile = create(http, issuerType="self_signed", caId=None)
    assert (profile["issuerType"], profile["caId"]) == ("self_signed", None)
    ca_id = issuing_ca_id(http)
    url = f"{PROFILES}/{profile['id']}"
    error(http.patch(url, json={"issuerType": "ca"}), 400, "caId is required")
    moved = http.patch(url, json={"issuerType": "ca", "caId": ca_id}).json()["profile"]
    assert (moved["issuerType"], moved["caId"]) == ("ca", ca_id)
    back = http.patch(url, json={"issuerType": "self_signed"}).json()["profile"]
    assert (back["issuerType"], back["caId"]) == ("self_signed", None)


def test_is_default_moves_the_flag(api: AcmeServer, http: httpx.Client) -> None:
    default = next(p for p in http.get(PROFILES).json()["profiles"] if p["isDefault"])
    profile = create(http, isDefault=True)
    try:
        assert profile["isDefault"] is True
        assert http.get(f"{PROFILES}/{default['id']}").json()["profile"]["isDefault"] is False
    finally:
        restored = http.patch(f"{PROFILES}/{default['id']}", json={"isDefault": True})
        assert restored.json()["profile"]["isDefault"] is True
    assert http.get(f"{PROFILES}/{profile['id']}").json()["profile"]["isDefault"] is False


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"slug": "Not A Slug"}, "slug: profile slug must be"),
        ({"slug": 3}, "slug must be a string"),
        ({"policyId": None}, "policyId is required"),
        ({"policyId": "no-such-policy"}, "policyId: no certificate policy"),
        ({"caId": "no-such-ca"}, "caId: no certificate authority"),
        ({"caId": None}, "caId is required when issuerType is 'ca'"),
        ({"issuerType": "self_signed"}, "caId must be null when issuerType is 'self_signed'"),
        ({"issuerType": "acme"}, "issuerType must be 'ca' or 'self_signed'"),
        ({"enrollment": []}, "enrollment must be an object"),
        ({"enrollment": {"acme": {"eabRequired": "yes"}}}, "enrollment.acme.eabRequired must be"),
        ({"enrollment": {"acme": {"eab_required": True}}}, "enrollment.acme: unknown field"),
        ({"enrollment": {"ftp": {}}}, "enrollment: unknown field 'ftp'"),
        (
            {"enrollment": {"acme": {"challengeTypes": ["smtp-01"]}}},
            "enrollment.acme.challengeTypes: unknown challenge type 'smtp-01'",
        ),
        ({"enrollment": {"acme": {"challengeTypes": []}}}, "must allow at least one type"),
        ({"enrollment": {"acme": {"challengeTypes": "dns-01"}}}, "challengeTypes must be"),
        ({"enrollment": {"acme": {"caaCheck": "off"}}}, "enrollment.acme.caaCheck must be"),
        ({"defaults": {"ttl": "ninety"}}, "defaults.ttl: invalid TTL"),
        ({"defaults": {"ttl": 90}}, "defaults.ttl must be a string"),
        ({"defaults": {"keyAlgorithm": "DSA"}}, "defaults.keyAlgorithm: unknown value 'DSA'"),
        ({"defaults": {"hashAlgorithm": "MD5"}}, "defaults.hashAlgorithm"),
        ({"defaults": {"keyUsages": ["sign"]}}, "defaults.keyUsages[0]"),
        ({"defaults": {"extendedKeyUsages": "server_auth"}}, "defaults.extendedKeyUsages must"),
        ({"defaults": {"key_algorithm": "EC_P256"}}, "defaults: unknown field 'key_algorithm'"),
        ({"renewBeforeDays": -1}, "renewBeforeDays must be a whole number from 0"),
        ({"renewBeforeDays": True}, "renewBeforeDays must be a whole number"),
        ({"autoRenew": "true"}, "autoRenew must be true or false"),
        ({"isDefault": 1}, "isDefault must be true or false"),
        ({"name": "x" * 256}, "name must be 1-255 characters"),
        ({"slugg": "x"}, "unknown field 'slugg'"),
        ({"autoRenew": True, "defaults": {"ttl": "20d"}}, "renewBeforeDays: 30 days"),
    ],
)
def test_wrong_fields_are_400_naming_the_field(
    http: httpx.Client, change: dict[str, Any], message: str
) -> None:
    body: dict[str, Any] = {
        "slug": unique("bad"),
        "policyId": policy_id(http),
        "issuerType": "ca",
        "caId": issuing_ca_id(http),
    }
    body.update(change)
    before = slugs(http)
    error(http.post(PROFILES, json=body), 400, message)
    assert slugs(http) == before


def test_defaults_must_fit_the_policy(http: httpx.Client) -> None:
    strict = policy_id(http, {"maxTtl": "30d", "keyAlgorithms": ["EC_P256", "EC_P384"]})
    error(
        http.post(
            PROFILES,
            json={
                "slug": unique("x"),
                "policyId": strict,
                "issuerType": "self_signed",
                "defaults": {"ttl": "90d"},
            },
        ),
        400,
        "defaults.ttl: 90d is longer than the policy's maxTtl 30d",
    )
    profile = create(http, policyId=strict, defaults={"ttl": "30d"})
    error(
        http.patch(f"{PROFILES}/{profile['id']}", json={"defaults": {"keyAlgorithm": "RSA_2048"}}),
        400,
        "defaults.keyAlgorithm: RSA_2048 is not allowed",
    )
    wide = policy_id(http)
    error(
        http.patch(f"{PROFILES}/{profile['id']}", json={"defaults": {"ttl": "60d"}}),
        400,
        "maxTtl 30d",
    )
    moved = http.patch(
        f"{PROFILES}/{profile['id']}", json={"policyId": wide, "defaults": {"ttl": "60d"}}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["profile"]["defaults"]["ttl"] == "60d"


def test_patch_errors_change_nothing(http: httpx.Client) -> None:
    profile = create(http)
    url = f"{PROFILES}/{profile['id']}"
    headers = {"Content-Type": "application/json"}
    error(http.patch(url, content=b"{", headers=headers), 400, "not valid JSON")
    error(http.patch(url, json={"defaults": {"ttl": "x"}, "name": "renamed"}), 400, "defaults")
    error(http.patch(url, json={"slug": "UPPER"}), 400, "slug")
    assert http.patch(url, json={"description": "y" * 5000}).status_code == 400
    assert http.patch(url, json={"description": "z" * (300 * 1024)}).status_code == 413
    assert http.get(url).json()["profile"] == profile


def test_duplicate_slug_is_409(http: httpx.Client) -> None:
    first = create(http)
    error(
        http.post(
            PROFILES,
            json={"slug": first["slug"], "policyId": first["policyId"], "caId": first["caId"]},
        ),
        409,
        "already exists",
    )
    second = create(http)
    error(http.patch(f"{PROFILES}/{second['id']}", json={"slug": first["slug"]}), 409, "exists")


def test_profile_with_eab_credentials_cannot_be_deleted(http: httpx.Client) -> None:
    profile = create(http)
    made = http.post(f"{PROFILES}/{profile['id']}/eab-credentials", json={})
    assert made.status_code == 201, made.text
    error(http.delete(f"{PROFILES}/{profile['id']}"), 409, "EAB keys")
    assert http.get(f"{PROFILES}/{profile['id']}").status_code == 200


def test_unknown_profile_is_404(http: httpx.Client) -> None:
    missing = f"{PROFILES}/{uuid.uuid4()}"
    error(http.get(missing), 404, "no certificate profile")
    error(http.patch(missing, json={"name": "x"}), 404, "no certificate profile")
    error(http.delete(missing), 404, "no certificate profile")


def test_without_a_token_every_route_is_401(api: AcmeServer) -> None:
    with httpx.Client(base_url=api.base_url, timeout=30) as anonymous:
        one = f"{PROFILES}/default"
        for response in (
            anonymous.get(PROFILES),
            anonymous.post(PROFILES, json={}),
            anonymous.get(one),
            anonymous.patch(one, json={"name": "hijacked"}),
            anonymous.delete(one),
        ):
            assert response.status_code == 401, response.text


def test_writes_are_audited(http: httpx.Client) -> None:
    profile = create(http)
    http.patch(f"{PROFILES}/{profile['id']}", json={"name": "renamed"})
    http.delete(f"{PROFILES}/{profile['id']}")
    entries = http.get("/api/v1/audit-logs", params={"targetId": profile["id"]}).json()
    assert sorted(e["action"] for e in entries["auditLogs"]) == [
        "profile.create",
        "profile.delete",
        "profile.update",
    ]
