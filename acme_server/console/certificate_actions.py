"""What can be done to one certificate: the Options menu of its details page
(certificate_actions.html) and the pages behind it.

    GET  /ui/certificates/{id}/export              PEM texts with copy buttons, PKCS#12 form
    GET  /ui/certificates/{id}/export/{file}       certificate.pem, fullchain.pem, bundle.pem
    POST /ui/certificates/{id}/export/pkcs12       a .p12 download
    POST /ui/certificates/{id}/auto-renew          autoRenew=on|off
    POST /ui/certificates/{id}/renew               renew now
    GET/POST /ui/certificates/{id}/revoke          a reason and a confirmation
    GET/POST /ui/certificates/{id}/delete          a confirmation

Each calls what REST's route calls (rest/certificates/export.py, inventory.py, issue.py,
revoke.py): access.certificate with the same permission (a certificate of a profile the
caller is not granted is a 404 page), then the same service, audited as REST audits it. A
private key is shown or downloaded only when access.key_refusal allows it (the
certificate.export permission, a key the server holds, a profile allowing key export), and
every such view is audited as REST's bundle read is ("certificate.export"). A refusal of
the service (a CSR certificate's auto-renewal, an already revoked one) is a page with
REST's status and message, and changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from acme_server.console.forms import checked, text
from acme_server.console.guard import ConsoleRoute, form_of, signed_in
from acme_server.console.issue_pages import issued_page
from acme_server.console.templating import ENV, page
from acme_server.errors import mapping_of
from acme_server.rest.certificates.render import certificate_details
from acme_server.rest.common import services_of
from acme_server.services import access
from acme_server.services.certificates import audit_trail, auto_renewal, inventory
from acme_server.services.certificates.bundles import Bundle, bundle_of, pem_text
from acme_server.services.certificates.export import export_pkcs12
from acme_server.services.certificates.renewal import renew_now
from acme_server.services.certificates.revocation import revoke
from acme_server.services.context import Services
from acme_server.services.errors import InvalidRequestError, NotFoundError, ServiceError
from acme_server.services.identities.tokens import Principal
from acme_server.services.roles import Permission
from pki_types.model import RevocationReason
from store import CertificateRecord

PEM_MEDIA_TYPE = "application/x-pem-file"
PKCS12_MEDIA_TYPE = "application/x-pkcs12"
MAX_PASSWORD = 1024  # as REST's export body
MAX_ALIAS = 255
# RFC 5280 5.3.1 names of every reason REST's revoke body accepts (RevocationReason)
REASON_LABELS = {
    RevocationReason.UNSPECIFIED: "unspecified",
    RevocationReason.KEY_COMPROMISE: "keyCompromise",
    RevocationReason.CA_COMPROMISE: "cACompromise",
    RevocationReason.AFFILIATION_CHANGED: "affiliationChanged",
    RevocationReason.SUPERSEDED: "superseded",
    RevocationReason.CESSATION_OF_OPERATION: "cessationOfOperation",
    RevocationReason.CERTIFICATE_HOLD: "certificateHold",
    RevocationReason.PRIVILEGE_WITHDRAWN: "privilegeWithdrawn",
    RevocationReason.A_A_COMPROMISE: "aACompromise",
}
REASONS = [(r.value, REASON_LABELS.get(r, r.value)) for r in RevocationReason]
# the Options menu is included by the details page, whose context is not this module's
ENV.globals["revocation_reasons"] = REASONS
CONFIRM = "tick the box to confirm"


def _ref(request: Request) -> str:
    return str(request.path_params["certificate_id"])


def _back(cert_id: str) -> RedirectResponse:
    return RedirectResponse(f"/ui/certificates/{cert_id}", status_code=303)


async def _details(services: Services, cert: CertificateRecord) -> dict[str, Any]:
    now = datetime.now(UTC)
    return certificate_details(await inventory.describe(services, cert, now), now)


def _refused(request: Request, cert: CertificateRecord, exc: ServiceError) -> Response:
    """A service's refusal of an action, with REST's status and message; nothing changed."""
    return page(
        request,
        "certificate_refused.html",
        {"title": "Not done", "message": str(exc), "cert_id": cert.id, "serial": cert.serial_hex},
        status=mapping_of(exc).rest_status,
    )


async def _bundle(services: Services, principal: Principal, cert: CertificateRecord) -> Bundle:
    """REST's bundle: the key only when the caller may have it, and then audited."""
    withheld = await access.key_refusal(services, principal, cert)
    bundle = bundle_of(services, cert, key_withheld=withheld)
    if bundle.private_key is not None:
        await audit_trail.key_read(services, principal, cert)
    return bundle


