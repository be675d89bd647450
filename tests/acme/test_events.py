"""ACME issuance and revokeCert publish the domain events (services/events.py) with the
certificate's facts, on the running server's own bus."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from acme_server.services.context import Services
from acme_server.services.events import CertificateIssued, CertificateRevoked
from pki_types.model import RequestMethod, RevocationReason
from store import CertificateRecord, ProfileRecord
from testkit.acme_client import AcmeClient, b64
from testkit.flows import issue
from testkit.in_process_server import AcmeServer


def _stored(server: AcmeServer, cert_id: str) -> tuple[CertificateRecord, ProfileRecord]:
    async def read() -> tuple[CertificateRecord, ProfileRecord]:
        services = await Services.open(server.settings, migrate=False)
        try:
            return (
                await services.store.get_certificate(cert_id),
                await services.store.get_profile_by_slug("default"),
            )
        finally:
            await services.close()

    return server.loop.run(read())


def test_finalize_publishes_issued_and_revoke_cert_publishes_revoked(
    server: AcmeServer, account: AcmeClient
) -> None:
    with server.events() as seen:
        _, pem = issue(server, account, "events.acme.test", "www.events.acme.test")
    leaf = x509.load_pem_x509_certificates(pem.encode())[0]

    [issued] = seen
    assert isinstance(issued, CertificateIssued)
    record, profile = _stored(server, issued.certificate_id)
    # openssl's form, as the record shows it (pki_types.serials)
    assert issued.serial == record.serial_hex
    assert int(issued.serial, 16) == leaf.serial_number
    assert issued.profile_id == profile.id
    assert issued.ca_id == record.ca_id is not None
    assert issued.request_method == RequestMethod.ACME
    assert issued.common_name == record.common_name
    assert issued.sans == (("dns_name", "events.acme.test"), ("dns_name", "www.events.acme.test"))
    assert (issued.not_before, issued.not_after) == (record.not_before, record.not_after)
    assert issued.renewed_from_id is None

    with server.events() as seen:
        response = account.post(
            account.directory["revokeCert"],
            {"certificate": b64(leaf.public_bytes(Encoding.DER)), "reason": 1},
        )
        assert response.status_code == 200, response.text

    [revoked] = seen
    assert isinstance(revoked, CertificateRevoked)
    record, _ = _stored(server, issued.certificate_id)
    assert revoked.certificate_id == issued.certificate_id
    assert revoked.serial == issued.serial and revoked.profile_id == profile.id
    assert revoked.reason == RevocationReason.KEY_COMPROMISE == record.revocation_reason
    assert revoked.revoked_at == record.revoked_at
