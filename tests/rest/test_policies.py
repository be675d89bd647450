"""Certificate policies over REST: CRUD, validation naming the key, 401/404/409, audit."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from testkit.in_process_server import AcmeServer
from tests.rest.conftest import bearer_client

POLICIES = "/api/v1/cert-manager/certificate-policies"
PROFILES = "/api/v1/cert-manager/certificate-profiles"


@pytest.fixture
def http(api: AcmeServer) -> Iterator[httpx.Client]:
    with bearer_client(api, role="admin") as client:
        yield client


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create(http: httpx.Client, **body: Any) -> dict[str, Any]:
    response = http.post(POLICIES, json={"name": unique("policy"), "rules": {}, **body})
    assert response.status_code == 201, response.text
    policy: dict[str, Any] = response.json()["policy"]
    return policy


def error(response: httpx.Response, status: int, text: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["statusCode"] == status
    assert text in body["message"], body["message"]


def names(http: httpx.Client) -> list[str]:
    return [p["name"] for p in http.get(POLICIES).json()["policies"]]


def test_crud_round_trip(http: httpx.Client) -> None:
    name = unique("web")
    rules = {"sans": {"dns_name": {"allowed": ["*.web.test"]}}, "maxTtl": "30d"}
    created = http.post(POLICIES, json={"name": name, "description": "web", "rules": rules})
    assert created.status_code == 201, created.text
    policy = created.json()["policy"]
    assert policy["name"] == name and policy["description"] == "web"
    assert policy["rules"]["maxTtl"] == "30d"
    assert policy["rules"]["sans"]["dns_name"] == {"allowed": ["*.web.test"], "denied": []}
    assert policy["rules"]["allowWildcards"] is True  # normalised: every default spelled out

    assert http.get(f"{POLICIES}/{policy['id']}").json()["policy"] == policy
    assert http.get(f"{POLICIES}/{name}").json()["policy"] == policy  # by name too
    assert name in names(http)

    patched = http.patch(
        f"{POLICIES}/{policy['id']}", json={"description": "changed", "rules": {"maxTtl": "7d"}}
    )
    assert patched.status_code == 200, patched.text
    after = patched.json()["policy"]
    assert after["name"] == name and after["description"] == "changed"
    assert after["rules"]["maxTtl"] == "7d" and after["rules"]["sans"] == {}  # replaced whole

    deleted = http.delete(f"{POLICIES}/{policy['id']}")
    assert deleted.status_code == 200 and deleted.json()["policy"]["id"] == policy["id"]
    error(http.get(f"{POLICIES}/{policy['id']}"), 404, "no certificate policy")
    assert name not in names(http)


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"bogus": 1}, "rules: unknown key 'bogus'"),
        ({"maxTtl": "ninety"}, "rules.maxTtl: invalid TTL"),
        ({"keyAlgorithms": ["DSA_1024"]}, "rules.keyAlgorithms[0]: unknown value 'DSA_1024'"),
        ({"sans": {"dns_name": {"allowed": [7]}}}, "rules.sans.dns_name.allowed[0]"),
        ({"maxSans": -1}, "rules.maxSans"),
        ({"requiredSanTypes": ["email"], "allowedSanTypes": ["dns_name"]}, "requiredSanTypes"),
    ],
)
def test_bad_rules_are_400_naming_the_key(
    http: httpx.Client, rules: dict[str, Any], message: str
) -> None:
    before = names(http)
    error(http.post(POLICIES, json={"name": unique("bad"), "rules": rules}), 400, message)
    assert names(http) == before


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"rules": {}}, "name is required"),
        ({"name": 5, "rules": {}}, "name must be a string"),
        ({"name": "  ", "rules": {}}, "name must be 1-255 characters"),
        ({"name": "x" * 256, "rules": {}}, "name must be 1-255 characters"),
        ({"name": "n"}, "rules is required"),
        ({"name": "n", "rules": []}, "rules must be an object"),
        ({"name": "n", "rules": {}, "description": True}, "description must be a string"),
        ({"name": "n", "rules": {}, "rule": {}}, "unknown field 'rule'"),
    ],
)
def test_wrong_fields_are_400_naming_the_field(
    http: httpx.Client, body: dict[str, Any], message: str
) -> None:
    before = names(http)
    error(http.post(POLICIES, json=body), 400, message)
    assert names(http) == before


def test_bad_json_wrong_media_type_and_oversize_change_nothing(http: httpx.Client) -> None:
    before = names(http)
    headers = {"Content-Type": "application/json"}
    error(http.post(POLICIES, content=b"{not json", headers=headers), 400, "not valid JSON")
    error(http.post(POLICIES, content=b"[1]", headers=headers), 400, "JSON object")
    error(http.post(POLICIES, content=b"name=x", headers={"Content-Type": "text/plain"}), 415, "")
    huge = {"name": "huge", "rules": {}, "description": "x" * (300 * 1024)}
    assert http.post(POLICIES, json=huge).status_code == 413
    policy = create(http)
    error(http.patch(f"{POLICIES}/{policy['id']}", json={"name": 1}), 400, "name must be")
    error(http.patch(f"{POLICIES}/{policy['id']}", json={"rules": {"x": 1}}), 400, "rules:")
    assert http.get(f"{POLICIES}/{policy['id']}").json()["policy"] == policy
    assert sorted(names(http)) == sorted([*before, policy["name"]])


def test_duplicate_name_is_409(http: httpx.Client) -> None:
    first = create(http)
    error(http.post(POLICIES, json={"name": first["name"], "rules": {}}), 409, "already exists")
    second = create(http)
    error(http.patch(f"{POLICIES}/{second['id']}", json={"name": first["name"]}), 409, "exists")


def test_unknown_policy_is_404(http: httpx.Client) -> None:
    missing = f"{POLICIES}/{uuid.uuid4()}"
    error(http.get(missing), 404, "no certificate policy")
    error(http.patch(missing, json={"description": "x"}), 404, "no certificate policy")
    error(http.delete(missing), 404, "no certificate policy")


def test_policy_used_by_a_profile_cannot_be_deleted(http: httpx.Client) -> None:
    policy = create(http)
    slug = unique("uses")
    made = http.post(
        PROFILES, json={"slug": slug, "policyId": policy["id"], "issuerType": "self_signed"}
    )
    assert made.status_code == 201, made.text
    error(http.delete(f"{POLICIES}/{policy['id']}"), 409, slug)
    assert http.delete(f"{PROFILES}/{made.json()['profile']['id']}").status_code == 200
    assert http.delete(f"{POLICIES}/{policy['id']}").status_code == 200


def test_without_a_token_every_route_is_401(api: AcmeServer) -> None:
    with httpx.Client(base_url=api.base_url, timeout=30) as anonymous:
        one = f"{POLICIES}/{uuid.uuid4()}"
        for response in (
            anonymous.get(POLICIES),
            anonymous.post(POLICIES, json={"name": "x", "rules": {}}),
            anonymous.get(one),
            anonymous.patch(one, json={}),
            anonymous.delete(one),
            anonymous.get(POLICIES, headers={"Authorization": "Bearer not-a-token"}),
        ):
            error(response, 401, "")


def test_writes_are_audited_without_the_rules(http: httpx.Client) -> None:
    policy = create(http)
    http.patch(f"{POLICIES}/{policy['id']}", json={"description": "d"})
    http.delete(f"{POLICIES}/{policy['id']}")
    entries = http.get("/api/v1/audit-logs", params={"targetId": policy["id"]}).json()
    actions = sorted(e["action"] for e in entries["auditLogs"])
    assert actions == ["policy.create", "policy.delete", "policy.update"]
    assert all(e["actor"].startswith("identity:") for e in entries["auditLogs"])
    assert all(e["targetType"] == "policy" for e in entries["auditLogs"])


def test_policy_stored_before_the_api_is_shown_normalised(http: httpx.Client) -> None:
    default = http.get(f"{POLICIES}/default").json()["policy"]  # made by `kms init` as {}
    assert default["rules"]["allowWildcards"] is True
    assert default["rules"]["maxTtl"] is None
