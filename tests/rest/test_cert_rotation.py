"""Rotation of a client certificate: the new one is pending until its first login, the old
one is revoked (superseded) on that login and not before, and replays are harmless."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from acme_server.services.identities import client_certs as identity_certificates
from testkit.in_process_server import AcmeServer
from testkit.postgres import BACKENDS
from tests.rest.cert_auth_support import (
    LOGIN,
    ROTATE,
    WARNING_TTL,
    cert_auth_server,
    csr_pem,
    issue_bound,
    new_key,
    post_proof,
    store_record,
)
from tests.rest.conftest import create_identity, with_services


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AcmeServer]:
    data_dir = tmp_path_factory.mktemp("certrotate") / "data"
    with cert_auth_server(data_dir, request.param) as running:
        yield running


def rotated_chain(response: httpx.Response) -> list[x509.Certificate]:
    assert response.status_code == 201, response.text
    body = response.json()
    return x509.load_pem_x509_certificates(
        (body["certificate"] + body["certificateChain"]).encode()
    )


def states(server: AcmeServer, identity_id: str) -> list[tuple[str, str]]:
    _, found = with_services(
        server, lambda s: identity_certificates.list_credentials(s, identity_id)
    )
    return [(binding.serial_hex, binding.state) for binding, _ in found]


def test_the_old_certificate_is_revoked_on_the_new_ones_first_login(
    server: AcmeServer,
) -> None:
    identity, _ = create_identity(server)
    key, chain = issue_bound(server, identity.id, ttl=WARNING_TTL)
    new = new_key()
    new_chain = rotated_chain(post_proof(server, ROTATE, key, chain, {"csr": csr_pem(new)}))
    old_serial = store_record(server, chain[0]).serial_hex
    new_serial = store_record(server, new_chain[0]).serial_hex
    assert states(server, identity.id) == [(old_serial, "active"), (new_serial, "pending")]

    # Not before: the old certificate still logs in while the new one is unused.
    assert post_proof(server, LOGIN, key, chain).status_code == 200
    assert store_record(server, chain[0]).status == "active"

    first = post_proof(server, LOGIN, new, new_chain)
    assert first.status_code == 200, first.text

    assert states(server, identity.id) == [(old_serial, "revoked"), (new_serial, "active")]
    old_record = store_record(server, chain[0])
    assert (old_record.status, old_record.revocation_reason) == ("revoked", "SUPERSEDED")
    message = post_proof(server, LOGIN, key, chain).json()["message"]
    assert message == f"the client certificate {old_serial} is revoked"
    assert post_proof(server, LOGIN, new, new_chain).status_code == 200


def test_replaying_a_rotation_answers_the_same_certificate(server: AcmeServer) -> None:
    identity, _ = create_identity(server)
    key, chain = issue_bound(server, identity.id, ttl=WARNING_TTL)
    new = new_key()
    der = x509.load_pem_x509_csr(csr_pem(new).encode()).public_bytes(serialization.Encoding.DER)
    as_der = base64.urlsafe_b64encode(der).rstrip(b"=").decode()

    first = rotated_chain(post_proof(server, ROTATE, key, chain, {"csr": as_der}))
    again = rotated_chain(post_proof(server, ROTATE, key, chain, {"csr": as_der}))

    assert first[0] == again[0]
    assert len(states(server, identity.id)) == 2


def test_a_second_rotation_with_a_new_key_withdraws_the_unused_one(server: AcmeServer) -> None:
    identity, _ = create_identity(server)
    key, chain = issue_bound(server, identity.id, ttl=WARNING_TTL)
    lost = rotated_chain(post_proof(server, ROTATE, key, chain, {"csr": csr_pem(new_key())}))
    new = new_key()
    kept = rotated_chain(post_proof(server, ROTATE, key, chain, {"csr": csr_pem(new)}))

    assert store_record(server, lost[0]).status == "revoked"
    assert [state for _, state in states(server, identity.id)] == ["active", "revoked", "pending"]
    assert post_proof(server, LOGIN, new, kept).status_code == 200


def test_rotation_needs_a_csr_and_a_valid_proof(server: AcmeServer) -> None:
    identity, _ = create_identity(server)
    key, chain = issue_bound(server, identity.id)
    missing = post_proof(server, ROTATE, key, chain, {})
    assert missing.status_code == 400
    assert missing.json()["message"] == "the payload needs csr: a PEM or base64url DER CSR"
    garbage = post_proof(server, ROTATE, key, chain, {"csr": "bm90IGEgY3Ny"})
    assert garbage.status_code == 400
    forged = post_proof(server, ROTATE, new_key(), chain, {"csr": csr_pem(new_key())})
    assert forged.status_code == 401
    login_proof = post_proof(
        server, ROTATE, key, chain, {"csr": csr_pem(new_key())}, url=server.base_url + LOGIN
    )
    assert login_proof.status_code == 401
    assert len(states(server, identity.id)) == 1


def test_without_revoke_on_rotation_the_old_certificate_stays_valid(tmp_path: Path) -> None:
    with cert_auth_server(
        tmp_path / "data", "sqlite", identity_cert_revoke_old_on_rotation=False
    ) as running:
        identity, _ = create_identity(running)
        key, chain = issue_bound(running, identity.id, ttl=WARNING_TTL)
        new = new_key()
        new_chain = rotated_chain(post_proof(running, ROTATE, key, chain, {"csr": csr_pem(new)}))
        assert post_proof(running, LOGIN, new, new_chain).status_code == 200
        assert [state for _, state in states(running, identity.id)] == ["active", "active"]
        assert post_proof(running, LOGIN, key, chain).status_code == 200


def test_a_rotation_keeps_the_names_takes_a_new_key_and_starts_from_the_active_one(
    server: AcmeServer,
) -> None:
    identity, _ = create_identity(server)
    key, chain = issue_bound(server, identity.id, ttl=WARNING_TTL)
    other_name = post_proof(server, ROTATE, key, chain, {"csr": csr_pem(new_key(), "else.test")})
    assert other_name.status_code == 400, other_name.text
    message = other_name.json()["message"]
    assert "must ask for the current certificate's subject and names" in message
    same_key = post_proof(server, ROTATE, key, chain, {"csr": csr_pem(key)})
    assert same_key.status_code == 400, same_key.text
    assert same_key.json()["message"] == "the CSR must carry a new key, not the current one"

    new = new_key()
    new_chain = rotated_chain(post_proof(server, ROTATE, key, chain, {"csr": csr_pem(new)}))
    from_pending = post_proof(server, ROTATE, new, new_chain, {"csr": csr_pem(new_key())})
    assert from_pending.status_code == 409, from_pending.text
    assert "log in with it before rotating again" in from_pending.json()["message"]
    # The new certificate has the server's identity-certificate lifetime, not the old one's.
    lifetime = new_chain[0].not_valid_after_utc - new_chain[0].not_valid_before_utc
    assert lifetime.days >= 364
