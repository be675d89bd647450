"""REST: the certificate inventory (list, details, metadata, auto-renew, delete) and the
certificate requests behind it (read-only). A member identity sees only what it owns, an admin all
(acme_server/services/access.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from acme_server.rest.auth import require_principal
from acme_server.rest.body import parse
from acme_server.rest.certificates.bodies import (
    AUTO_RENEW_REQUEST,
    metadata_query,
    metadata_request,
    query_choice,
    query_int,
)
from acme_server.rest.certificates.render import (
    certificate_details,
    certificate_summary,
    request_json,
)
from acme_server.rest.common import ApiError, read_json, services_of
from acme_server.services import access, audit
from acme_server.services.access import Action
from acme_server.services.certificates import auto_renewal, inventory
from acme_server.services.certificates.inventory import CertificateQuery
from acme_server.services.context import Services
from acme_server.services.errors import NotFoundError
from acme_server.services.profiles.lookup import find_profile
from pki_types.model import CertificateStatus

PREFIX = "/api/v1/cert-manager"
SORT_BY = {"createdAt": "created_at", "notAfter": "not_after", "commonName": "common_name"}
SORT_ORDER = {"desc": "desc", "asc": "asc"}
STATUSES = {s.value: s.value for s in CertificateStatus}
DEFAULT_LIMIT = 25
MAX_EXPIRES_WITHIN_DAYS = 36500


async def _profile_id(services: Services, ref: str | None) -> str | None:
    """A profile filter given by id or slug; an unknown one filters on the text as given
    (and so matches nothing) rather than failing."""
    if not ref:
        return None
    try:
        return (await find_profile(services, ref)).id
    except NotFoundError:
        return ref


async def list_certificates(request: Request) -> Response:
    """GET /api/v1/cert-manager/certificates -- the inventory, one page at a time.

    Query: `offset` (default 0), `limit` (1-100, default 25), `sortBy` (createdAt |
    notAfter | commonName, default createdAt), `sortOrder` (asc | desc, default desc),
    `status` (active | revoked | expired | pending), `profileId` (id or slug), `caId`,
    `search` (case-insensitive part of the common or friendly name), `expiresWithinDays`
    (notAfter between now and now + N days), `metadata[key]=value` (repeatable; every
    pair must match). Response 200: {"certificates": [summary...], "totalCount"}; a member
    identity's list holds only its own certificates.
    """
    principal = await require_principal(request)
    services = services_of(request)
    within = request.query_params.get("expiresWithinDays")
    status = request.query_params.get("status") or None
    if status is not None and status not in STATUSES:
        raise ApiError(400, f"status must be one of {', '.join(STATUSES)}")
    query = CertificateQuery(
        status=CertificateStatus(status) if status else None,
        profile_id=await _profile_id(services, request.query_params.get("profileId")),
        ca_id=request.query_params.get("caId") or None,
        search=request.query_params.get("search") or None,
        expires_within=None
        if not within
        else timedelta(days=query_int(request, "expiresWithinDays", 0, 0, MAX_EXPIRES_WITHIN_DAYS)),
        metadata=metadata_query(request),
        owner_identity_id=access.owner_filter(principal, Action.CERTIFICATE_LIST),
        limit=query_int(request, "limit", DEFAULT_LIMIT, 1, inventory.LIST_LIMIT_MAX),
        offset=query_int(request, "offset", 0, 0, 10**9),
        order_by=query_choice(request, "sortBy", SORT_BY, "createdAt"),
        descending=query_choice(request, "sortOrder", SORT_ORDER, "desc") == "desc",
    )
    now = datetime.now(UTC)
    rows, total = await inventory.list_certificates(services, query, now)
    return JSONResponse(
        {"certificates": [certificate_summary(row, now) for row in rows], "totalCount": total}
    )


async def get_certificate(request: Request) -> Response:
    """GET /api/v1/cert-manager/certificates/{certificateId} -- one certificate in full.

    `certificateId` is the id or the serial number (hex). Response 200: the summary fields
    (id, serialNumber, status, commonName, friendlyName, altNames, notBefore, notAfter,
    caId, profileId, requestMethod, keyAlgorithm, hasPrivateKey, autoRenew, metadata,
    renewedFromId, renewedById, revokedAt, revocationReason, certificateRequestId,
    createdAt) plus subject {commonName, organization, organizationalUnit, country,
    state, locality}, subjectDn, issuerDn, issuingCa {id, name}, profile {id, slug},
    basicConstraints {isCA, pathLength}, keyUsages, extendedKeyUsages, signatureAlgorithm,
    hashAlgorithm, fingerprints {sha256, sha1} and certificate (PEM). Never the key.
    """
    principal = await require_principal(request)
    services = services_of(request)
    ref = request.path_params["certificate_id"]
    cert = await access.certificate(services, principal, Action.CERTIFICATE_READ, ref)
    now = datetime.now(UTC)
    return JSONResponse(certificate_details(await inventory.describe(services, cert, now), now))


async def update_metadata(request: Request) -> Response:
    """PATCH /api/v1/cert-manager/certificates/{certificateId}/metadata -- replace a
    certificate's metadata.

    Request: {"metadata": {string: string}} (the whole new set; {} clears it). The
    certificate request's metadata is not changed (it is read-only). Response 200:
    {"certificateId", "metadata"}.
    """
    principal = await require_principal(request)
    services = services_of(request)
    metadata = metadata_request(await read_json(request))
    ref = request.path_params["certificate_id"]
    cert = await access.certificate(services, principal, Action.CERTIFICATE_EDIT, ref)
    updated = await inventory.set_metadata(services, cert, metadata)
    await audit.record(
        services,
        actor=principal.actor,
        action="certificate.metadata.update",
        target_type="certificate",
        target_id=cert.id,
        details={"serialNumber": cert.serial_hex, "keys": sorted(updated.metadata)},
    )
    return JSONResponse({"certificateId": updated.id, "metadata": updated.metadata})


async def update_auto_renew(request: Request) -> Response:
    """PATCH /api/v1/cert-manager/certificates/{certificateId}/auto-renew -- turn
    server-driven renewal on or off.

    Request: {"autoRenew": true|false}. With it on, the scheduler renews the certificate
    when it enters its profile's renew-before window (a fresh key, the same request, the
    metadata carried over); turning it on or off clears a failed renewal's backoff. 400
    for a CSR- or ACME-issued certificate, whose key the server does not hold. Response
    200: {"certificateId", "autoRenew"}.
    """
    principal = await require_principal(request)
    services = services_of(request)
    wanted: bool = parse(AUTO_RENEW_REQUEST, await read_json(request))["autoRenew"]
    ref = request.path_params["certificate_id"]
    cert = await access.certificate(services, principal, Action.CERTIFICATE_EDIT, ref)
    await auto_renewal.set_auto_renew(services, cert, wanted)
    await audit.record(
        services,
        actor=principal.actor,
        action="certificate.auto_renew.update",
        target_type="certificate",
        target_id=cert.id,
        details={"serialNumber": cert.serial_hex, "autoRenew": wanted},
    )
    return JSONResponse({"certificateId": cert.id, "autoRenew": wanted})


async def delete_certificate(request: Request) -> Response:
    """DELETE /api/v1/cert-manager/certificates/{certificateId} -- remove a certificate
    from the inventory.

    This does NOT revoke the certificate: revoke it first if it must stop being trusted
    (a deleted certificate can no longer be revoked here). A revoked certificate is kept
    until it expires, because its CA's CRL lists it (409), and a pending one must be
    revoked instead (409). Response 200: {"message", "certificateId", "serialNumber"}.
    """
    principal = await require_principal(request)
    services = services_of(request)
    ref = request.path_params["certificate_id"]
    cert = await access.certificate(services, principal, Action.CERTIFICATE_DELETE, ref)
    await inventory.delete_certificate(services, cert, datetime.now(UTC))
    await audit.record(
        services,
        actor=principal.actor,
        action="certificate.delete",
        target_type="certificate",
        target_id=cert.id,
        details={"serialNumber": cert.serial_hex, "commonName": cert.common_name},
    )
    return JSONResponse(
        {
            "message": "Successfully deleted certificate",
            "certificateId": cert.id,
            "serialNumber": cert.serial_hex,
        }
    )


async def list_requests(request: Request) -> Response:
    """GET /api/v1/cert-manager/certificate-requests -- certificate requests, newest first.

    Query: `offset`, `limit` (1-100, default 25), `profileId` (id or slug), `status`
    (pending | issued | failed), `metadata[key]=value` (repeatable). Response 200:
    {"certificateRequests": [request...], "totalCount"}; a request is {id, profileId,
    method, status, csr, attributes, metadata, certificateId, error, createdAt}. A member
    identity's list holds only its own requests.
    """
    principal = await require_principal(request)
    services = services_of(request)
    rows, total = await inventory.list_requests(
        services,
        profile_id=await _profile_id(services, request.query_params.get("profileId")),
        status=request.query_params.get("status") or None,
        metadata=metadata_query(request),
        limit=query_int(request, "limit", DEFAULT_LIMIT, 1, inventory.LIST_LIMIT_MAX),
        offset=query_int(request, "offset", 0, 0, 10**9),
        owner=access.owner_filter(principal, Action.REQUEST_LIST),
    )
    return JSONResponse(
        {"certificateRequests": [request_json(row) for row in rows], "totalCount": total}
    )


async def get_request(request: Request) -> Response:
    """GET /api/v1/cert-manager/certificate-requests/{requestId} -- one certificate
    request.

    Response 200: {id, profileId, method (api_managed | api_csr | acme), status, csr,
    attributes (as issued: commonName, altNames, subject attributes, keyAlgorithm,
    signatureAlgorithm, hashAlgorithm, keyUsages, extendedKeyUsages, ttl), metadata
    (read-only), certificateId, error, createdAt}.
    """
    principal = await require_principal(request)
    found = await access.certificate_request(
        services_of(request), principal, Action.REQUEST_READ, request.path_params["request_id"]
    )
    return JSONResponse(request_json(found))


def routes() -> list[BaseRoute]:
    certs = f"{PREFIX}/certificates"
    one = certs + "/{certificate_id}"
    return [
        Route(certs, list_certificates, methods=["GET"]),
        Route(one, get_certificate, methods=["GET"]),
        Route(one, delete_certificate, methods=["DELETE"]),
        Route(one + "/metadata", update_metadata, methods=["PATCH"]),
        Route(one + "/auto-renew", update_auto_renew, methods=["PATCH"]),
        Route(f"{PREFIX}/certificate-requests", list_requests, methods=["GET"]),
        Route(f"{PREFIX}/certificate-requests/{{request_id}}", get_request, methods=["GET"]),
    ]
