"""REST: issuing and renewing certificates. The other certificate endpoints are the
sibling modules of this package (inventory, revoke, export, crls); schemas.py describes
their bodies for the OpenAPI document.

Every handler authenticates first (Bearer token, 401 otherwise), then reads its input
(4xx before anything is stored), then asks acme_server/services/access.py whether the
caller may do it (another identity's certificate is a 404, as a missing one), then calls
one service; every write is audited. A certificate issued here belongs to the caller.
"""

from __future__ import annotations

from dataclasses import replace

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from acme_server.rest.auth import Principal, require_principal
from acme_server.rest.certificates.bodies import enroll_request
from acme_server.rest.certificates.render import issued_json
from acme_server.rest.common import ApiError, read_json, services_of
from acme_server.services import access, audit
from acme_server.services.access import Action
from acme_server.services.certificates.bundles import issued_bundle
from acme_server.services.certificates.enrollment import Enrollment, PolicyViolationError, enroll
from acme_server.services.certificates.renewal import renew_now
from acme_server.services.context import Services

PREFIX = "/api/v1/cert-manager"
NO_STORE = {"Cache-Control": "no-store"}  # answers that may carry a private key


async def audit_issued(
    services: Services, principal: Principal, action: str, enrollment: Enrollment
) -> None:
    cert = enrollment.issued.record
    await audit.record(
        services,
        actor=principal.actor,
        action=action,
        target_type="certificate",
        target_id=cert.id,
        details={
            "serialNumber": cert.serial_hex,
            "commonName": cert.common_name,
            "profileId": cert.profile_id,
            "requestMethod": cert.request_method.value,
            "certificateRequestId": enrollment.request.id,
            "renewedFromId": cert.renewed_from_id,
        },
    )


async def issue_certificate(request: Request) -> Response:
    """POST /api/v1/cert-manager/certificates -- issue a certificate.

    Request (JSON): `profileId` (profile id or slug, required); either `csr` (PEM; newlines
    may be escaped as "\\n"; subject, SANs and key come from it) or managed `attributes`:
    `commonName`, `altNames` (an array of {"type": "dns_name"|"ip_address"|"email"|"uri",
    "value"}, or a comma-separated string of names), `organization`,
    `organizationalUnit`, `country`, `state`, `locality`, `keyAlgorithm` (RSA_2048,
    RSA_3072, RSA_4096, EC_P256, EC_P384, EC_P521), `signatureAlgorithm` ("RSA-SHA256",
    "ECDSA-SHA384", ...: its hash is used, its family must be the signing key's),
    `keyUsages`, `extendedKeyUsages` (e.g. "digital_signature", "server_auth"), `ttl`
    ("365d"; with a CSR, attributes may hold only ttl, signatureAlgorithm and usages).
    Unset attributes take the profile's defaults. Optional `metadata`: {string: string}.
    The certificate belongs to the calling identity (who alone, with admins, sees it).

    Response 200: {"certificate": {"certificate", "certificateChain",
    "issuingCaCertificate", "privateKey" (managed keys only), "serialNumber",
    "certificateId"}, "certificateRequestId"}. 400 with `details` listing every policy
    violation; 404 for an unknown profile.
    """
    principal = await require_principal(request)
    services = services_of(request)
    wanted = enroll_request(await read_json(request))
    access.require(principal, Action.CERTIFICATE_ISSUE)
    wanted = replace(wanted, owner_identity_id=principal.identity_id)
    try:
        enrollment = await enroll(services, wanted, channel="api")
    except PolicyViolationError as exc:
        raise ApiError(400, str(exc), details=list(exc.violations)) from None
    await audit_issued(services, principal, "certificate.issue", enrollment)
    return JSONResponse(issued_json(enrollment, issued_bundle(enrollment.issued)), headers=NO_STORE)


async def renew_certificate(request: Request) -> Response:
    """POST /api/v1/cert-manager/certificates/{certificateId}/renew -- renew now.

    No body. A new certificate from the same profile and request attributes, with a fresh
    key, linked both ways (renewedFromId / renewedById), carrying the metadata; the
    profile's current policy applies. Response 200: as issuance, plus `renewedFromId`.
    400 "cannot renew: the server does not hold this certificate's private key" for CSR
    and ACME certificates; 409 when it was already renewed or was never signed. The
    renewal belongs to the renewed certificate's owner.
    """
    principal = await require_principal(request)
    services = services_of(request)
    ref = request.path_params["certificate_id"]
    cert = await access.certificate(services, principal, Action.CERTIFICATE_RENEW, ref)
    try:
        enrollment = await renew_now(services, cert, channel="api")
    except PolicyViolationError as exc:
        raise ApiError(400, str(exc), details=list(exc.violations)) from None
    await audit_issued(services, principal, "certificate.renew", enrollment)
    body = issued_json(enrollment, issued_bundle(enrollment.issued))
    body["renewedFromId"] = cert.id
    return JSONResponse(body, headers=NO_STORE)


def routes() -> list[BaseRoute]:
    certs = f"{PREFIX}/certificates"
    return [
        Route(certs, issue_certificate, methods=["POST"]),
        Route(certs + "/{certificate_id}/renew", renew_certificate, methods=["POST"]),
    ]
