"""Roles and per-profile grants over real HTTP (issue 15): an issuer or reader reaches the
certificates of the profiles it is granted (another profile's answer exactly as missing
ones, 404, issuing from one too), a reader never gets a private key, nobody gets the key
of an internal certificate (the server's own TLS certificate, which only admins change),
of a login credential or of a profile with allowKeyExport false, binding a client
certificate to another identity is a 403, and every key export is audited with its
identity."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.serialization import pkcs12

from acme_server.cli.main import cli
from acme_server.services.bootstrap import ensure_server_tls
from acme_server.services.identities import grants
from ca_core.serials import serial_to_hex
from store import IdentityRecord
from testkit.in_process_server import AcmeServer
from testkit.postgres import BACKENDS
from tests.rest.cert_auth_support import (
    LOGIN,
    OK_TTL,
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
PROFILES = "/api/v1/cert-manager/certificate-profiles"


@dataclass
class Caller:
    identity: IdentityRecord
    http: httpx.Client


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AcmeServer]:
    with cert_auth_server(tmp_path_factory.mktemp("roles") / "data", request.param) as running:
        yield running


def _client(server: AcmeServer, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.base_url, timeout=30, headers={"Authorization": f"Bearer {token}"}
    )


@contextmanager
def caller(
    server: AcmeServer, role: str = "issuer", profiles: tuple[str, ...] | None = None
) -> Iterator[Caller]:
    identity, secret = create_identity(server, role=role, profiles=profiles)
    with _client(server, login(server, identity.client_id, secret)) as http:
        yield Caller(identity, http)


@pytest.fixture
def web(server: AcmeServer) -> Iterator[Caller]:
    """An issuer granted the default profile only."""
    with caller(server, profiles=("default",)) as found:
        yield found


@pytest.fixture
def other(server: AcmeServer) -> Iterator[Caller]:
    """An issuer granted the eab profile only."""
    with caller(server, profiles=("eab",)) as found:
        yield found


@pytest.fixture
def reader(server: AcmeServer) -> Iterator[Caller]:
    with caller(server, "reader", ("default",)) as found:
        yield found


@pytest.fixture
def admin(server: AcmeServer) -> Iterator[Caller]:
    with caller(server, "admin") as found:
        yield found


def _name() -> str:
    return f"{uuid.uuid4().hex[:12]}.roles.test"


def _issued(who: Caller, profile: str = "default") -> dict[str, Any]:
    """A managed certificate issued by `who`: {"id", "serial", "requestId", "name"}."""
    name = _name()
    body = issue(who.http, profile=profile, commonName=name, altNames=name)
    cert = body["certificate"]
    return {
        "id": cert["certificateId"],
        "serial": cert["serialNumber"],
        "requestId": body["certificateRequestId"],
        "name": name,
        "body": body,
    }


def _listed(who: Caller, path: str, key: str, **params: str) -> set[str]:
    response = who.http.get(path, params={"limit": "100", **params})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["totalCount"] == len(body[key])
    return {row["id"] for row in body[key]}


def _assert_missing(response: httpx.Response, ref: str) -> None:
    """The answer for a certificate that does not exist, word for word."""
    assert response.status_code == 404, response.text
    assert response.json() == {
        "statusCode": 404,
        "error": "NotFound",
        "message": f"no certificate with id or serial {ref!r}",
    }


def _assert_forbidden(response: httpx.Response, permission: str, *words: str) -> None:
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["error"] == "Forbidden"
    assert body["details"] == {"permission": permission}
    for word in words:
        assert word in body["message"]


def test_an_issuer_lists_only_the_certificates_of_its_profiles(
    web: Caller, other: Caller, reader: Caller, admin: Caller
) -> None:
    on_default, on_eab = _issued(web), _issued(other, "eab")
    search = {"search": ".roles.test"}
    assert on_default["id"] in _listed(web, CERTS, "certificates", **search)
    assert on_eab["id"] not in _listed(web, CERTS, "certificates", **search)
    assert on_default["id"] not in _listed(other, CERTS, "certificates", **search)
    assert on_default["id"] in _listed(reader, CERTS, "certificates", **search)
    assert {on_default["id"], on_eab["id"]} <= _listed(admin, CERTS, "certificates", **search)

    assert on_eab["requestId"] not in _listed(web, REQUESTS, "certificateRequests")
    assert on_default["requestId"] in _listed(reader, REQUESTS, "certificateRequests")
    refused = web.http.get(f"{REQUESTS}/{on_eab['requestId']}")
    assert refused.status_code == 404
    assert refused.json()["message"] == f"no certificate request with id {on_eab['requestId']!r}"
    # Profiles, too: the eab profile is not there for the default profile's issuer.
    slugs = {p["slug"] for p in web.http.get(PROFILES).json()["profiles"]}
    assert slugs == {"default"}
    assert web.http.get(f"{PROFILES}/eab").status_code == 404
    assert admin.http.get(f"{PROFILES}/eab").status_code == 200


def test_a_certificate_of_another_profile_answers_as_a_missing_one(
    web: Caller, other: Caller, admin: Caller
) -> None:
    theirs = _issued(other, "eab")
    for ref in (theirs["id"], theirs["serial"]):
        _assert_missing(web.http.get(f"{CERTS}/{ref}"), ref)
    one = f"{CERTS}/{theirs['id']}"
    attempts = [
        web.http.get(one + "/bundle"),
        web.http.post(one + "/export", json={"format": "pkcs12", "password": "pw"}),
        web.http.post(one + "/renew"),
        web.http.post(one + "/revoke", json={"revocationReason": "KEY_COMPROMISE"}),
        web.http.patch(one + "/metadata", json={"metadata": {"owner": "web"}}),
        web.http.patch(one + "/auto-renew", json={"autoRenew": True}),
    ]
    for response in attempts:
        _assert_missing(response, theirs["id"])
    latest = web.http.get(f"{PROFILES}/eab/certificates/latest")
    assert latest.status_code == 404
    details = admin.http.get(one)
    assert (details.json()["status"], details.json()["metadata"]) == ("active", {})


def test_issuing_from_a_profile_not_granted_answers_as_an_unknown_profile(web: Caller) -> None:
    for ref in ("eab", "no-such-profile"):
        wanted = {"profileId": ref, "attributes": {"commonName": _name()}}
        refused = web.http.post(CERTS, json=wanted)
        assert refused.status_code == 404, refused.text
        assert refused.json()["message"] == f"no certificate profile with slug or id {ref!r}"
    # And deleting is an admin's, whatever the profile.
    mine = _issued(web)
    _assert_forbidden(web.http.delete(f"{CERTS}/{mine['id']}"), "certificate.delete", "issuer")


def test_a_reader_reads_but_never_gets_a_private_key(
    web: Caller, reader: Caller, admin: Caller
) -> None:
    mine = _issued(web)
    assert mine["body"]["certificate"]["privateKey"].startswith("-----BEGIN PRIVATE KEY")
    one = f"{CERTS}/{mine['id']}"
    assert reader.http.get(one).status_code == 200
    bundle = reader.http.get(one + "/bundle")
    assert bundle.status_code == 200, bundle.text
    assert bundle.json()["privateKey"] is None
    assert "certificate.export" in bundle.json()["privateKeyWithheld"]
    pem = reader.http.get(one + "/bundle", params={"format": "pem"}).text
    assert "PRIVATE KEY" not in pem and "BEGIN CERTIFICATE" in pem
    latest = reader.http.get(f"{PROFILES}/default/certificates/latest").json()
    assert latest["privateKey"] is None
    _assert_forbidden(
        reader.http.post(one + "/export", json={"format": "pem"}), "certificate.export", "reader"
    )
    for refused in (
        reader.http.post(CERTS, json={"profileId": "default", "attributes": {}}),
        reader.http.post(one + "/revoke", json={"revocationReason": "KEY_COMPROMISE"}),
    ):
        assert refused.status_code == 403

    # The owner and an admin export it; each export is audited with its identity, the
    # reader's bundle (no key) is not.
    for who in (web, admin):
        response = who.http.post(one + "/export", json={"password": "pw"})
        assert response.status_code == 200, response.text
        key, cert, _ = pkcs12.load_key_and_certificates(response.content, b"pw")
        assert key is not None and cert is not None
    entries = admin.http.get(AUDIT, params={"targetType": "certificate", "targetId": mine["id"]})
    exports = [
        e["actor"] for e in entries.json()["auditLogs"] if e["action"] == "certificate.export"
    ]
    assert sorted(exports) == sorted(
        [f"identity:{web.identity.id}", f"identity:{admin.identity.id}"]
    )


def test_a_profile_without_key_export_keeps_its_keys(admin: Caller, server: AcmeServer) -> None:
    slug = f"nokeys-{uuid.uuid4().hex[:6]}"
    default = admin.http.get(f"{PROFILES}/default").json()["profile"]
    created = admin.http.post(
        PROFILES,
        json={
            "slug": slug,
            "name": slug,
            "policyId": default["policyId"],
            "issuerType": "ca",
            "caId": default["caId"],
            "enrollment": {"api": {"enabled": True, "allowKeyExport": False}},
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["profile"]["enrollment"]["api"]["allowKeyExport"] is False
    with caller(server, profiles=(slug,)) as issuer:
        issued = _issued(issuer, slug)
        answer = issued["body"]["certificate"]
        assert "privateKey" not in answer
        assert "allowKeyExport" in answer["privateKeyWithheld"]
        one = f"{CERTS}/{issued['id']}"
        for who in (issuer, admin):
            _assert_forbidden(
                who.http.post(one + "/export", json={"format": "pem"}),
                "certificate.export",
                "allowKeyExport",
            )
            assert who.http.get(one + "/bundle").json()["privateKey"] is None


def _kms(server: AcmeServer, *args: str) -> Any:
    database = ["--database", server.settings.database_url] if server.settings.database_url else []
    return CliRunner().invoke(
        cli, [*args, "--data-dir", str(server.settings.data_dir), *database], catch_exceptions=False
    )


def test_the_servers_own_tls_certificate_is_never_exported(
    server: AcmeServer, admin: Caller
) -> None:
    async def server_tls(services: Any) -> str:
        profile = await services.store.get_default_profile()
        paths = await ensure_server_tls(services, profile)
        return paths.cert_path.read_text()

    from cryptography import x509

    pem = with_services(server, server_tls)
    serial = serial_to_hex(x509.load_pem_x509_certificate(pem.encode()).serial_number)
    details = admin.http.get(f"{CERTS}/{serial}")
    assert details.status_code == 200, details.text
    one = f"{CERTS}/{details.json()['id']}"
    for body in ({"format": "pem"}, {"format": "pkcs12", "password": "pw"}):
        _assert_forbidden(
            admin.http.post(one + "/export", json=body), "certificate.export", "internal"
        )
    bundle = admin.http.get(one + "/bundle").json()
    assert bundle["privateKey"] is None and "internal" in bundle["privateKeyWithheld"]
    cli_export = _kms(server, "cert", "export", serial, "--format", "pem")
    assert cli_export.exit_code == 2
    assert "internal" in cli_export.output and "PRIVATE KEY" not in cli_export.output
    cli_renew = _kms(server, "cert", "renew", serial, "--key-out", "-")
    assert cli_renew.exit_code == 2 and "internal" in cli_renew.output
    assert admin.http.get(one).json()["renewedById"] is None  # refused before renewing
    # An issuer of its profile reads it but does not change it; only admins do.
    with caller(server, profiles=("default",)) as issuer:
        assert issuer.http.get(one).status_code == 200
        for response in (
            issuer.http.post(one + "/revoke", json={"revocationReason": "SUPERSEDED"}),
            issuer.http.post(one + "/renew"),
            issuer.http.patch(one + "/metadata", json={"metadata": {"x": "y"}}),
        ):
            _assert_missing(response, details.json()["id"])
    # A renewal of it is internal too: its new key stays on the server as well.
    renewed = admin.http.post(one + "/renew")
    assert renewed.status_code == 200, renewed.text
    assert "internal" in renewed.json()["certificate"]["privateKeyWithheld"]


def _bind_csr(who: Caller, target: str, profile: str = "default") -> httpx.Response:
    return who.http.post(
        f"{IDENTITIES}/{target}/certificates",
        json={"csr": csr_pem(new_key(), _name()), "profileId": profile, "ttl": OK_TTL},
    )


def test_binding_a_certificate_to_another_identity_is_refused(
    server: AcmeServer, web: Caller, other: Caller, admin: Caller
) -> None:
    for target in (web.identity.id, web.identity.client_id, str(uuid.uuid4())):
        _assert_forbidden(_bind_csr(other, target, "eab"), "identity.certificate.bind", target)
    assert other.http.get(f"{IDENTITIES}/{web.identity.id}").status_code == 404
    # Nor to itself from a profile it is not granted, nor a certificate of such a profile.
    unknown = _bind_csr(other, other.identity.id)
    assert unknown.status_code == 404, unknown.text
    assert unknown.json()["message"] == "no certificate profile with slug or id 'default'"
    web_own = issue(web.http, commonName=_name(), extendedKeyUsages=["client_auth"])
    stolen = other.http.post(
        f"{IDENTITIES}/{other.identity.id}/certificates",
        json={"certificate": web_own["certificate"]["certificate"]},
    )
    assert stolen.status_code == 404
    assert stolen.json()["message"] == "the certificate was not issued by this server"

    # Itself, from its own profile: it logs in as itself. An admin binds to anyone.
    key = new_key()
    mine = other.http.post(
        f"{IDENTITIES}/{other.identity.id}/certificates",
        json={"csr": csr_pem(key, _name()), "profileId": "eab", "ttl": OK_TTL},
    )
    assert mine.status_code == 201, mine.text
    body = mine.json()["certificate"]
    logged_in = post_proof(
        server, LOGIN, key, chain_of(body["certificate"] + body["certificateChain"])
    )
    assert logged_in.status_code == 200, logged_in.text
    assert _bind_csr(admin, web.identity.id).status_code == 201
    # A login credential's key never leaves, even when the server made it: bound, a managed
    # client certificate is no longer exportable by anyone (its key would log in as it).
    managed = issue(
        other.http, profile="eab", commonName=_name(), extendedKeyUsages=["client_auth"]
    )
    bound = other.http.post(
        f"{IDENTITIES}/{other.identity.id}/certificates",
        json={"certificate": managed["certificate"]["certificate"]},
    )
    assert bound.status_code == 201, bound.text
    credential = f"{CERTS}/{managed['certificate']['certificateId']}"
    for who in (other, admin):
        _assert_forbidden(
            who.http.post(credential + "/export", json={"format": "pem"}),
            "certificate.export",
            "login credential",
        )
        assert who.http.get(credential + "/bundle").json()["privateKey"] is None
    shown = admin.http.get(f"{IDENTITIES}/{web.identity.id}").json()["identity"]
    assert (shown["role"], shown["allProfiles"], shown["profiles"]) == (
        "issuer",
        False,
        ["default"],
    )


def test_role_and_grant_changes_apply_to_live_tokens(
    server: AcmeServer, web: Caller, other: Caller
) -> None:
    theirs = _issued(other, "eab")
    _assert_missing(web.http.get(f"{CERTS}/{theirs['id']}"), theirs["id"])
    eab = with_services(server, lambda s: grants.profile_ids(s, ["eab"]))
    with_services(server, lambda s: grants.grant(s, web.identity.id, eab, actor="test"))
    assert web.http.get(f"{CERTS}/{theirs['id']}").status_code == 200
    with_services(server, lambda s: grants.set_role(s, web.identity.id, "auditor", actor="test"))
    _assert_forbidden(web.http.get(f"{CERTS}/{theirs['id']}"), "certificate.read", "auditor")
    assert web.http.get(AUDIT).status_code == 200


def test_identities_are_managed_over_rest_by_admins_only(
    server: AcmeServer, web: Caller, admin: Caller
) -> None:
    _assert_forbidden(
        web.http.post(IDENTITIES, json={"name": "x", "role": "admin"}), "identity.manage"
    )
    _assert_forbidden(web.http.get(IDENTITIES), "identity.manage")
    no_grants = admin.http.post(IDENTITIES, json={"name": "ci", "role": "issuer"})
    assert no_grants.status_code == 400
    assert "profiles" in no_grants.json()["message"]
    unknown = admin.http.post(
        IDENTITIES, json={"name": "ci", "role": "issuer", "profiles": ["nope"]}
    )
    assert unknown.status_code == 404 and "nope" in unknown.json()["message"]
    bad_role = admin.http.post(IDENTITIES, json={"name": "ci", "role": "root"})
    assert bad_role.status_code == 400 and "role" in bad_role.json()["message"]

    created = admin.http.post(
        IDENTITIES, json={"name": "ci", "role": "issuer", "profiles": ["eab"]}
    )
    assert created.status_code == 201, created.text
    made = created.json()["identity"]
    assert (made["role"], made["allProfiles"], made["profiles"]) == ("issuer", False, ["eab"])
    with _client(server, login(server, made["clientId"], made["clientSecret"])) as ci:
        wanted = {"commonName": _name()}
        assert (
            ci.post(CERTS, json={"profileId": "default", "attributes": wanted}).status_code == 404
        )
        grown = admin.http.post(f"{IDENTITIES}/{made['id']}/grants", json={"profiles": ["default"]})
        assert grown.json()["identity"]["profiles"] == ["default", "eab"]
        assert issue(ci, profile="default", commonName=_name())
        shrunk = admin.http.delete(f"{IDENTITIES}/{made['id']}/grants/eab")
        assert shrunk.json()["identity"]["profiles"] == ["default"]
        every = admin.http.post(f"{IDENTITIES}/{made['id']}/grants", json={"allProfiles": True})
        assert every.json()["identity"]["allProfiles"] is True
        narrowed = admin.http.patch(f"{IDENTITIES}/{made['id']}", json={"role": "reader"})
        assert narrowed.json()["identity"]["role"] == "reader"
        assert ci.post(CERTS, json={"profileId": "eab", "attributes": wanted}).status_code == 403
        disabled = admin.http.patch(f"{IDENTITIES}/{made['id']}", json={"disabled": True})
        assert disabled.json()["identity"]["disabled"] is True
        assert ci.get(CERTS).status_code == 401
    listed = admin.http.get(IDENTITIES).json()["identities"]
    assert made["id"] in {i["id"] for i in listed}
    assert made["clientSecret"] not in admin.http.get(IDENTITIES).text
