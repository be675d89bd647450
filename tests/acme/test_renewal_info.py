"""RFC 9773 ACME Renewal Information against the real server, on both backends: the
directory's renewalInfo, suggested windows (inside the profile's renew-before window, in
the past once revoked), problem documents for bad certIDs, and newOrder's `replaces`."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from acme_server.services.context import Services
from pki_types.model import RevocationReason
from store import CertificateRecord
from testkit.acme_client import AcmeClient, b64
from testkit.flows import authorize, issue, make_csr, poll
from testkit.in_process_server import AcmeServer

T = TypeVar("T")
ERR = "urn:ietf:params:acme:error:"
DEFAULT_RENEW_BEFORE = timedelta(days=30)  # the default profile (services/bootstrap.py)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def cert_id(pem: str) -> str:
    """RFC 9773 4.1, computed here independently of the server's code."""
    leaf = x509.load_pem_x509_certificates(pem.encode())[0]
    aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier is not None
    serial = leaf.serial_number
    der = serial.to_bytes((serial.bit_length() + 8) // 8, "big")
    return f"{_b64(aki.key_identifier)}.{_b64(der)}"


def leaf_of(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificates(pem.encode())[0]


def with_services(server: AcmeServer, work: Callable[[Services], Awaitable[T]]) -> T:
    async def run() -> T:
        services = await Services.open(server.settings, migrate=False)
        try:
            return await work(services)
        finally:
            await services.close()

    return server.loop.run(run())


def record_of(server: AcmeServer, pem: str) -> CertificateRecord:
    serial = format(leaf_of(pem).serial_number, "x")
    return with_services(server, lambda s: s.store.get_certificate_by_serial(serial))


def renewal_info(client: AcmeClient, certid: str) -> httpx.Response:
    return client.http.get(f"{client.directory['renewalInfo']}/{certid}")


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_rfc9773_s3_directory_names_renewal_info(account: AcmeClient) -> None:
    url = account.directory["renewalInfo"]
    assert url.startswith(account.directory["newOrder"].rsplit("/", 1)[0])


def test_rfc9773_s4_window_is_inside_the_renew_before_window(
    server: AcmeServer, account: AcmeClient
) -> None:
    name = f"ari-{uuid.uuid4().hex[:8]}.example.com"
    _, pem = issue(server, account, name)
    response = renewal_info(account, cert_id(pem))

    assert response.status_code == 200, response.text
    window = response.json()["suggestedWindow"]
    start, end = when(window["start"]), when(window["end"])
    not_after = leaf_of(pem).not_valid_after_utc
    assert not_after - DEFAULT_RENEW_BEFORE - timedelta(seconds=1) <= start < end <= not_after
    assert start > datetime.now(UTC)  # a fresh 90-day certificate is not due yet
    retry = int(response.headers["Retry-After"])
    assert 60 <= retry <= 6 * 3600
    assert response.headers["Link"].endswith('rel="index"')


def test_rfc9773_s4_a_revoked_certificate_is_due_at_once(
    server: AcmeServer, account: AcmeClient
) -> None:
    name = f"ari-revoked-{uuid.uuid4().hex[:8]}.example.com"
    _, pem = issue(server, account, name)
    record = record_of(server, pem)
    with_services(
        server,
        lambda s: s.store.revoke_certificate(
            record.id, reason=RevocationReason.KEY_COMPROMISE, revoked_at=datetime.now(UTC)
        ),
    )

    response = renewal_info(account, cert_id(pem))

    assert response.status_code == 200, response.text
    window = response.json()["suggestedWindow"]
    assert when(window["start"]) < when(window["end"]) <= datetime.now(UTC)


@pytest.mark.parametrize(
    ("certid", "why"),
    [
        ("no-dot-here", "certID"),
        ("a.b.c", "certID"),
        ("aYhba4dGQEHhs3uEe6CuLN4ByNQ.!!", "base64url"),
        ("aYhba4dGQEHhs3uEe6CuLN4ByNQ.gA", "positive"),  # 0x80: a negative INTEGER
        ("aYhba4dGQEHhs3uEe6CuLN4ByNQ.AAE", "positive"),  # a needless leading zero
        ("aYhba4dGQEHhs3uEe6CuLN4ByNQ=.AIdlQyE", "base64url"),  # padding is not allowed
        # the bytes of AIdlQyE with stray low bits: one certID must have one spelling
        ("aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyF", "base64url"),
    ],
)
def test_rfc9773_s4_1_a_malformed_cert_id_is_a_malformed_problem(
    account: AcmeClient, certid: str, why: str
) -> None:
    response = renewal_info(account, certid)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"] == ERR + "malformed"
    assert why in problem["detail"]


def test_rfc9773_s4_1_an_unknown_certificate_is_404(
    server: AcmeServer, account: AcmeClient
) -> None:
    _, pem = issue(server, account, f"ari-known-{uuid.uuid4().hex[:8]}.example.com")
    key_id = cert_id(pem).split(".")[0]
    for unknown in (f"{key_id}.AIdlQyE", f"{_b64(b'other key id')}.{cert_id(pem).split('.')[1]}"):
        response = renewal_info(account, unknown)
        assert response.status_code == 404, response.text
        assert response.json()["type"] == ERR + "malformed"


def _order(client: AcmeClient, name: str, **extra: Any) -> httpx.Response:
    return client.new_order(name, **extra)


def _finalize(server: AcmeServer, client: AcmeClient, response: httpx.Response, name: str) -> str:
    assert response.status_code == 201, response.text
    order_url = response.headers["Location"]
    authorize(server, client, response.json())
    ready = poll(client, order_url, ("ready", "invalid"))
    assert ready["status"] == "ready", ready
    done = client.post(ready["finalize"], {"csr": b64(make_csr(name))})
    assert done.status_code == 200, done.text
    order = poll(client, order_url, ("valid", "invalid"))
    assert order["status"] == "valid", order
    chain = client.get(order["certificate"])
    assert chain.status_code == 200
    return chain.text


def test_rfc9773_s5_replaces_marks_the_old_certificate_replaced(
    server: AcmeServer, account: AcmeClient
) -> None:
    name = f"ari-replace-{uuid.uuid4().hex[:8]}.example.com"
    _, old_pem = issue(server, account, name)
    old_id = cert_id(old_pem)

    first = _order(account, name, replaces=old_id)
    assert first.status_code == 201, first.text
    assert first.json()["replaces"] == old_id
    rival = _order(account, name, replaces=old_id)
    assert rival.status_code == 409, rival.text
    assert rival.json()["type"] == ERR + "alreadyReplaced"

    new_pem = _finalize(server, account, first, name)

    old, new = record_of(server, old_pem), record_of(server, new_pem)
    assert (old.renewed_by_id, new.renewed_from_id) == (new.id, old.id)
    again = _order(account, name, replaces=old_id)
    assert again.status_code == 409
    assert again.json()["type"] == ERR + "alreadyReplaced"
    assert "already replaced" in again.json()["detail"]


def test_rfc9773_s5_replaces_is_checked(server: AcmeServer, account: AcmeClient) -> None:
    name = f"ari-check-{uuid.uuid4().hex[:8]}.example.com"
    _, pem = issue(server, account, name)
    certid = cert_id(pem)

    unrelated = _order(account, f"other-{uuid.uuid4().hex[:8]}.example.com", replaces=certid)
    assert unrelated.status_code == 400
    assert unrelated.json()["type"] == ERR + "malformed"
    assert "shares no identifier" in unrelated.json()["detail"]

    for bad, status in (("nonsense", 400), (f"{certid.split('.')[0]}.AIdlQyE", 400), (7, 400)):
        response = _order(account, name, replaces=bad)
        assert response.status_code == status, response.text
        assert response.json()["type"] == ERR + "malformed"

    # Another account, with no authorization for the name, may not replace it.
    with server.http() as http:
        stranger = AcmeClient(http, server.directory_url, ec.generate_private_key(ec.SECP256R1()))
        assert stranger.new_account().status_code == 201
        refused = _order(stranger, name, replaces=certid)
        assert refused.status_code == 403, refused.text
        assert refused.json()["type"] == ERR + "unauthorized"
