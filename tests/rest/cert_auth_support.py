"""Client-certificate test helpers: a server with short credential periods, keys, CSRs,
certificates issued and bound through the service layer, and proofs POSTed over HTTP.

The server's periods are a day (warning) and an hour (expiry), so a certificate asked for
with ttl 3d is "ok", 12h "warning" and 30m "expiring" the moment it is issued.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from acme_server.services.identities import client_certs as identity_certificates
from agent.cert_auth import sign_proof
from agent.keys import PrivateKey
from ca_core.serials import serial_to_hex
from store import CertificateRecord
from testkit.in_process_server import AcmeServer, acme_server
from testkit.postgres import fresh_postgres_database
from tests.rest.conftest import with_services

LOGIN = identity_certificates.LOGIN_PATH
ROTATE = identity_certificates.ROTATE_PATH
PERIODS = {"identity_cert_warning_period": "1d", "identity_cert_expiry_period": "1h"}
OK_TTL, WARNING_TTL, EXPIRING_TTL = "3d", "12h", "30m"


@contextmanager
def cert_auth_server(data_dir: Path, backend: str, **extra: Any) -> Iterator[AcmeServer]:
    settings = PERIODS | extra
    if backend == "sqlite":
        with acme_server(data_dir, **settings) as running:
            yield running
        return
    with fresh_postgres_database() as url, acme_server(data_dir, url, **settings) as running:
        yield running


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def csr_pem(key: PrivateKey, name: str = "machine.test") -> str:
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")


def chain_of(pem: str) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(pem.encode())


def issue_bound(
    server: AcmeServer, identity_id: str, ttl: str = OK_TTL
) -> tuple[PrivateKey, list[x509.Certificate]]:
    """A new key and its client certificate chain, issued from `default` and bound."""
    key = new_key()
    issued = with_services(
        server,
        lambda s: identity_certificates.issue_certificate(
            s, identity_id, "default", csr_pem(key), ttl=ttl, actor="test"
        ),
    )
    return key, chain_of(issued.certificate_pem + issued.chain_pem)


def store_record(server: AcmeServer, certificate: x509.Certificate) -> CertificateRecord:
    serial = serial_to_hex(certificate.serial_number)
    return with_services(server, lambda s: s.store.get_certificate_by_serial(serial))


def post_proof(
    server: AcmeServer,
    path: str,
    key: PrivateKey,
    chain: list[x509.Certificate],
    payload: dict[str, Any] | None = None,
    *,
    url: str | None = None,
    iat: int | None = None,
) -> httpx.Response:
    proof = sign_proof(key, chain, url or server.base_url + path, payload, iat=iat)
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        return http.post(
            path, content=json.dumps(proof), headers={"Content-Type": "application/jose+json"}
        )
