"""EAB credentials over REST (RFC 8555 7.3.4): made over REST, they register ACME accounts;
listing never shows the key; revoking refuses new bindings."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from testkit.acme_client import AcmeClient, eab_binding
from testkit.in_process_server import AcmeServer
from tests.rest.conftest import bearer_client

PROFILES = "/api/v1/cert-manager/certificate-profiles"
POLICIES = "/api/v1/cert-manager/certificate-policies"


@pytest.fixture
def http(api: AcmeServer) -> Iterator[httpx.Client]:
    with bearer_client(api, role="admin") as client:
        yield client


def error(response: httpx.Response, status: int, text: str) -> None:
    assert response.status_code == status, response.text
    assert text in response.json()["message"], response.json()["message"]


def eab_profile(http: httpx.Client) -> dict[str, Any]:
    """A profile made over REST whose ACME accounts need External Account Binding."""
    policy = http.post(POLICIES, json={"name": f"eab-{uuid.uuid4().hex[:8]}", "rules": {}})
    response = http.post(
        PROFILES,
        json={
            "slug": f"eab-{uuid.uuid4().hex[:8]}",
            "policyId": policy.json()["policy"]["id"],
            "issuerType": "self_signed",
            "enrollment": {"acme": {"enabled": True, "eabRequired": True}},
        },
    )
    assert response.status_code == 201, response.text
    profile: dict[str, Any] = response.json()["profile"]
    return profile


def make_credential(http: httpx.Client, profile_id: str, **body: Any) -> dict[str, Any]:
    response = http.post(f"{PROFILES}/{profile_id}/eab-credentials", json=body)
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    credential: dict[str, Any] = response.json()
    return credential


def register(http: httpx.Client, directory_url: str, kid: str, hmac_key: str, alg: str) -> int:
    client = AcmeClient(http, directory_url, ec.generate_private_key(ec.SECP256R1()))
    binding = eab_binding(kid, hmac_key, client.key, client.directory["newAccount"], alg)
    return client.new_account(externalAccountBinding=binding).status_code


@pytest.mark.parametrize("alg", ["HS256", "HS384"])
def test_s7_3_4_credential_made_over_rest_registers_an_account(
    http: httpx.Client, alg: str
) -> None:
    profile = eab_profile(http)
    credential = make_credential(http, profile["id"], hmacAlgorithm=alg)
    assert credential["kid"].startswith("kid-") and credential["hmacKey"]
    assert credential["reusable"] is False and credential["hmacAlgorithm"] == alg
    assert credential["directoryUrl"] == profile["acmeDirectoryUrl"]

    with httpx.Client(timeout=30) as acme_http:
        directory = acme_http.get(credential["directoryUrl"]).json()
        assert directory["meta"]["externalAccountRequired"] is True
        assert (
            register(
                acme_http, credential["directoryUrl"], credential["kid"], credential["hmacKey"], alg
            )
            == 201
        )
        # single use: a second account cannot bind with it
        assert (
            register(
                acme_http, credential["directoryUrl"], credential["kid"], credential["hmacKey"], alg
            )
            == 403
        )

    listed = http.get(f"{PROFILES}/{profile['id']}/eab-credentials")
    assert listed.status_code == 200
    (entry,) = listed.json()["eabCredentials"]
    assert entry["kid"] == credential["kid"] and entry["status"] == "used"
    assert entry["boundAccountId"] and entry["usedAt"]
    assert "hmacKey" not in entry and credential["hmacKey"] not in listed.text


def test_reusable_credential_binds_many_accounts(http: httpx.Client) -> None:
    profile = eab_profile(http)
    credential = make_credential(http, profile["slug"], reusable=True)  # by slug too
    with httpx.Client(timeout=30) as acme_http:
        for _ in range(2):
            status = register(
                acme_http,
                credential["directoryUrl"],
                credential["kid"],
                credential["hmacKey"],
                "HS256",
            )
            assert status == 201
    entry = http.get(f"{PROFILES}/{profile['id']}/eab-credentials").json()["eabCredentials"][0]
    assert entry["status"] == "usable" and entry["reusable"] is True


def test_revoked_credential_binds_nothing(http: httpx.Client) -> None:
    profile = eab_profile(http)
    credential = make_credential(http, profile["id"])
    url = f"{PROFILES}/{profile['id']}/eab-credentials/{credential['kid']}"
    revoked = http.delete(url)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["eabCredential"]["status"] == "revoked"
    assert revoked.json()["eabCredential"]["revokedAt"]
    error(http.delete(url), 409, "already revoked")
    with httpx.Client(timeout=30) as acme_http:
        status = register(
            acme_http, credential["directoryUrl"], credential["kid"], credential["hmacKey"], "HS256"
        )
    assert status == 403


def test_credential_of_another_profile_is_404(http: httpx.Client) -> None:
    first, second = eab_profile(http), eab_profile(http)
    credential = make_credential(http, first["id"])
    error(
        http.delete(f"{PROFILES}/{second['id']}/eab-credentials/{credential['kid']}"),
        404,
        "no EAB credential",
    )
    error(http.delete(f"{PROFILES}/{first['id']}/eab-credentials/kid-nope"), 404, "no EAB")
    listed = http.get(f"{PROFILES}/{first['id']}/eab-credentials").json()["eabCredentials"]
    assert listed[0]["status"] == "usable"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"hmacAlgorithm": "HS1"}, "hmacAlgorithm must be one of HS256, HS384, HS512"),
        ({"hmacAlgorithm": 256}, "hmacAlgorithm must be a string"),
        ({"reusable": "yes"}, "reusable must be true or false"),
        ({"reuseable": True}, "unknown field 'reuseable'"),
    ],
)
def test_wrong_fields_are_400(http: httpx.Client, body: dict[str, Any], message: str) -> None:
    profile = eab_profile(http)
    error(http.post(f"{PROFILES}/{profile['id']}/eab-credentials", json=body), 400, message)
    assert http.get(f"{PROFILES}/{profile['id']}/eab-credentials").json() == {"eabCredentials": []}


def test_unknown_profile_is_404(http: httpx.Client) -> None:
    missing = f"{PROFILES}/{uuid.uuid4()}/eab-credentials"
    error(http.post(missing, json={}), 404, "no certificate profile")
    error(http.get(missing), 404, "no certificate profile")
    error(http.delete(f"{missing}/kid-x"), 404, "no certificate profile")


def test_without_a_token_nothing_is_made_or_shown(api: AcmeServer, http: httpx.Client) -> None:
    profile = eab_profile(http)
    base = f"{PROFILES}/{profile['id']}/eab-credentials"
    with httpx.Client(base_url=api.base_url, timeout=30) as anonymous:
        assert anonymous.post(base, json={}).status_code == 401
        assert anonymous.get(base).status_code == 401
        assert anonymous.delete(f"{base}/kid-x").status_code == 401
    assert http.get(base).json() == {"eabCredentials": []}


def test_writes_are_audited_without_the_key(http: httpx.Client) -> None:
    profile = eab_profile(http)
    credential = make_credential(http, profile["id"])
    http.delete(f"{PROFILES}/{profile['id']}/eab-credentials/{credential['kid']}")
    response = http.get("/api/v1/audit-logs", params={"targetId": credential["kid"]})
    entries = response.json()["auditLogs"]
    assert sorted(e["action"] for e in entries) == ["eab.create", "eab.revoke"]
    assert credential["hmacKey"] not in response.text


def test_the_new_credential_names_the_directory_on_the_servers_own_port(
    api: AcmeServer, http: httpx.Client
) -> None:
    """`directory` (the name `kms eab create --json` prints too) is the profile's ACME
    directory on the port this server answers at, never null or another port's."""
    profile = eab_profile(http)
    credential = make_credential(http, profile["id"])
    port = urlsplit(api.base_url).port
    assert port is not None and port != 8443
    expected = f"{api.base_url}/acme/{profile['slug']}/directory"
    assert urlsplit(credential["directory"]).port == port
    assert credential["directory"] == credential["directoryUrl"] == expected
    assert credential["hmacAlg"] == credential["hmacAlgorithm"] == "HS256"
    with httpx.Client(timeout=30) as acme_http:
        assert acme_http.get(credential["directory"]).status_code == 200
