"""Public, unauthenticated PKI files that issued certificates point at (RFC 5280 4.2.1.13, 4.2.2.1).

- the CRL, DER, at each CA's CRL distribution point: GET /pki/crl/<ca-id>.crl
- the CA certificate, DER, at its AIA caIssuers URL: GET /pki/ca/<ca-id>.crt
  (and PEM at /pki/ca/<ca-id>.pem for people)
"""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from acme_server.public.state import services_of
from acme_server.services.cas.crls import current_crl
from store import CARecord, NotFound
from store.values import check_id


def _not_found(what: str) -> Response:
    return PlainTextResponse(f"{what} not found\n", status_code=404)


async def _ca(request: Request) -> CARecord | None:
    """The CA the path names, or None; a path that is no CA id (NUL, junk) is not looked up."""
    try:
        ca_id = check_id(str(request.path_params["ca_id"]), "CA id")
    except ValueError:
        return None
    try:
        return await services_of(request).store.get_ca(ca_id)
    except NotFound:
        return None


async def crl(request: Request) -> Response:
    ca = await _ca(request)
    if ca is None:
        return _not_found("CRL")
    record = await current_crl(services_of(request), ca.id)
    max_age = max(0, int((record.next_update - record.this_update).total_seconds() / 2))
    return Response(
        record.der,
        media_type="application/pkix-crl",
        headers={"Cache-Control": f"public, max-age={min(max_age, 3600)}"},
    )


async def ca_certificate(request: Request) -> Response:
    ca = await _ca(request)
    if ca is None:
        return _not_found("CA certificate")
    ext = request.path_params["ext"]
    if ext == "pem":
        return Response(ca.certificate_pem, media_type="application/x-pem-file")
    if ext not in ("crt", "der", "cer"):
        return _not_found("CA certificate")
    cert = x509.load_pem_x509_certificate(ca.certificate_pem.encode())
    return Response(
        cert.public_bytes(Encoding.DER),
        media_type="application/pkix-cert",
        headers={"Cache-Control": "public, max-age=3600"},
    )
