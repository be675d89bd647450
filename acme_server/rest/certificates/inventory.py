"""REST: the certificate inventory (list, details, metadata, auto-renew, delete) and the
certificate requests behind it (read-only). An issuer or reader reaches those of the
profiles it is granted, an admin all (acme_server/services/access.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from acme_server.rest.body import parse
from acme_server.rest.certificates.bodies import AUTO_RENEW_REQUEST, metadata_request
from acme_server.rest.certificates.render import (
    certificate_details,
    certificate_summary,
    request_json,
)
from acme_server.rest.common import read_json, services_of
from acme_server.rest.guard import ApiRoute, principal_of
from acme_server.rest.query import Param, declares, parse_query, query
from acme_server.services import access
from acme_server.services.certificates import audit_trail, auto_renewal, inventory
from acme_server.services.certificates.inventory import CertificateQuery
from acme_server.services.context import Services
from acme_server.services.errors import NotFoundError
from acme_server.services.profiles.lookup import find_profile
from acme_server.services.roles import Permission
from pki_types.model import CertificateStatus, RequestMethod

PREFIX = "/api/v1/cert-manager"
SORT_BY = {"createdAt": "created_at", "notAfter": "not_after", "commonName": "common_name"}
SORT_ORDER = {"desc": "desc", "asc": "asc"}
DEFAULT_LIMIT = 25
MAX_EXPIRES_WITHIN_DAYS = 36500
MAX_OFFSET = 10**9
_LIMIT = Param(
    "limit",
    "integer",
    "Page size",
    minimum=1,
    maximum=inventory.LIST_LIMIT_MAX,
    default=DEFAULT_LIMIT,
)
_OFFSET = Param(
    "offset", "integer", "Rows skipped before the page", minimum=0, maximum=MAX_OFFSET, default=0
)
_PROFILE = Param("profileId", description="The profile's id or slug")
_METADATA = Param(
    "metadata",
    "map",
    "metadata[key]=value, repeatable: every pair given must match the metadata",
)
CERTIFICATE_LIST_QUERY = query(
    _OFFSET,
    _LIMIT,
    Param("sortBy", description="Sort key", enum=tuple(SORT_BY), default="createdAt"),
    Param("sortOrder", description="Sort direction", enum=tuple(SORT_ORDER), default="desc"),
    Param("status", description="Only this status", enum=tuple(s.value for s in CertificateStatus)),
    _PROFILE,
    Param("caId", description="Only certificates issued by this CA (id)"),
    Param(
        "search",
        description="Case-insensitive part of the common name, the friendly name or any "
        "subject alternative name (DNS name, IP address, email, URI)",
    ),
    Param(
        "requestMethod",
        description="Only certificates enrolled this way",
        enum=tuple(m.value for m in RequestMethod),
    ),
    Param(
        "expiresWithinDays",
        "integer",
        "Only certificates whose notAfter is between now and now + N days",
        minimum=0,
        maximum=MAX_EXPIRES_WITHIN_DAYS,
    ),
    _METADATA,
)
REQUEST_LIST_QUERY = query(
    _OFFSET,
    _LIMIT,
    _PROFILE,
    Param("status", description="Only this status", enum=inventory.REQUEST_STATUSES),
    _METADATA,
)


async def _profile_id(services: Services, ref: str | None) -> str | None:
    """A profile filter given by id or slug; an unknown one filters on the text as given
    (and so matches nothing) rather than failing."""
    if not ref:
        return None
    try:
        return (await find_profile(services, ref)).id
    except NotFoundError:
        return ref


@declares(CERTIFICATE_LIST_QUERY)
async def list_certificates(request: Request) -> Response:
    """GET /api/v1/cert-manager/certificates -- the inventory, one page at a time.

    Paged by offset and limit, ordered by sortBy and sortOrder; the filters (status,
    profileId, caId, search, requestMethod, expiresWithinDays, metadata[key]=value) must
    all match. `search` is a case-insensitive part of the common name, the friendly name
    or any subject alternative name's value; `requestMethod` is acme, api_managed,
    api_csr or system.
    Response 200: {"certificates": [summary...], "totalCount"}; an issuer's or reader's list
    holds only the certificates of the profiles it is granted.
    """
    principal = principal_of(request)
    services = services_of(request)
    given = parse_query(CERTIFICATE_LIST_QUERY, request)
    within, status, method = given["expiresWithinDays"], given["status"], given["requestMethod"]
    wanted = CertificateQuery(
        status=CertificateStatus(status) if status else None,
        profile_id=await _profile_id(services, given["profileId"]),
        ca_id=given["caId"],
        search=given["search"],
        request_method=RequestMethod(method) if method else None,
        expires_within=None if within is None else timedelta(days=within),
        metadata=given["metadata"],
        profile_ids=access.profile_filter(principal),
        limit=given["limit"],
        offset=given["offset"],
        order_by=SORT_BY[given["sortBy"]],
        descending=SORT_ORDER[given["sortOrder"]] == "desc",
    )
    now = datetime.now(UTC)
    rows, total = await inventory.list_certificates(services, wanted, now)
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
    principal = principal_of(request)
    services = services_of(request)
    ref = request.path_params["certificate_id"]
    cert = await access.certificate(services, principal, Permission.CERTIFICATE_READ, ref)
    now = datetime.now(UTC)
    return JSONResponse(certificate_details(await inventory.describe(services, cert, now), now))


async def update_metadata(request: Request) -> Response:
    """PATCH /api/v1/cert-manager/certificates/{certificateId}/metadata -- replace a
    certificate's metadata.

    Request: {"metadata": {string: string}} (the whole new set; {} clears it). The
    certificate request's metadata is not changed (it is read-only). Response 200:
    {"certificateId", "metadata"}.
    """
    principal = principal_of(request)
    services = services_of(request)
    metadata = metadata_request(await read_json(request))
    ref = request.path_params["certificate_id"]
    cert = await access.certificate(services, principal, Permission.CERTIFICATE_EDIT, ref)
    updated = await inventory.set_metadata(services, cert, metadata)
    await audit_trail.metadata_updated(services, principal, cert, list(updated.metadata))
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
    principal = principal_of(request)
    services = services_of(request)
    wanted: bool = parse(AUTO_RENEW_REQUEST, await read_json(request))["autoRenew"]
    ref = request.path_params["certificate_id"]
    cert = await access.certificate(services, principal, Permission.CERTIFICATE_EDIT, ref)
    await auto_renewal.set_auto_renew(services, cert, wanted)
    await audit_trail.auto_renew_set(services, principal, cert, wanted)
    return JSONResponse({"certificateId": cert.id, "autoRenew": wanted})


async def delete_certificate(request: Request) -> Response:
    """DELETE /api/v1/cert-manager/certificates/{certificateId} -- remove a certificate
    from the inventory.

    This does NOT revoke the certificate: revoke it first if it must stop being trusted
    (a deleted certificate can no longer be revoked here). A revoked certificate is kept
    until it expires, because its CA's CRL lists it (409), and a pending one must be
    revoked instead (409). Response 200: {"message", "certificateId", "serialNumber"}.
    """
    principal = principal_of(request)
    services = services_of(request)
    ref = request.path_params["certificate_id"]
    cert = await access.certificate(services, principal, Permission.CERTIFICATE_DELETE, ref)
    await inventory.delete_certificate(services, cert, datetime.now(UTC))
    await audit_trail.deleted(services, principal, cert)
    return JSONResponse(
        {
            "message": "Successfully deleted certificate",
            "certificateId": cert.id,
            "serialNumber": cert.serial_hex,
        }
    )


@declares(REQUEST_LIST_QUERY)
async def list_requests(request: Request) -> Response:
    """GET /api/v1/cert-manager/certificate-requests -- certificate requests, newest first.

    Paged by offset and limit; the filters (profileId, status, metadata[key]=value) must
    all match. Response 200: {"certificateRequests": [request...], "totalCount"}; a
    request is {id, profileId, method, status, csr, attributes, metadata, certificateId,
    error, createdAt}. An issuer's or reader's list holds only the requests of the
    profiles it is granted.
    """
    principal = principal_of(request)
    services = services_of(request)
    given = parse_query(REQUEST_LIST_QUERY, request)
    rows, total = await inventory.list_requests(
        services,
        profile_id=await _profile_id(services, given["profileId"]),
        status=given["status"],
        metadata=given["metadata"],
        limit=given["limit"],
        offset=given["offset"],
        profile_ids=access.profile_filter(principal),
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
    principal = principal_of(request)
    found = await access.certificate_request(
        services_of(request), principal, Permission.REQUEST_READ, request.path_params["request_id"]
    )
    return JSONResponse(request_json(found))


def routes() -> list[BaseRoute]:
    certs = f"{PREFIX}/certificates"
    one = certs + "/{certificate_id}"
    return [
        ApiRoute(certs, list_certificates, ["GET"], Permission.CERTIFICATE_LIST),
        ApiRoute(one, get_certificate, ["GET"], Permission.CERTIFICATE_READ),
        ApiRoute(one, delete_certificate, ["DELETE"], Permission.CERTIFICATE_DELETE),
        ApiRoute(one + "/metadata", update_metadata, ["PATCH"], Permission.CERTIFICATE_EDIT),
        ApiRoute(one + "/auto-renew", update_auto_renew, ["PATCH"], Permission.CERTIFICATE_EDIT),
        ApiRoute(f"{PREFIX}/certificate-requests", list_requests, ["GET"], Permission.REQUEST_LIST),
        ApiRoute(
            f"{PREFIX}/certificate-requests/{{request_id}}",
            get_request,
            ["GET"],
            Permission.REQUEST_READ,
        ),
    ]
