"""Internal CAs over REST: create root and intermediate, list, detail with PEM and chain,
disable (issuance refused) and enable, delete only while nothing refers to it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from acme_server.cli.main import cli
from acme_server.services.certificates.issuance import IssuedCertificate, IssueSpec, issue
from acme_server.services.context import Services
from acme_server.services.errors import ConflictError
from pki_types.model import HashAlgorithm, KeyAlgorithm, RequestMethod, SubjectAttributes
from testkit.in_process_server import AcmeServer
from tests.rest.conftest import bearer_client, with_services

CAS = "/api/v1/cert-manager/ca/internal"
POLICIES = "/api/v1/cert-manager/certificate-policies"
PROFILES = "/api/v1/cert-manager/certificate-profiles"


@pytest.fixture
def http(api: AcmeServer) -> Iterator[httpx.Client]:
    with bearer_client(api, role="admin") as client:
        yield client


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def error(response: httpx.Response, status: int, text: str) -> None:
    assert response.status_code == status, response.text
    assert text in response.json()["message"], response.json()["message"]


def create_ca(http: httpx.Client, **body: Any) -> dict[str, Any]:
    fields = {"type": "root", "name": unique("root"), "keyAlgorithm": "EC_P256", **body}
    response = http.post(CAS, json=fields)
    assert response.status_code == 201, response.text
    ca: dict[str, Any] = response.json()["ca"]
    return ca


def ca_names(http: httpx.Client) -> list[str]:
    return [ca["name"] for ca in http.get(CAS).json()["cas"]]


def create_profile(http: httpx.Client, ca_id: str) -> dict[str, Any]:
    policy = http.post(POLICIES, json={"name": unique("policy"), "rules": {}}).json()["policy"]
    response = http.post(
        PROFILES, json={"slug": unique("p"), "policyId": policy["id"], "caId": ca_id}
    )
    assert response.status_code == 201, response.text
    profile: dict[str, Any] = response.json()["profile"]
    return profile


def issue_on(api: AcmeServer, profile_id: str) -> IssuedCertificate:
    async def work(services: Services) -> IssuedCertificate:
        profile = await services.store.get_profile(profile_id)
        return await issue(
            services,
            profile,
            IssueSpec(
                subject=SubjectAttributes(common_name="a.example.test"),
                sans=(),
                key_usages=frozenset(),
                extended_key_usages=frozenset(),
                validity=timedelta(days=1),
                hash_algorithm=HashAlgorithm.SHA256,
                request_method=RequestMethod.API_MANAGED,
                key_algorithm=KeyAlgorithm.EC_P256,
            ),
        )

    return with_services(api, work)


def test_root_and_intermediate_round_trip(api: AcmeServer, http: httpx.Client) -> None:
    root = create_ca(
        http,
        name=unique("Ops Root"),
        subject={"commonName": "Ops Root CA", "organization": "Ops", "country": "de"},
        keyAlgorithm="RSA_2048",
        hashAlgorithm="SHA512",
        ttl="3650d",
    )
    assert root["type"] == "root" and root["parentCaId"] is None and root["status"] == "active"
    assert "CN=Ops Root CA" in root["subject"] and "C=DE" in root["subject"]
    assert root["keyAlgorithm"] == "RSA_2048" and root["hashAlgorithm"] == "SHA512"
    assert root["crlDistributionUrl"] == f"{api.base_url}/pki/crl/{root['id']}.crl"
    assert root["aiaIssuerUrl"] == f"{api.base_url}/pki/ca/{root['id']}.crt"
    root_cert = x509.load_pem_x509_certificate(root["certificate"].encode())
    assert isinstance(root_cert.public_key(), rsa.RSAPublicKey)

    inter = create_ca(
        http, type="intermediate", name=unique("Ops Issuing"), parentCaId=root["id"], ttl="365d"
    )
    assert inter["parentCaId"] == root["id"] and inter["type"] == "intermediate"
    inter_cert = x509.load_pem_x509_certificate(inter["certificate"].encode())
    assert isinstance(inter_cert.public_key(), ec.EllipticCurvePublicKey)
    inter_cert.verify_directly_issued_by(root_cert)
    chain = x509.load_pem_x509_certificates(inter["certificateChain"].encode())
    assert chain == [root_cert]
    assert inter["subject"] == f"CN={inter['name']}"  # the common name defaults to the name

    detail = http.get(f"{CAS}/{inter['id']}").json()["ca"]
    assert detail == inter
    assert http.get(f"{CAS}/{inter['name']}").json()["ca"]["id"] == inter["id"]  # by name
    listed = {ca["id"]: ca for ca in http.get(CAS).json()["cas"]}
    assert listed[root["id"]]["name"] == root["name"]
    assert "certificate" not in listed[root["id"]]  # the list carries no PEM
    assert listed[inter["id"]]["notAfter"] == inter["notAfter"]


def test_disabled_ca_issues_nothing_until_enabled(api: AcmeServer, http: httpx.Client) -> None:
    ca = create_ca(http)
    profile = create_profile(http, ca["id"])
    url = f"{CAS}/{ca['id']}"

    disabled = http.patch(url, json={"status": "disabled"})
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["ca"]["status"] == "disabled"
    assert http.get(url).json()["ca"]["status"] == "disabled"
    with pytest.raises(ConflictError, match="is disabled"):
        issue_on(api, profile["id"])
    error(
        http.post(CAS, json={"type": "intermediate", "name": unique("i"), "parentCaId": ca["id"]}),
        409,
        "not active",
    )

    enabled = http.patch(url, json={"status": "active"})
    assert enabled.json()["ca"]["status"] == "active"
    assert issue_on(api, profile["id"]).record.ca_id == ca["id"]

    error(http.patch(url, json={"status": "retired"}), 400, "status must be one of")
    error(http.patch(url, json={}), 400, "status is required")
    error(http.patch(url, json={"status": "disabled", "name": "x"}), 400, "unknown field 'name'")
    assert http.get(url).json()["ca"]["status"] == "active"


def test_delete_is_refused_while_anything_refers_to_the_ca(
    api: AcmeServer, http: httpx.Client
) -> None:
    root = create_ca(http)
    inter = create_ca(http, type="intermediate", name=unique("i"), parentCaId=root["id"])
    profile = create_profile(http, inter["id"])

    error(http.delete(f"{CAS}/{root['id']}"), 409, "child CA")
    error(http.delete(f"{CAS}/{inter['id']}"), 409, "profile")
    assert http.delete(f"{PROFILES}/{profile['id']}").status_code == 200

    deleted = http.delete(f"{CAS}/{inter['id']}")
    assert deleted.status_code == 200, deleted.text
    error(http.get(f"{CAS}/{inter['id']}"), 404, "no certificate authority")
    assert http.delete(f"{CAS}/{root['id']}").status_code == 200
    assert root["name"] not in ca_names(http)


def test_ca_that_issued_can_only_be_disabled(api: AcmeServer, http: httpx.Client) -> None:
    ca = create_ca(http)
    profile = create_profile(http, ca["id"])
    issue_on(api, profile["id"])
    assert http.delete(f"{PROFILES}/{profile['id']}").status_code == 200

    error(http.delete(f"{CAS}/{ca['id']}"), 409, "1 certificate(s); disable it instead")
    assert http.get(f"{CAS}/{ca['id']}").status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "x"}, "type is required"),
        ({"type": "sub", "name": "x"}, "type must be 'root' or 'intermediate'"),
        ({"type": "root"}, "name is required"),
        ({"type": "root", "name": ""}, "name must be 1-255 characters"),
        ({"type": "root", "name": 7}, "name must be a string"),
        ({"type": "root", "name": "x", "keyAlgorithm": "DSA_1024"}, "keyAlgorithm"),
        ({"type": "root", "name": "x", "hashAlgorithm": "MD5"}, "hashAlgorithm"),
        ({"type": "root", "name": "x", "ttl": "forever"}, "ttl: invalid TTL"),
        ({"type": "root", "name": "x", "subject": "CN=x"}, "subject must be an object"),
        ({"type": "root", "name": "x", "subject": {"country": "USA"}}, "subject: invalid country"),
        ({"type": "root", "name": "x", "subject": {"CN": "x"}}, "subject: unknown field 'CN'"),
        ({"type": "root", "name": "x", "subject": {"state": 1}}, "subject.state must be"),
        ({"type": "root", "name": "x" * 65}, "subject: subject common_name is 65 characters"),
        ({"type": "root", "name": "x", "parentCaId": "p"}, "parentCaId is only for intermediate"),
        ({"type": "intermediate", "name": "x"}, "parentCaId is required"),
        ({"type": "intermediate", "name": "x", "parentCaId": "nope"}, "parentCaId: no cert"),
        ({"type": "root", "name": "x", "key_algorithm": "EC_P256"}, "unknown field"),
    ],
)
def test_wrong_fields_are_400_naming_the_field(
    http: httpx.Client, body: dict[str, Any], message: str
) -> None:
    before = ca_names(http)
    error(http.post(CAS, json=body), 400, message)
    assert ca_names(http) == before


def test_bad_bodies_change_nothing(http: httpx.Client) -> None:
    before = ca_names(http)
    headers = {"Content-Type": "application/json"}
    error(http.post(CAS, content=b"{'type': 'root'}", headers=headers), 400, "not valid JSON")
    assert (
        http.post(CAS, content=b"type=root", headers={"Content-Type": "text/plain"}).status_code
        == 415
    )
    huge = {"type": "root", "name": "huge", "subject": {"locality": "x" * (300 * 1024)}}
    assert http.post(CAS, json=huge).status_code == 413
    assert ca_names(http) == before


def test_duplicate_name_is_409(http: httpx.Client) -> None:
    ca = create_ca(http)
    error(http.post(CAS, json={"type": "root", "name": ca["name"]}), 409, "already exists")


def test_unknown_ca_is_404(http: httpx.Client) -> None:
    missing = f"{CAS}/{uuid.uuid4()}"
    error(http.get(missing), 404, "no certificate authority")
    error(http.patch(missing, json={"status": "disabled"}), 404, "no certificate authority")
    error(http.delete(missing), 404, "no certificate authority")


def test_without_a_token_every_route_is_401(api: AcmeServer, http: httpx.Client) -> None:
    ca = http.get(CAS).json()["cas"][0]
    with httpx.Client(base_url=api.base_url, timeout=30) as anonymous:
        one = f"{CAS}/{ca['id']}"
        for response in (
            anonymous.get(CAS),
            anonymous.post(CAS, json={"type": "root", "name": "sneaky"}),
            anonymous.get(one),
            anonymous.patch(one, json={"status": "disabled"}),
            anonymous.delete(one),
        ):
            assert response.status_code == 401, response.text
    assert http.get(f"{CAS}/{ca['id']}").json()["ca"]["status"] == "active"
    assert "sneaky" not in ca_names(http)


def test_writes_are_audited(http: httpx.Client) -> None:
    ca = create_ca(http)
    http.patch(f"{CAS}/{ca['id']}", json={"status": "disabled"})
    http.patch(f"{CAS}/{ca['id']}", json={"status": "disabled"})  # no change, no entry
    http.delete(f"{CAS}/{ca['id']}")
    entries = http.get("/api/v1/audit-logs", params={"targetId": ca["id"]}).json()["auditLogs"]
    assert sorted(e["action"] for e in entries) == ["ca.create", "ca.delete", "ca.update"]
    assert all(e["targetType"] == "ca" for e in entries)


def test_the_cli_prints_the_rest_document(api: AcmeServer, http: httpx.Client) -> None:
    """`kms ca show/list --json` print what GET /ca/internal/{id} answers (one renderer)."""
    root = create_ca(http)
    inter = create_ca(http, type="intermediate", parentCaId=root["id"], name=unique("inter"))
    database = ["--database", api.settings.database_url] if api.settings.database_url else []
    where = ["--data-dir", str(api.settings.data_dir), *database]

    def kms_json(*args: str) -> Any:
        result = CliRunner().invoke(cli, [*args, *where, "--json"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    for ca in (root, inter):
        rest = http.get(f"{CAS}/{ca['id']}").json()["ca"]
        assert kms_json("ca", "show", ca["id"]) == rest
        assert next(c for c in kms_json("ca", "list") if c["id"] == ca["id"]) == rest
    assert kms_json("ca", "show", inter["id"])["parentCaId"] == root["id"]
