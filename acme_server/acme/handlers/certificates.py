"""RFC 8555 7.4.2 certificate download and 7.6 revokeCert: parse ->
services/acme_certificates.py -> render."""

from __future__ import annotations

import binascii
import warnings

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.utils import CryptographyDeprecationWarning
from starlette.requests import Request
from starlette.responses import Response

from acme_server.acme.handlers.common import link, verified
from acme_server.acme.problems import bad_revocation_reason, malformed
from acme_server.jose import b64url_decode
from acme_server.services.acme_certificates import (
    issuer_url,
    ordered_certificate,
    revoke_presented,
)
from ca_core.export import certificates_pem
from ca_core.keys import spki_der
from pki_types.model import RevocationReason
from store import CertificateRecord

PEM_CHAIN = "application/pem-certificate-chain"
PKIX_CERT = "application/pkix-cert"
# RFC 5280 5.3.1 codes a subscriber may give (RFC 8555 7.6); 2 (cA) and 8 (removeFromCRL) are not.
SUBSCRIBER_REASONS = {
    0: RevocationReason.UNSPECIFIED,
    1: RevocationReason.KEY_COMPROMISE,
    3: RevocationReason.AFFILIATION_CHANGED,
    4: RevocationReason.SUPERSEDED,
    5: RevocationReason.CESSATION_OF_OPERATION,
    9: RevocationReason.PRIVILEGE_WITHDRAWN,
}


def served_chain(record: CertificateRecord) -> list[x509.Certificate]:
    """Leaf first, then the intermediates; the self-signed root is left to the trust store."""
    chain = x509.load_pem_x509_certificates(record.chain_pem.encode()) if record.chain_pem else []
    return [c for c in chain if c.issuer != c.subject]


def _wants_single_certificate(request: Request) -> bool:
    """Did the client ask for the leaf alone (Accept: application/pkix-cert, RFC 8555
    7.4.2) rather than the chain, the default?"""
    accept = request.headers.get("accept", "")
    types = {part.partition(";")[0].strip().lower() for part in accept.split(",")}
    return PKIX_CERT in types and PEM_CHAIN not in types


async def certificate(request: Request) -> Response:
    """The certificate as a PEM chain, leaf first; or, asked for application/pkix-cert, the
    leaf alone in DER with `Link: rel="up"` to its issuer's certificate.

    RFC 8555 7.4.2 wants the "up" link for formats that can only express a single
    certificate, and only there: clients such as Caddy's acmez fetch every "up" link of a
    chain response too and append what they get, which would repeat the intermediate."""
    req = await verified(request, "kid")
    account = req.post.require_account()
    record = await ordered_certificate(
        req.services, account.id, request.path_params["certificate_id"]
    )
    if _wants_single_certificate(request):
        leaf = x509.load_pem_x509_certificate(record.certificate_pem.encode())
        headers: dict[str, str] = {}
        if record.ca_id is not None:
            headers["Link"] = link(await issuer_url(req.services, record.ca_id), "up")
        return Response(leaf.public_bytes(Encoding.DER), media_type=PKIX_CERT, headers=headers)
    body = record.certificate_pem + certificates_pem(served_chain(record))
    return Response(body, media_type=PEM_CHAIN)


async def revoke_cert(request: Request) -> Response:
    """Signed by the certificate's key (jwk), by the account that ordered it, or by an account
    holding valid authorizations for all its names (RFC 8555 7.6)."""
    req = await verified(request, "either")
    payload = req.post.payload or {}
    raw = payload.get("certificate")
    if not isinstance(raw, str):
        raise malformed("revokeCert needs the certificate as base64url DER")
    try:
        with warnings.catch_warnings():
            # cryptography only warns (for now) about a serial RFC 5280 4.1.2.2 forbids.
            warnings.simplefilter("error", CryptographyDeprecationWarning)
            cert = x509.load_der_x509_certificate(b64url_decode(raw))
    except CryptographyDeprecationWarning:
        raise malformed(
            "the certificate's serial number is not positive (RFC 5280 4.1.2.2)"
        ) from None
    except (ValueError, binascii.Error):
        raise malformed("the certificate is not base64url DER") from None
    reason_code = payload.get("reason", 0)
    if (
        not isinstance(reason_code, int)
        or isinstance(reason_code, bool)  # JSON true is no reason code
        or reason_code not in SUBSCRIBER_REASONS
    ):
        raise bad_revocation_reason(
            f"reason {reason_code!r} is not allowed; use one of {sorted(SUBSCRIBER_REASONS)}"
        )
    await revoke_presented(
        req.services,
        cert,
        SUBSCRIBER_REASONS[reason_code],
        account_id=req.post.account.id if req.post.account is not None else None,
        jws_spki=spki_der(req.post.key.public_key),
    )
    return Response(status_code=200)
