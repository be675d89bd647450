"""REST: getting certificates out (PEM/JSON bundle, PKCS#12, a profile's latest active
bundle). A member identity reaches only the certificates it owns
(acme_server/services/access.py): another's is a 404. Reading a private key is audited."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from acme_server.rest.auth import Principal, require_principal
from acme_server.rest.body import Field, body, parse
from acme_server.rest.certificates.render import bundle_json
from acme_server.rest.common import ApiError, iso, read_json, services_of
from acme_server.services import access, audit
from acme_server.services.access import Action
from acme_server.services.certificates.bundles import Bundle, bundle_of, pem_text
from acme_server.services.certificates.export import export_pkcs12
from acme_server.services.certificates.inventory import latest_active
from acme_server.services.context import Services
from acme_server.services.profiles.lookup import find_profile
from store import CertificateRecord

PEM_MEDIA_TYPE = "application/x-pem-file"
PKCS12_MEDIA_TYPE = "application/x-pkcs12"
MAX_PASSWORD = 1024
MAX_ALIAS = 255
NO_STORE = {"Cache-Control": "no-store"}  # answers that may carry a private key
PREFIX = "/api/v1/cert-manager"
_LIMITS = {"long": f"password and alias are limited to {MAX_PASSWORD}/{MAX_ALIAS}"}
EXPORT_REQUEST = body(
    "CertificateExportRequest",
    Field(
        "format",
        "string",
        enum=("pkcs12", "pem"),
        default="pkcs12",
        errors={"enum": "format must be pkcs12 or pem"},
    ),
    Field(
        "password",
        "string",
        default="",
        max_length=MAX_PASSWORD,
        description="PKCS#12: required, not empty",
        errors=_LIMITS,
    ),
    Field(
        "alias",
        "string",
        default="",
        max_length=MAX_ALIAS,
        description="PKCS#12 friendlyName; default the friendly name",
        errors=_LIMITS,
    ),
    closed=False,
)


def _wants_pem(request: Request) -> bool:
    if request.query_params.get("format") == "pem":
        return True
    accept = request.headers.get("accept", "")
    return PEM_MEDIA_TYPE in accept or "application/pem-certificate-chain" in accept


async def _audit_key_read(
    services: Services, principal: Principal, action: str, cert: CertificateRecord
) -> None:
    """A private key leaving the server is recorded like a write."""
    await audit.record(
        services,
        actor=principal.actor,
        action=action,
        target_type="certificate",
        target_id=cert.id,
        details={"serialNumber": cert.serial_hex},
    )


def _bundle_response(request: Request, bundle: Bundle) -> Response:
    if _wants_pem(request):
        return Response(pem_text(bundle), media_type=PEM_MEDIA_TYPE, headers=NO_STORE)
    return JSONResponse(bundle_json(bundle), headers=NO_STORE)


async def get_bundle(request: Request) -> Response:
    """GET /api/v1/cert-manager/certificates/{certificateId}/bundle -- the certificate,
    its chain and its private key when the server holds it.

    Response 200 JSON: {"certificateId", "serialNumber", "certificate",
    "certificateChain", "issuingCaCertificate", "privateKey" (null unless managed)};
    with `?format=pem` or `Accept: application/x-pem-file`: one PEM text (certificate,
    chain, key). Reading a private key is audited.
    """
    principal = await require_principal(request)
    services = services_of(request)
    ref = request.path_params["certificate_id"]
    cert = await access.certificate(services, principal, Action.CERTIFICATE_EXPORT, ref)
    bundle = bundle_of(services, cert)
    if bundle.private_key is not None:
        await _audit_key_read(services, principal, "certificate.export", cert)
    return _bundle_response(request, bundle)


async def export_certificate(request: Request) -> Response:
    """POST /api/v1/cert-manager/certificates/{certificateId}/export -- export a
    certificate as PKCS#12 or PEM.

    Request: {"format": "pkcs12" | "pem" (default "pkcs12"), "password" (PKCS#12: required,
    non-empty), "alias" (PKCS#12 friendlyName; default the friendly name)}. Response 200:
    `application/x-pkcs12` bytes (AES-256-CBC, PBKDF2-SHA256, HMAC-SHA256), or
    `application/x-pem-file` text. Audited.
    """
    principal = await require_principal(request)
    services = services_of(request)
    values = parse(EXPORT_REQUEST, await read_json(request))
    fmt: str = values["format"]
    password: str = values["password"]
    alias: str = values["alias"]
    if fmt == "pkcs12" and not password:
        raise ApiError(400, "password is required for a PKCS#12 export and must not be empty")
    ref = request.path_params["certificate_id"]
    cert = await access.certificate(services, principal, Action.CERTIFICATE_EXPORT, ref)
    if fmt == "pem":
        bundle = bundle_of(services, cert)
        await _audit_key_read(services, principal, "certificate.export", cert)
        return Response(pem_text(bundle), media_type=PEM_MEDIA_TYPE, headers=NO_STORE)
    data = export_pkcs12(services, cert, password=password, alias=alias)
    await _audit_key_read(services, principal, "certificate.export", cert)
    filename = f"{cert.serial_hex}.p12"
    return Response(
        data,
        media_type=PKCS12_MEDIA_TYPE,
        headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def latest_bundle(request: Request) -> Response:
    """GET /api/v1/cert-manager/certificate-profiles/{profileId}/certificates/latest --
    the profile's newest active, unrevoked, unexpired certificate as a bundle.

    `profileId`: id or slug. Response 200: as GET .../certificates/{id}/bundle (JSON or
    PEM) plus `commonName` and `notAfter` in JSON; 404 when there is none (for a member
    identity: none of its own).
    """
    principal = await require_principal(request)
    services = services_of(request)
    profile = await find_profile(services, request.path_params["profile_id"])
    owner = access.owner_filter(principal, Action.CERTIFICATE_EXPORT)
    cert = await latest_active(services, profile, datetime.now(UTC), owner=owner)
    bundle = bundle_of(services, cert)
    if bundle.private_key is not None:
        await _audit_key_read(services, principal, "certificate.export", cert)
    if _wants_pem(request):
        return Response(pem_text(bundle), media_type=PEM_MEDIA_TYPE, headers=NO_STORE)
    body = bundle_json(bundle) | {"commonName": cert.common_name, "notAfter": iso(cert.not_after)}
    return JSONResponse(body, headers=NO_STORE)


def routes() -> list[BaseRoute]:
    one = f"{PREFIX}/certificates/{{certificate_id}}"
    return [
        Route(one + "/bundle", get_bundle, methods=["GET"]),
        Route(one + "/export", export_certificate, methods=["POST"]),
        Route(
            f"{PREFIX}/certificate-profiles/{{profile_id}}/certificates/latest",
            latest_bundle,
            methods=["GET"],
        ),
    ]
