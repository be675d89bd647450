"""A certificate as a client installs it: the leaf, its chain, the issuing CA's certificate
and, for managed keys, the private key (PKCS#8 PEM, decrypted from the KEK on demand)."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509

from acme_server.services.certificates.export import private_key_of
from acme_server.services.certificates.issuance import IssuedCertificate
from acme_server.services.context import Services
from acme_server.services.errors import ConflictError
from ca_core.export import certificates_pem
from ca_core.keys import PrivateKey, private_key_to_pem
from store import CertificateRecord


@dataclass(frozen=True, slots=True)
class Bundle:
    """PEM texts. `chain`: the issuers above the leaf, nearest first ("" when self-signed);
    `issuing_ca`: the certificate that signed the leaf (the leaf itself when self-signed).
    `key_withheld`: why the private key the server holds is not in the bundle (the
    caller may not have it: services/access.py); None when it is, or there is none."""

    certificate_id: str
    serial_hex: str
    certificate: str
    chain: str
    issuing_ca: str
    private_key: str | None
    key_withheld: str | None = None


def _key_pem(key: PrivateKey | None) -> str | None:
    return None if key is None else private_key_to_pem(key).decode("ascii")


def issued_bundle(issued: IssuedCertificate, *, key_withheld: str | None = None) -> Bundle:
    """The bundle of a certificate just issued; without its key when `key_withheld`."""
    leaf = certificates_pem([issued.certificate])
    return Bundle(
        certificate_id=issued.record.id,
        serial_hex=issued.record.serial_hex,
        certificate=leaf,
        chain=certificates_pem(issued.chain),
        issuing_ca=certificates_pem(issued.chain[:1]) if issued.chain else leaf,
        private_key=None if key_withheld else _key_pem(issued.private_key),
        key_withheld=key_withheld if issued.private_key is not None else None,
    )


def bundle_of(
    services: Services, record: CertificateRecord, *, key_withheld: str | None = None
) -> Bundle:
    """The bundle of a stored certificate; without its key when `key_withheld`."""
    if not record.certificate_pem:
        raise ConflictError(f"certificate {record.id} was never signed (status {record.status})")
    chain = x509.load_pem_x509_certificates(record.chain_pem.encode()) if record.chain_pem else []
    return Bundle(
        certificate_id=record.id,
        serial_hex=record.serial_hex,
        certificate=record.certificate_pem,
        chain=record.chain_pem,
        issuing_ca=certificates_pem(chain[:1]) if chain else record.certificate_pem,
        private_key=None if key_withheld else _key_pem(private_key_of(services, record)),
        key_withheld=key_withheld if record.encrypted_private_key is not None else None,
    )


def pem_text(bundle: Bundle) -> str:
    """One PEM file: the leaf, then the chain, then the private key when present."""
    return bundle.certificate + bundle.chain + (bundle.private_key or "")
