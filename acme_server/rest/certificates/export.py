"""REST: getting certificates out (PEM/JSON bundle, PKCS#12, a profile's latest active
bundle). A caller reaches the certificates of the profiles it is granted
(acme_server/services/access.py): another's is a 404. A private key is given only to a
caller with certificate.export, never for an internal certificate or one whose profile
forbids key export; reading one is audited."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from acme_server.rest.body import Field, body, parse
from acme_server.rest.certificates.render import bundle_json
from acme_server.rest.common import ApiError, iso, read_json, services_of
from acme_server.rest.guard import ApiRoute, principal_of
from acme_server.rest.query import Param, declares, parse_query, query
from acme_server.services import access
from acme_server.services.certificates import audit_trail
from acme_server.services.certificates.bundles import Bundle, bundle_of, pem_text
from acme_server.services.certificates.export import export_pkcs12
from acme_server.services.certificates.inventory import latest_active
from acme_server.services.context import Services
from acme_server.services.identities.tokens import Principal
from acme_server.services.roles import Permission
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
BUNDLE_QUERY = query(
    Param(
        "format",
        description="pem: one PEM text (as Accept: application/x-pem-file asks); "
        "json (the default unless Accept asks for PEM): the JSON bundle",
        enum=("json", "pem"),
    )
)


def _wants_pem(request: Request) -> bool:
    wanted = parse_query(BUNDLE_QUERY, request)["format"]
    if wanted is not None:
        return bool(wanted == "pem")
    accept = request.headers.get("accept", "")
    return PEM_MEDIA_TYPE in accept or "application/pem-certificate-chain" in accept


def _bundle_response(bundle: Bundle, pem: bool) -> Response:
    if pem:
        return Response(pem_text(bundle), media_type=PEM_MEDIA_TYPE, headers=NO_STORE)
    return JSONResponse(bundle_json(bundle), headers=NO_STORE)


@declares(BUNDLE_QUERY)
async def get_bundle(request: Request) -> Response:
    """GET /api/v1/cert-manager/certificates/{certificateId}/bundle -- the certificate,
    its chain and its private key when the server holds it and the caller may export it.

    Response 200 JSON: {"certificateId", "serialNumber", "certificate",
    "certificateChain", "issuingCaCertificate", "privateKey" (null unless managed and
    exportable by the caller), "privateKeyWithheld" (why a key the server holds is not
    given: no certificate.export, an internal certificate, a profile without key export)};
    with `?format=pem` or `Accept: application/x-pem-file`: one PEM text (certificate,
    chain, key). Reading a private key is audited.
    """
    principal = principal_of(request)
    services = services_of(request)
    pem = _wants_pem(request)  # a bad format is refused before any key is read
    ref = request.path_params["certificate_id"]
    cert = await access.certificate(services, principal, Permission.CERTIFICATE_READ, ref)
    return await _bundle_answer(services, principal, cert, pem)


async def _bundle_answer(
    services: Services,
    principal: Principal,
    cert: CertificateRecord,
    pem: bool,
    extra: dict[str, str | None] | None = None,
) -> Response:
    withheld = await access.key_refusal(services, principal, cert)
    bundle = bundle_of(services, cert, key_withheld=withheld)
    if bundle.private_key is not None:
        await audit_trail.key_read(services, principal, cert)
    if pem or extra is None:
        return _bundle_response(bundle, pem)
    return JSONResponse(bundle_json(bundle) | extra, headers=NO_STORE)


async def export_certificate(request: Request) -> Response:
    """POST /api/v1/cert-manager/certificates/{certificateId}/export -- export a
    certificate as PKCS#12 or PEM.

    Request: {"format": "pkcs12" | "pem" (default "pkcs12"), "password" (PKCS#12: required,
    non-empty), "alias" (PKCS#12 friendlyName; default the friendly name)}. Response 200:
    `application/x-pkcs12` bytes (AES-256-CBC, PBKDF2-SHA256, HMAC-SHA256), or
    `application/x-pem-file` text. Audited. 403 (certificate.export) for a certificate
    that is internal (the server's own TLS certificate) or whose profile has
    enrollment.api.allowKeyExport false.
    """
    principal = principal_of(request)
    services = services_of(request)
    values = parse(EXPORT_REQUEST, await read_json(request))
    fmt: str = values["format"]
    password: str = values["password"]
    alias: str = values["alias"]
    if fmt == "pkcs12" and not password:
        raise ApiError(400, "password is required for a PKCS#12 export and must not be empty")
    ref = request.path_params["certificate_id"]
    cert = await access.certificate(services, principal, Permission.CERTIFICATE_EXPORT, ref)
    await access.require_key_export(services, principal, cert)
    if fmt == "pem":
        bundle = bundle_of(services, cert)
        await audit_trail.key_read(services, principal, cert)
        return Response(pem_text(bundle), media_type=PEM_MEDIA_TYPE, headers=NO_STORE)
    data = export_pkcs12(services, cert, password=password, alias=alias)
    await audit_trail.key_read(services, principal, cert)
    filename = f"{cert.serial_hex}.p12"
    return Response(
        data,
        media_type=PKCS12_MEDIA_TYPE,
        headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{filename}"'},
    )


@declares(BUNDLE_QUERY)
async def latest_bundle(request: Request) -> Response:
    """GET /api/v1/cert-manager/certificate-profiles/{profileId}/certificates/latest --
    the profile's newest active, unrevoked, unexpired certificate as a bundle.

    `profileId`: id or slug. Response 200: as GET .../certificates/{id}/bundle (JSON or
    PEM) plus `commonName` and `notAfter` in JSON; 404 when there is none, or the caller
    is not granted the profile.
    """
    principal = principal_of(request)
    services = services_of(request)
    pem = _wants_pem(request)  # a bad format is refused before any key is read
    profile = await access.profile(services, principal, request.path_params["profile_id"])
    cert = await latest_active(services, profile, datetime.now(UTC))
    extra = {"commonName": cert.common_name, "notAfter": iso(cert.not_after)}
    return await _bundle_answer(services, principal, cert, pem, extra)


def routes() -> list[BaseRoute]:
    one = f"{PREFIX}/certificates/{{certificate_id}}"
    return [
        ApiRoute(one + "/bundle", get_bundle, ["GET"], Permission.CERTIFICATE_READ),
        ApiRoute(one + "/export", export_certificate, ["POST"], Permission.CERTIFICATE_EXPORT),
        ApiRoute(
            f"{PREFIX}/certificate-profiles/{{profile_id}}/certificates/latest",
            latest_bundle,
            ["GET"],
            Permission.CERTIFICATE_READ,
        ),
    ]
