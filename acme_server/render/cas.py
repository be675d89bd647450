"""A certificate authority as the REST API and `kms ca ... --json` show it."""

from __future__ import annotations

from typing import Any

from acme_server.render.common import iso
from store import CARecord


def render_ca(ca: CARecord, *, full: bool) -> dict[str, Any]:
    """full: with the certificate, its chain and the CRL number (one CA; a REST list
    leaves them out)."""
    data: dict[str, Any] = {
        "id": ca.id,
        "name": ca.name,
        "type": ca.kind,
        "parentCaId": ca.parent_id,
        "status": ca.status,
        "subject": ca.subject,
        "keyAlgorithm": ca.key_algorithm,
        "hashAlgorithm": ca.hash_algorithm,
        "serialNumber": ca.serial_hex,
        "notBefore": iso(ca.not_before),
        "notAfter": iso(ca.not_after),
        "crlDistributionUrl": ca.crl_distribution_url,
        "aiaIssuerUrl": ca.aia_issuer_url,
        "createdAt": iso(ca.created_at),
    }
    if full:
        data["certificate"] = ca.certificate_pem
        data["certificateChain"] = ca.chain_pem
        data["crlNumber"] = ca.crl_number
    return data
