"""pkilint's CA/Browser Forum TLS Baseline Requirements linter, as a function over a leaf."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pkilint import finding_filter, loader
from pkilint.cabf import serverauth
from pkilint.cabf.serverauth import serverauth_constants
from pkilint.pkix import certificate
from pkilint.validation import ValidationFindingSeverity

DV = serverauth_constants.CertificateType.DV_FINAL_CERTIFICATE


@dataclass(frozen=True, slots=True)
class Finding:
    severity: str  # FATAL, ERROR, WARNING, NOTICE, INFO
    code: str
    message: str
    node: str

    def __str__(self) -> str:
        return f"{self.severity} {self.code} at {self.node}: {self.message}"


def lint_tls_server(cert: x509.Certificate) -> list[Finding]:
    """Every finding of the BR linter for a DV subscriber certificate (pkilint filters the
    PKIX findings the BRs supersede, as its command line does by default)."""
    document = loader.RFC5280CertificateDocumentLoader().load_der_document(
        cert.public_bytes(Encoding.DER), "leaf"
    )
    validator = certificate.create_pkix_certificate_validator_container(
        serverauth.create_decoding_validators(), serverauth.create_validators(DV)
    )
    results = validator.validate(document.root)
    results, _ = finding_filter.filter_results(
        serverauth.create_serverauth_finding_filters(DV), results
    )
    return [
        Finding(
            severity=description.finding.severity.name,
            code=description.finding.code,
            message=description.message or "",
            node=str(result.node.path),
        )
        for result in results
        for description in result.finding_descriptions
    ]


def errors_of(findings: list[Finding]) -> list[Finding]:
    """The findings at ERROR level or worse."""
    worst = ValidationFindingSeverity.ERROR.name
    order = [s.name for s in ValidationFindingSeverity]
    return [f for f in findings if order.index(f.severity) <= order.index(worst)]
