"""Client-certificate login (proof of possession), its refusals, and the credential
standing the login and GET /api/v1/identities/{id} report, over real HTTP."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from acme_server.cli.main import cli
from acme_server.services.certificates import revocation
from acme_server.services.certificates.enrollment import EnrollRequest, enroll
from acme_server.services.identities import tokens as identities
from acme_server.settings import SettingsError, load_settings
from agent.cert_auth import sign_proof
from ca_core.serials import serial_to_hex
from pki_types.model import RevocationReason
from testkit.in_process_server import AcmeServer
from testkit.postgres import BACKENDS
from tests.rest.cert_auth_support import (
    EXPIRING_TTL,
    LOGIN,
    PERIODS,
    ROTATE,
    WARNING_TTL,
    cert_auth_server,
    csr_pem,
    issue_bound,
    new_key,
    post_proof,
    store_record,
)
from tests.rest.conftest import bearer_client, create_identity, with_services


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AcmeServer]:
    data_dir = tmp_path_factory.mktemp("certauth") / "data"
    with cert_auth_server(data_dir, request.param) as running:
        yield running


def refused(response: httpx.Response) -> str:
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["error"] == "Unauthorized"
    message: str = body["message"]
    return message


def test_login_with_a_bound_certificate(server: AcmeServer) -> None:
    identity, _ = create_identity(server)
    key, chain = issue_bound(server, identity.id)

    response = post_proof(server, LOGIN, key, chain)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["tokenType"] == "Bearer" and body["accessToken"].startswith("kms_")
    assert body["expiresIn"] == 3600
    assert body["credentialState"] == "ok"
    not_after = chain[0].not_valid_after_utc
    assert body["credentialNotAfter"] == not_after.isoformat().replace("+00:00", "Z")
    rotate_by = datetime.fromisoformat(body["rotateBy"])
    assert rotate_by == not_after - timedelta(hours=1)
    assert response.headers["cache-control"] == "no-store"
    auth = {"Authorization": f"Bearer {body['accessToken']}"}
    with httpx.Client(base_url=server.base_url, timeout=30, headers=auth) as http:
        shown = http.get(f"/api/v1/identities/{identity.id}")
    assert shown.status_code == 200, shown.text
    [credential] = shown.json()["identity"]["certificates"]
    assert credential["credentialState"] == "ok"
    assert credential["status"] == "active"
    assert credential["serialNumber"] == serial_to_hex(chain[0].serial_number)


def test_the_compact_serialization_is_accepted(server: AcmeServer) -> None:
    identity, _ = create_identity(server)
    key, chain = issue_bound(server, identity.id)
    proof = sign_proof(key, chain, server.base_url + LOGIN)
    compact = ".".join(proof[name] for name in ("protected", "payload", "signature"))
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        response = http.post(LOGIN, content=compact, headers={"Content-Type": "application/jose"})
    assert response.status_code == 200, response.text


def test_a_signature_by_another_key_is_refused(server: AcmeServer) -> None:
    identity, _ = create_identity(server)
    _, chain = issue_bound(server, identity.id)
    assert "signature is invalid" in refused(post_proof(server, LOGIN, new_key(), chain))


def test_an_unbound_certificate_is_refused(server: AcmeServer) -> None:
    identity, _ = create_identity(server)
    key, chain = issue_bound(server, identity.id)
    loose_key = new_key()
    enrolled = with_services(
        server,
        lambda s: enroll(
            s,
            EnrollRequest(
                profile_ref="default",
                csr_pem=csr_pem(loose_key),
                ttl="3d",
                extended_key_usages=("client_auth",),
            ),
        ),
    )
    loose = [enrolled.issued.certificate, *enrolled.issued.chain]
    message = refused(post_proof(server, LOGIN, loose_key, loose))
    assert message == "the client certificate is not bound to a machine identity"
    assert post_proof(server, LOGIN, key, chain).status_code == 200


def test_a_certificate_of_an_unknown_ca_is_refused(server: AcmeServer) -> None:
    ca_key, leaf_key = new_key(), new_key()
    now = datetime.now(UTC)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Stranger CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "machine.test")]))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(ca_key, hashes.SHA256())
    )
    message = refused(post_proof(server, LOGIN, leaf_key, [leaf, ca]))
    assert message == "the client certificate was not issued by a CA of this server"


def test_a_revoked_certificate_is_refused(server: AcmeServer) -> None:
    identity, _ = create_identity(server)
    key, chain = issue_bound(server, identity.id)
    record = store_record(server, chain[0])
    with_services(server, lambda s: revocation.revoke(s, record, RevocationReason.KEY_COMPROMISE))
    assert refused(post_proof(server, LOGIN, key, chain)).endswith("is revoked")


def test_a_disabled_identity_is_refused(server: AcmeServer) -> None:
    identity, _ = create_identity(server)
    key, chain = issue_bound(server, identity.id)
    with_services(server, lambda s: identities.disable_identity(s, identity.id, actor="test"))
    assert refused(post_proof(server, LOGIN, key, chain)) == "the machine identity is disabled"


def test_a_stale_or_future_iat_is_refused(server: AcmeServer) -> None:
    identity, _ = create_identity(server)
    key, chain = issue_bound(server, identity.id)
    for iat in (int(time.time()) - 600, int(time.time()) + 600):
        message = refused(post_proof(server, LOGIN, key, chain, iat=iat))
        assert "iat" in message and "sign a fresh proof" in message


def test_a_proof_for_another_url_is_refused(server: AcmeServer) -> None:
    identity, _ = create_identity(server)
    key, chain = issue_bound(server, identity.id)
    for url in (server.base_url + ROTATE, "http://elsewhere.test" + LOGIN):
        message = refused(post_proof(server, LOGIN, key, chain, url=url))
        assert message == f"the proof's url must be {server.base_url}{LOGIN}"


def test_a_proof_is_good_for_one_request(server: AcmeServer) -> None:
    identity, _ = create_identity(server)
    key, chain = issue_bound(server, identity.id)
    proof = json.dumps(sign_proof(key, chain, server.base_url + LOGIN))
    headers = {"Content-Type": "application/jose+json"}
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        assert http.post(LOGIN, content=proof, headers=headers).status_code == 200
        replayed = http.post(LOGIN, content=proof, headers=headers)
        twin = http.post(LOGIN, content=json.dumps(_twin(json.loads(proof))), headers=headers)
    assert refused(replayed) == "this proof was used before: sign a new one for every request"
    # ECDSA malleability: (r, n - s) verifies too, and is the same proof.
    assert refused(twin) == "this proof was used before: sign a new one for every request"


P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _twin(proof: dict[str, str]) -> dict[str, str]:
    """The same flattened ES256 proof with the other valid signature, (r, n - s)."""
    raw = base64.urlsafe_b64decode(proof["signature"] + "=" * (-len(proof["signature"]) % 4))
    r, s = raw[:32], int.from_bytes(raw[32:], "big")
    flipped = r + (P256_ORDER - s).to_bytes(32, "big")
    return {**proof, "signature": base64.urlsafe_b64encode(flipped).rstrip(b"=").decode()}


def test_a_malformed_proof_is_refused(server: AcmeServer) -> None:
    identity, _ = create_identity(server)
    key, chain = issue_bound(server, identity.id)
    proof = sign_proof(key, chain, server.base_url + LOGIN)
    header = json.loads(base64.urlsafe_b64decode(proof["protected"] + "=="))
    del header["x5c"]
    proof["protected"] = base64.urlsafe_b64encode(json.dumps(header).encode()).decode().rstrip("=")
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        response = http.post(
            LOGIN, content=json.dumps(proof), headers={"Content-Type": "application/jose+json"}
        )
        assert "x5c" in refused(response)
        wrong_type = http.post(LOGIN, content=b"{}", headers={"Content-Type": "text/plain"})
        assert wrong_type.status_code == 415


def test_the_warning_period_is_reported(server: AcmeServer) -> None:
    identity, _ = create_identity(server)
    key, chain = issue_bound(server, identity.id, ttl=WARNING_TTL)

    response = post_proof(server, LOGIN, key, chain)

    assert response.status_code == 200, response.text
    assert response.json()["credentialState"] == "warning"
    auth = {"Authorization": f"Bearer {response.json()['accessToken']}"}
    with httpx.Client(base_url=server.base_url, timeout=30, headers=auth) as http:
        shown = http.get(f"/api/v1/identities/{identity.id}").json()
    assert [c["credentialState"] for c in shown["identity"]["certificates"]] == ["warning"]


def test_inside_the_expiry_period_login_is_refused_but_rotation_works(
    server: AcmeServer,
) -> None:
    identity, _ = create_identity(server)
    key, chain = issue_bound(server, identity.id, ttl=EXPIRING_TTL)

    refusal = post_proof(server, LOGIN, key, chain)
    message = refused(refusal)
    day = chain[0].not_valid_after_utc.date().isoformat()
    assert message == (
        f"client certificate expires on {day}: rotate it before logging in (POST {ROTATE})"
    )
    details = refusal.json()["details"]
    assert details["reason"] == "rotation_required" and details["rotatePath"] == ROTATE
    assert details["credentialNotAfter"].startswith(day)

    new = new_key()
    rotated = post_proof(server, ROTATE, key, chain, {"csr": csr_pem(new)})
    assert rotated.status_code == 201, rotated.text
    body = rotated.json()
    assert body["state"] == "pending"
    new_chain = x509.load_pem_x509_certificates(
        (body["certificate"] + body["certificateChain"]).encode()
    )
    assert new_chain[0].public_key() == new.public_key()
    assert new_chain[0].issuer == chain[0].issuer
    usages = new_chain[0].extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH in usages
    login = post_proof(server, LOGIN, new, new_chain)
    assert login.status_code == 200, login.text
    assert login.json()["credentialState"] == "ok"


def _kms(server: AcmeServer, *args: str) -> Result:
    url = server.settings.database_url
    database = ["--database", url] if url else []
    periods = {f"KMS_{name.upper()}": value for name, value in PERIODS.items()}
    return CliRunner(env=periods).invoke(
        cli, [*args, "--data-dir", str(server.settings.data_dir), *database], catch_exceptions=False
    )


def test_cli_cert_issue_bind_and_list(server: AcmeServer, tmp_path: Path) -> None:
    identity, _ = create_identity(server)
    key = new_key()
    (tmp_path / "m.csr").write_text(csr_pem(key))
    out = tmp_path / "m.pem"

    issued = _kms(
        server, "identity", "cert-issue", "--identity", identity.client_id,
        "--profile", "default", "--csr-file", str(tmp_path / "m.csr"), "--out", str(out),
        "--ttl", WARNING_TTL,
    )  # fmt: skip

    assert issued.exit_code == 0, issued.output
    chain = x509.load_pem_x509_certificates(out.read_bytes())
    assert post_proof(server, LOGIN, key, chain).json()["credentialState"] == "warning"
    again = _kms(
        server, "identity", "cert-bind", "--identity", identity.id, "--cert-file", str(out)
    )
    assert again.exit_code == 2 and "is bound already" in again.output
    listed = _kms(server, "identity", "certs", identity.id, "--json")
    assert listed.exit_code == 0, listed.output
    [credential] = json.loads(listed.output)["certificates"]
    assert (credential["status"], credential["credentialState"]) == ("active", "warning")
    table = _kms(server, "identity", "certs", identity.id)
    assert "warning" in table.output


def test_cli_cert_bind_takes_a_certificate_of_this_server(
    server: AcmeServer, tmp_path: Path
) -> None:
    identity, _ = create_identity(server)
    loose_key = new_key()
    enrolled = with_services(
        server,
        lambda s: enroll(
            s,
            EnrollRequest(
                profile_ref="default",
                csr_pem=csr_pem(loose_key),
                ttl="3d",
                extended_key_usages=("client_auth",),
            ),
        ),
    )
    pem = tmp_path / "loose.pem"
    pem.write_text(enrolled.issued.record.certificate_pem)

    bound = _kms(
        server, "identity", "cert-bind", "--identity", identity.id, "--cert-file", str(pem)
    )

    assert bound.exit_code == 0, bound.output
    chain = [enrolled.issued.certificate, *enrolled.issued.chain]
    assert post_proof(server, LOGIN, loose_key, chain).status_code == 200
    (tmp_path / "junk.pem").write_text("not a certificate")
    junk = _kms(
        server, "identity", "cert-bind", "--identity", identity.id,
        "--cert-file", str(tmp_path / "junk.pem"),
    )  # fmt: skip
    assert junk.exit_code == 2 and "not a PEM certificate" in junk.output


def test_credential_period_settings() -> None:
    defaults = load_settings(env={})
    assert defaults.identity_cert_warning == timedelta(days=180)
    assert defaults.identity_cert_expiry == timedelta(days=30)
    assert defaults.identity_cert_revoke_old_on_rotation is True
    env = {"KMS_IDENTITY_CERT_WARNING_PERIOD": "2d", "KMS_IDENTITY_CERT_EXPIRY_PERIOD": "1d",
           "KMS_IDENTITY_CERT_REVOKE_OLD_ON_ROTATION": "false"}  # fmt: skip
    chosen = load_settings(env=env)
    assert (chosen.identity_cert_warning, chosen.identity_cert_expiry) == (
        timedelta(days=2),
        timedelta(days=1),
    )
    assert chosen.identity_cert_revoke_old_on_rotation is False
    with pytest.raises(SettingsError, match="identity_cert_expiry_period': must not be longer"):
        load_settings(env={"KMS_IDENTITY_CERT_EXPIRY_PERIOD": "200d"})
    with pytest.raises(SettingsError, match="identity_cert_warning_period"):
        load_settings(env={"KMS_IDENTITY_CERT_WARNING_PERIOD": "soon"})
    with pytest.raises(SettingsError, match="identity_cert_ttl': must be longer than"):
        load_settings(env={"KMS_IDENTITY_CERT_TTL": "90d"})  # the warning period is 180d


def test_rest_issues_and_binds_identity_certificates(server: AcmeServer) -> None:
    identity, _ = create_identity(server)
    with bearer_client(server, role="admin") as http:
        key = new_key()
        issued = http.post(
            f"/api/v1/identities/{identity.id}/certificates",
            json={"csr": csr_pem(key), "profileId": "default", "ttl": WARNING_TTL},
        )
        assert issued.status_code == 201, issued.text
        body = issued.json()["certificate"]
        assert (body["status"], body["credentialState"]) == ("active", "warning")
        chain = x509.load_pem_x509_certificates(
            (body["certificate"] + body["certificateChain"]).encode()
        )
        assert post_proof(server, LOGIN, key, chain).status_code == 200

        again = http.post(
            f"/api/v1/identities/{identity.client_id}/certificates",
            json={"certificate": body["certificate"]},
        )
        assert again.status_code == 409 and "is bound already" in again.json()["message"]
        both = http.post(
            f"/api/v1/identities/{identity.id}/certificates",
            json={"certificate": body["certificate"], "csr": csr_pem(key)},
        )
        assert both.status_code == 400
        assert both.json()["message"] == "give either csr (with profileId) or certificate"
        unknown = http.get("/api/v1/identities/no-such-identity")
        assert unknown.status_code == 404
