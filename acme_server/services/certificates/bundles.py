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
    `issuing_ca`: the certificate that signed the leaf (the leaf itself when self-signed)."""

    certificate_id: str
    serial_hex: str
    certificate: str
    chain: str
    issuing_ca: str
    private_key: str | None


def _key_pem(key: PrivateKey | None) -> str | None:
    return None if key is None else private_key_to_pem(key).decode("ascii")


def issued_bundle(issued: IssuedCertificate) -> Bundle:
    leaf = certificates_pem([issued.certificate])
    return Bundle(
        certificate_id=issued.record.id,
        serial_hex=issued.record.serial_hex,
        certificate=leaf,
        chain=certificates_pem(issued.chain),
        issuing_ca=certificates_pem(issued.chain[:1]) if issued.chain else leaf,
        private_key=_key_pem(issued.private_key),
    )


def bundle_of(services: Services, record: CertificateRecord, *, include_key: bool = True) -> Bundle:
    if not record.certificate_pem:
        raise ConflictError(f"certificate {record.id} was never signed (status {record.status})")
    chain = x509.load_pem_x509_certificates(record.chain_pem.encode()) if record.chain_pem else []
    return Bundle(
        certificate_id=record.id,
        serial_hex=record.serial_hex,
        certificate=record.certificate_pem,
        chain=record.chain_pem,
        issuing_ca=certificates_pem(chain[:1]) if chain else record.certificate_pem,
        private_key=_key_pem(private_key_of(services, record)) if include_key else None,
    )


def pem_text(bundle: Bundle) -> str:
    """One PEM file: the leaf, then the chain, then the private key when present."""
    return bundle.certificate + bundle.chain + (bundle.private_key or "")
