"""Scoped machine identities over real HTTP (issue 13, defect 5): a member identity reaches
only its own certificates and requests (another's answers exactly as a missing one, 404),
binds client certificates only to itself (403 otherwise, so it cannot log in as another),
and an admin reaches everything. Exports stay audited with the identity that made them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key, pkcs12

from acme_server.services.identities import tokens as identities
from ca_core.serials import serial_to_hex
from store import IdentityRecord
from testkit.in_process_server import AcmeServer
from testkit.postgres import BACKENDS
from tests.rest.cert_auth_support import (
    LOGIN,
    OK_TTL,
    ROTATE,
    cert_auth_server,
    chain_of,
    csr_pem,
    new_key,
    post_proof,
)
from tests.rest.conftest import create_identity, login, with_services
from tests.rest.test_certificates_support import CERTS, REQUESTS, issue

IDENTITIES = "/api/v1/identities"
AUDIT = "/api/v1/audit-logs"


@dataclass
class Caller:
    identity: IdentityRecord
    http: httpx.Client


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AcmeServer]:
    with cert_auth_server(tmp_path_factory.mktemp("scopes") / "data", request.param) as running:
        yield running


def _client(server: AcmeServer, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.base_url, timeout=30, headers={"Authorization": f"Bearer {token}"}
    )


@contextmanager
def caller(server: AcmeServer, role: str = identities.MEMBER) -> Iterator[Caller]:
    identity, secret = create_identity(server, role=role)
    with _client(server, login(server, identity.client_id, secret)) as http:
        yield Caller(identity, http)


@pytest.fixture
def a(server: AcmeServer) -> Iterator[Caller]:
    with caller(server) as found:
        yield found


@pytest.fixture
def b(server: AcmeServer) -> Iterator[Caller]:
    with caller(server) as found:
        yield found


@pytest.fixture
def admin(server: AcmeServer) -> Iterator[Caller]:
    with caller(server, identities.ADMIN) as found:
        yield found


def _name() -> str:
    return f"{uuid.uuid4().hex[:12]}.scopes.test"


def _issued(who: Caller, name: str | None = None) -> dict[str, Any]:
    """A managed certificate issued by `who`: {"id", "serial", "requestId", "name"}."""
    name = name or _name()
    body = issue(who.http, commonName=name, altNames=name)
    cert = body["certificate"]
    return {
        "id": cert["certificateId"],
        "serial": cert["serialNumber"],
        "requestId": body["certificateRequestId"],
        "name": name,
    }


def _listed(who: Caller, path: str, key: str, **params: str) -> tuple[set[str], int]:
    response = who.http.get(path, params={"limit": "100", **params})
    assert response.status_code == 200, response.text
    body = response.json()
    return {row["id"] for row in body[key]}, body["totalCount"]


def _assert_missing(response: httpx.Response, ref: str) -> None:
    """The answer for a certificate that does not exist, word for word."""
    assert response.status_code == 404, response.text
    assert response.json() == {
        "statusCode": 404,
        "error": "NotFound",
        "message": f"no certificate with id or serial {ref!r}",
    }


def test_a_member_lists_only_its_own_certificates_and_requests(
    a: Caller, b: Caller, admin: Caller
) -> None:
    mine, theirs = _issued(a), _issued(b)
    search = {"search": ".scopes.test"}

    seen_by_b, total_b = _listed(b, CERTS, "certificates", **search)
    assert theirs["id"] in seen_by_b and mine["id"] not in seen_by_b
    assert total_b == len(seen_by_b)
    seen_by_a, _ = _listed(a, CERTS, "certificates", **search)
    assert mine["id"] in seen_by_a and theirs["id"] not in seen_by_a
    seen_by_admin, _ = _listed(admin, CERTS, "certificates", **search)
    assert {mine["id"], theirs["id"]} <= seen_by_admin

    requests_of_b, _ = _listed(b, REQUESTS, "certificateRequests")
    assert theirs["requestId"] in requests_of_b and mine["requestId"] not in requests_of_b
    requests_of_admin, _ = _listed(admin, REQUESTS, "certificateRequests")
    assert {mine["requestId"], theirs["requestId"]} <= requests_of_admin
    refused = b.http.get(f"{REQUESTS}/{mine['requestId']}")
    assert refused.status_code == 404
    assert refused.json()["message"] == f"no certificate request with id {mine['requestId']!r}"
    assert a.http.get(f"{REQUESTS}/{mine['requestId']}").status_code == 200


def test_another_identitys_certificate_answers_as_a_missing_one(
    a: Caller, b: Caller, admin: Caller
) -> None:
    mine = _issued(a)
    for ref in (mine["id"], mine["serial"]):
        _assert_missing(b.http.get(f"{CERTS}/{ref}"), ref)
    one = f"{CERTS}/{mine['id']}"
    attempts = [
        b.http.get(one + "/bundle"),
        b.http.get(one + "/bundle", params={"format": "pem"}),
        b.http.post(one + "/export", json={"format": "pkcs12", "password": "pw"}),
        b.http.post(one + "/export", json={"format": "pem"}),
        b.http.post(one + "/renew"),
        b.http.post(one + "/revoke", json={"revocationReason": "KEY_COMPROMISE"}),
        b.http.patch(one + "/metadata", json={"metadata": {"owner": "b"}}),
        b.http.patch(one + "/auto-renew", json={"autoRenew": True}),
        b.http.delete(one),
    ]
    for response in attempts:
        _assert_missing(response, mine["id"])

    # Nothing happened to it: A and the admin still see it active and unchanged.
    details = a.http.get(one)
    assert details.status_code == 200, details.text
    assert (details.json()["status"], details.json()["metadata"]) == ("active", {})
    assert admin.http.get(one).status_code == 200


def test_only_the_owner_and_an_admin_export_the_private_key(
    a: Caller, b: Caller, admin: Caller
) -> None:
    mine = _issued(a)
    export = f"{CERTS}/{mine['id']}/export"
    _assert_missing(b.http.post(export, json={"password": "pw"}), mine["id"])

    for who in (a, admin):
        response = who.http.post(export, json={"password": "pw"})
        assert response.status_code == 200, response.text
        key, cert, _ = pkcs12.load_key_and_certificates(response.content, b"pw")
        assert key is not None and cert is not None
        assert cert.subject.rfc4514_string() == f"CN={mine['name']}"

    entries = admin.http.get(AUDIT, params={"targetType": "certificate", "targetId": mine["id"]})
    exports = [
        e["actor"] for e in entries.json()["auditLogs"] if e["action"] == "certificate.export"
    ]
    assert sorted(exports) == sorted([f"identity:{a.identity.id}", f"identity:{admin.identity.id}"])


def test_latest_bundle_of_a_profile_is_the_callers_own(a: Caller, b: Caller) -> None:
    _issued(b)
    mine = _issued(a)  # the newest of the profile is A's
    latest = "/api/v1/cert-manager/certificate-profiles/default/certificates/latest"
    assert a.http.get(latest).json()["certificateId"] == mine["id"]
    assert b.http.get(latest).json()["certificateId"] != mine["id"]


def _bind_csr(who: Caller, target: str, key: Any) -> httpx.Response:
    return who.http.post(
        f"{IDENTITIES}/{target}/certificates",
        json={"csr": csr_pem(key, _name()), "profileId": "default", "ttl": OK_TTL},
    )


def _chain(response: httpx.Response) -> list[x509.Certificate]:
    assert response.status_code == 201, response.text
    body = response.json()["certificate"]
    return chain_of(body["certificate"] + body["certificateChain"])


def test_a_member_cannot_bind_a_certificate_to_another_identity_nor_log_in_as_it(
    server: AcmeServer, a: Caller, b: Caller
) -> None:
    key = new_key()
    for target in (a.identity.id, a.identity.client_id, str(uuid.uuid4())):
        refused = _bind_csr(b, target, key)
        assert refused.status_code == 403, refused.text
        body = refused.json()
        assert body["error"] == "Forbidden"
        assert body["details"] == {"permission": "identity.certificate.bind"}
        assert target in body["message"]

    # A clientAuth certificate B issued for itself, bound to A: refused the same way.
    own = issue(b.http, commonName=_name(), extendedKeyUsages=["client_auth"])
    pem = own["certificate"]["certificate"]
    bind = b.http.post(f"{IDENTITIES}/{a.identity.id}/certificates", json={"certificate": pem})
    assert bind.status_code == 403
    own_chain = chain_of(pem + own["certificate"]["certificateChain"])
    own_key = load_pem_private_key(own["certificate"]["privateKey"].encode(), None)
    assert isinstance(own_key, ec.EllipticCurvePrivateKey)
    login_as_a = post_proof(server, LOGIN, own_key, own_chain)
    assert login_as_a.status_code == 401
    assert "not bound to a machine identity" in login_as_a.json()["message"]

    # Nor may B read A, nor bind A's certificate to itself.
    assert b.http.get(f"{IDENTITIES}/{a.identity.id}").status_code == 404
    a_own = issue(a.http, commonName=_name(), extendedKeyUsages=["client_auth"])
    stolen = b.http.post(
        f"{IDENTITIES}/{b.identity.id}/certificates",
        json={"certificate": a_own["certificate"]["certificate"]},
    )
    assert stolen.status_code == 404
    assert stolen.json()["message"] == "the certificate was not issued by this server"
    bindings = with_services(server, lambda s: s.store.list_identity_certificates(a.identity.id))
    assert bindings == []


def test_an_identity_binds_to_itself_and_logs_in_as_itself(server: AcmeServer, b: Caller) -> None:
    key = new_key()
    chain = _chain(_bind_csr(b, b.identity.id, key))
    logged_in = post_proof(server, LOGIN, key, chain)
    assert logged_in.status_code == 200, logged_in.text
    with _client(server, logged_in.json()["accessToken"]) as as_b:
        me = as_b.get(f"{IDENTITIES}/{b.identity.client_id}")
        assert me.status_code == 200
        assert me.json()["identity"]["id"] == b.identity.id
        assert me.json()["identity"]["role"] == "member"
        # The client certificate belongs to B: B reads it, by serial too.
        serial = serial_to_hex(chain[0].serial_number)
        assert as_b.get(f"{CERTS}/{serial}").status_code == 200

    # A certificate B issued over REST may be bound to B (it is B's own).
    own = issue(b.http, commonName=_name(), extendedKeyUsages=["client_auth"])
    bound = b.http.post(
        f"{IDENTITIES}/{b.identity.id}/certificates",
        json={"certificate": own["certificate"]["certificate"]},
    )
    assert bound.status_code == 201, bound.text


def test_an_admin_binds_to_any_identity_which_then_owns_the_certificate(
    server: AcmeServer, a: Caller, admin: Caller
) -> None:
    key = new_key()
    chain = _chain(_bind_csr(admin, a.identity.id, key))
    assert post_proof(server, LOGIN, key, chain).status_code == 200
    serial = serial_to_hex(chain[0].serial_number)
    assert a.http.get(f"{CERTS}/{serial}").status_code == 200
    assert admin.http.get(f"{IDENTITIES}/{a.identity.id}").status_code == 200

    entries = admin.http.get(AUDIT, params={"targetType": "identity", "targetId": a.identity.id})
    binds = [e for e in entries.json()["auditLogs"] if e["action"] == "identity.certificate.bind"]
    assert [e["actor"] for e in binds] == [f"identity:{admin.identity.id}"]


def test_rotation_by_the_identity_itself_keeps_the_certificate_its_own(
    server: AcmeServer, a: Caller
) -> None:
    key, name = new_key(), _name()
    created = a.http.post(
        f"{IDENTITIES}/{a.identity.id}/certificates",
        json={"csr": csr_pem(key, name), "profileId": "default", "ttl": OK_TTL},
    )
    chain = _chain(created)
    new = new_key()
    rotated = post_proof(server, ROTATE, key, chain, {"csr": csr_pem(new, name)})
    assert rotated.status_code == 201, rotated.text
    new_chain = chain_of(rotated.json()["certificate"] + rotated.json()["certificateChain"])
    logged_in = post_proof(server, LOGIN, new, new_chain)
    assert logged_in.status_code == 200, logged_in.text
    with _client(server, logged_in.json()["accessToken"]) as as_a:
        serial = rotated.json()["serialNumber"]
        assert as_a.get(f"{CERTS}/{serial}").status_code == 200


def test_a_role_change_applies_to_live_tokens(server: AcmeServer, a: Caller, b: Caller) -> None:
    mine = _issued(a)
    _assert_missing(b.http.get(f"{CERTS}/{mine['id']}"), mine["id"])
    changed = with_services(
        server, lambda s: identities.set_role(s, b.identity.id, identities.ADMIN, actor="test")
    )
    assert changed is True
    assert b.http.get(f"{CERTS}/{mine['id']}").status_code == 200
