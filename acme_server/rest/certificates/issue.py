"""REST: issuing and renewing certificates. The other certificate endpoints are the
sibling modules of this package (inventory, revoke, export, crls); schemas.py describes
their bodies for the OpenAPI document.

Every route's permission is checked before its handler runs (acme_server/rest/guard.py);
the handler reads its input (4xx before anything is stored), asks
acme_server/services/access.py whether the caller reaches the profile or certificate (a
certificate of a profile it is not granted is a 404, as a missing one; issuing from such a
profile a 404 too), then calls one service; every write is audited. The managed private key
is in the answer only when the caller may export it (else privateKeyWithheld says why).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from acme_server.rest.certificates.bodies import enroll_request
from acme_server.rest.certificates.render import issued_json
from acme_server.rest.common import ApiError, read_json, services_of
from acme_server.rest.guard import ApiRoute, principal_of
from acme_server.services import access
from acme_server.services.certificates import audit_trail
from acme_server.services.certificates.bundles import issued_bundle
from acme_server.services.certificates.enrollment import Enrollment, PolicyViolationError, enroll
from acme_server.services.certificates.renewal import renew_now
from acme_server.services.context import Services
from acme_server.services.identities.tokens import Principal
from acme_server.services.roles import Permission

PREFIX = "/api/v1/cert-manager"
NO_STORE = {"Cache-Control": "no-store"}  # answers that may carry a private key


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
    The caller must be granted the profile (404 as an unknown profile otherwise).

    Response 200: {"certificate": {"certificate", "certificateChain",
    "issuingCaCertificate", "privateKey" (managed keys only), "serialNumber",
    "certificateId"}, "certificateRequestId", "notAfterCut", "warnings"}. The ttl counts from
    issuance (notBefore is backdated a minute on top); a notAfter past the issuing CA's own
    is cut to it, and then `notAfterCut` says so ({"reason": "issuing_ca_not_after",
    "notAfter", "requestedNotAfter"}; null otherwise) and `warnings` holds one line about
    it. 400 with `details` listing every policy violation; 404 for an unknown profile.
    """
    principal = principal_of(request)
    services = services_of(request)
    wanted = enroll_request(await read_json(request))
    profile = await access.profile(services, principal, wanted.profile_ref)
    wanted = replace(wanted, profile_ref=profile.id, owner_identity_id=principal.identity_id)
    try:
        enrollment = await enroll(services, wanted, channel="api")
    except PolicyViolationError as exc:
        raise ApiError(400, str(exc), details=list(exc.violations)) from None
    await audit_trail.issued(services, principal, "certificate.issue", enrollment)
    return JSONResponse(await _answer(services, principal, enrollment), headers=NO_STORE)


async def _answer(
    services: Services, principal: Principal, enrollment: Enrollment
) -> dict[str, Any]:
    issued = enrollment.issued
    withheld = await access.key_refusal(services, principal, issued.record)
    return issued_json(enrollment, issued_bundle(issued, key_withheld=withheld))


async def renew_certificate(request: Request) -> Response:
    """POST /api/v1/cert-manager/certificates/{certificateId}/renew -- renew now.

    No body. A new certificate from the same profile and request attributes, with a fresh
    key, linked both ways (renewedFromId / renewedById), carrying the metadata; the
    profile's current policy applies. Response 200: as issuance, plus `renewedFromId`.
    400 "cannot renew: the server does not hold this certificate's private key" for CSR
    and ACME certificates; 409 when it was already renewed or was never signed.
    """
    principal = principal_of(request)
    services = services_of(request)
    ref = request.path_params["certificate_id"]
    cert = await access.certificate(services, principal, Permission.CERTIFICATE_RENEW, ref)
    try:
        enrollment = await renew_now(services, cert, channel="api")
    except PolicyViolationError as exc:
        raise ApiError(400, str(exc), details=list(exc.violations)) from None
    await audit_trail.issued(services, principal, "certificate.renew", enrollment)
    body = await _answer(services, principal, enrollment)
    body["renewedFromId"] = cert.id
    return JSONResponse(body, headers=NO_STORE)


def routes() -> list[BaseRoute]:
    certs = f"{PREFIX}/certificates"
    return [
        ApiRoute(certs, issue_certificate, ["POST"], Permission.CERTIFICATE_ISSUE),
        ApiRoute(
            certs + "/{certificate_id}/renew",
            renew_certificate,
            ["POST"],
            Permission.CERTIFICATE_RENEW,
        ),
    ]