async def _export_page(
    request: Request, cert: CertificateRecord, errors: dict[str, str], status: int = 200
) -> Response:
    me = signed_in(request)
    services = services_of(request)
    bundle = await _bundle(services, me.principal, cert)
    # REST's POST .../export refuses exactly when access.require_key_export does
    p12_refusal = await access.key_refusal(services, me.principal, cert)
    return page(
        request,
        "certificate_export.html",
        {
            "title": f"Export {cert.common_name or cert.serial_hex}",
            "cert": await _details(services, cert),
            "bundle": bundle,
            "p12_refusal": p12_refusal,
            "errors": errors,
        },
        status=status,
    )


async def export_page(request: Request) -> Response:
    """GET /ui/certificates/{id}/export -- PEM texts with copy buttons, downloads, PKCS#12."""
    me = signed_in(request)
    cert = await access.certificate(
        services_of(request), me.principal, Permission.CERTIFICATE_READ, _ref(request)
    )
    return await _export_page(request, cert, {})


FILES = ("certificate.pem", "fullchain.pem", "bundle.pem")


async def export_file(request: Request) -> Response:
    """GET /ui/certificates/{id}/export/{file} -- the leaf, the leaf and chain, or both with
    the private key (bundle.pem: certificate.export, audited) as a PEM download."""
    me = signed_in(request)
    services = services_of(request)
    wanted = str(request.path_params["file"])
    if wanted not in FILES:
        raise NotFoundError(f"no export {wanted!r}: one of {', '.join(FILES)}")
    cert = await access.certificate(
        services, me.principal, Permission.CERTIFICATE_READ, _ref(request)
    )
    if wanted == "bundle.pem":
        await access.require_key_export(services, me.principal, cert)
        body = pem_text(await _bundle(services, me.principal, cert))
    else:
        bundle = bundle_of(services, cert, key_withheld="not asked for")
        body = bundle.certificate + (bundle.chain if wanted == "fullchain.pem" else "")
    name = f"{cert.serial_hex}-{wanted}"
    return Response(
        body,
        media_type=PEM_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def export_pkcs12_download(request: Request) -> Response:
    """POST /ui/certificates/{id}/export/pkcs12 -- a password-protected .p12 download, as
    REST's POST .../export with format pkcs12 (certificate.export; audited)."""
    me = signed_in(request)
    services = services_of(request)
    form = form_of(request)
    cert = await access.certificate(
        services, me.principal, Permission.CERTIFICATE_EXPORT, _ref(request)
    )
    await access.require_key_export(services, me.principal, cert)
    password = str(form.get("password", ""))
    errors: dict[str, str] = {}
    if not password:
        errors["password"] = "password is required for a PKCS#12 export and must not be empty"  # noqa: S105
    elif len(password) > MAX_PASSWORD:
        errors["password"] = f"the password is limited to {MAX_PASSWORD} characters"
    try:
        alias = text(form, "alias", MAX_ALIAS)
    except InvalidRequestError as exc:
        errors["alias"], alias = str(exc), ""
    if errors:
        return await _export_page(request, cert, errors, status=400)
    data = export_pkcs12(services, cert, password=password, alias=alias)
    await audit_trail.key_read(services, me.principal, cert)
    return Response(
        data,
        media_type=PKCS12_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{cert.serial_hex}.p12"'},
    )


async def auto_renew_submit(request: Request) -> Response:
    """POST /ui/certificates/{id}/auto-renew -- turn server-driven renewal on or off, as
    REST's PATCH .../auto-renew (refused for CSR- and ACME-issued certificates)."""
    me = signed_in(request)
    services = services_of(request)
    wanted = text(form_of(request), "autoRenew", 8) == "on"
    cert = await access.certificate(
        services, me.principal, Permission.CERTIFICATE_EDIT, _ref(request)
    )
    try:
        await auto_renewal.set_auto_renew(services, cert, wanted)
    except ServiceError as exc:
        return _refused(request, cert, exc)
    await audit_trail.auto_renew_set(services, me.principal, cert, wanted)
    return _back(cert.id)


async def renew_submit(request: Request) -> Response:
    """POST /ui/certificates/{id}/renew -- renew now, as REST's POST .../renew: the new
    key shown once when the caller may have it, else on to the new certificate."""
    me = signed_in(request)
    services = services_of(request)
    cert = await access.certificate(
        services, me.principal, Permission.CERTIFICATE_RENEW, _ref(request)
    )
    try:
        enrollment = await renew_now(services, cert, channel="api")
    except ServiceError as exc:
        return _refused(request, cert, exc)
    await audit_trail.issued(services, me.principal, "certificate.renew", enrollment)
    new = enrollment.issued.record
    if await access.key_refusal(services, me.principal, new) is not None:
        return _back(new.id)
    return await issued_page(request, services, me.principal, enrollment, renewed_from_id=cert.id)


async def _confirm_page(
    request: Request,
    template: str,
    cert: CertificateRecord,
    errors: dict[str, str],
    status: int,
    chosen: str = RevocationReason.UNSPECIFIED.value,
) -> Response:
    return page(
        request,
        template,
        {
            "title": f"{'Revoke' if 'revoke' in template else 'Delete'} a certificate",
            "cert": await _details(services_of(request), cert),
            "reasons": REASONS,
            "errors": errors,
            "chosen": chosen,
        },
        status=status,
    )


async def revoke_page(request: Request) -> Response:
    """GET /ui/certificates/{id}/revoke -- the reason and the confirmation."""
    me = signed_in(request)
    cert = await access.certificate(
        services_of(request), me.principal, Permission.CERTIFICATE_REVOKE, _ref(request)
    )
    return await _confirm_page(request, "certificate_revoke.html", cert, {}, 200)


async def revoke_submit(request: Request) -> Response:
    """POST /ui/certificates/{id}/revoke -- revoke as REST does (the CA's CRL is
    regenerated at once); then back to the certificate, shown revoked."""
    me = signed_in(request)
    services = services_of(request)
    form = form_of(request)
    cert = await access.certificate(
        services, me.principal, Permission.CERTIFICATE_REVOKE, _ref(request)
    )
    errors: dict[str, str] = {}
    given = text(form, "reason", 64) or RevocationReason.UNSPECIFIED.value
    if given not in {r.value for r in RevocationReason}:
        errors["reason"] = "revocationReason must be one of " + ", ".join(
            r.value for r in RevocationReason
        )
    if not checked(form, "confirm"):
        errors["confirm"] = CONFIRM
    if errors:
        return await _confirm_page(request, "certificate_revoke.html", cert, errors, 400, given)
    reason = RevocationReason(given)
    try:
        await revoke(services, cert, reason)
    except ServiceError as exc:
        return _refused(request, cert, exc)
    await audit_trail.revoked(services, me.principal, cert, reason)
    return _back(cert.id)


async def delete_page(request: Request) -> Response:
    """GET /ui/certificates/{id}/delete -- what deleting means, and the confirmation."""
    me = signed_in(request)
    cert = await access.certificate(
        services_of(request), me.principal, Permission.CERTIFICATE_DELETE, _ref(request)
    )
    return await _confirm_page(request, "certificate_delete.html", cert, {}, 200)


async def delete_submit(request: Request) -> Response:
    """POST /ui/certificates/{id}/delete -- remove it from the inventory, as REST's DELETE
    (it is not revoked; a revoked one stays until it expires; a pending one is refused)."""
    me = signed_in(request)
    services = services_of(request)
    cert = await access.certificate(
        services, me.principal, Permission.CERTIFICATE_DELETE, _ref(request)
    )
    if not checked(form_of(request), "confirm"):
        return await _confirm_page(
            request, "certificate_delete.html", cert, {"confirm": CONFIRM}, 400
        )
    try:
        await inventory.delete_certificate(services, cert, datetime.now(UTC))
    except ServiceError as exc:
        return _refused(request, cert, exc)
    await audit_trail.deleted(services, me.principal, cert)
    return RedirectResponse("/ui/certificates?deleted=" + cert.id, status_code=303)


def routes() -> list[BaseRoute]:
    one = "/ui/certificates/{certificate_id}"
    return [
        ConsoleRoute(one + "/export", export_page, ["GET"], Permission.CERTIFICATE_READ),
        ConsoleRoute(
            one + "/export/pkcs12", export_pkcs12_download, ["POST"], Permission.CERTIFICATE_EXPORT
        ),
        ConsoleRoute(one + "/export/{file}", export_file, ["GET"], Permission.CERTIFICATE_READ),
        ConsoleRoute(one + "/auto-renew", auto_renew_submit, ["POST"], Permission.CERTIFICATE_EDIT),
        ConsoleRoute(one + "/renew", renew_submit, ["POST"], Permission.CERTIFICATE_RENEW),
        ConsoleRoute(one + "/revoke", revoke_page, ["GET"], Permission.CERTIFICATE_REVOKE),
        ConsoleRoute(one + "/revoke", revoke_submit, ["POST"], Permission.CERTIFICATE_REVOKE),
        ConsoleRoute(one + "/delete", delete_page, ["GET"], Permission.CERTIFICATE_DELETE),
        ConsoleRoute(one + "/delete", delete_submit, ["POST"], Permission.CERTIFICATE_DELETE),
    ]
