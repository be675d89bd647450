"""Public, unauthenticated PKI files that issued certificates point at (RFC 5280 4.2.1.13, 4.2.2.1).

- the CRL, DER, at each CA's CRL distribution point: GET /pki/crl/<ca-id>.crl
- the CA certificate, DER, at its AIA caIssuers URL: GET /pki/ca/<ca-id>.crt
  (and PEM at /pki/ca/<ca-id>.pem for people)
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

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
    """The CA's current CRL. It is regenerated at every revocation, which no cache can
    foresee, so caches must revalidate each time (`no-cache`); the ETag (a digest of the
    DER) and Last-Modified (its thisUpdate) make that a 304 while it is unchanged."""
    ca = await _ca(request)
    if ca is None:
        return _not_found("CRL")
    record = await current_crl(services_of(request), ca.id)
    etag = '"' + hashlib.sha256(record.der).hexdigest()[:32] + '"'
    headers = {
        "Cache-Control": "public, no-cache",
        "ETag": etag,
        "Last-Modified": format_datetime(record.this_update.astimezone(UTC), usegmt=True),
    }
    if _unchanged(request, etag, record.this_update):
        return Response(status_code=304, headers=headers)
    return Response(record.der, media_type="application/pkix-crl", headers=headers)


def _unchanged(request: Request, etag: str, modified: datetime) -> bool:
    """RFC 9110 13.1.2/13.1.3: If-None-Match decides when present, else If-Modified-Since."""
    match = request.headers.get("if-none-match")
    if match is not None:
        tags = {t.strip().removeprefix("W/") for t in match.split(",")}
        return etag in tags or "*" in tags
    since = request.headers.get("if-modified-since")
    if since is None:
        return False
    try:
        when = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False  # an unparsable date is ignored (RFC 9110 13.1.3)
    if when.tzinfo is None:
        return False
    # Strictly earlier: a CRL remade within the same second (a revocation) must not look
    # unchanged to a client that validates by date alone.
    return modified.replace(microsecond=0) < when


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
