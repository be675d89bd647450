"""The certificate authorities in the console: the list, one CA's details (its certificate,
chain, children and current CRL, with downloads), and creating a root or an intermediate.

The pages call what REST's /ca/internal routes call (access.visible / access.ca for reach,
services/cas/create.py to create, the same audit record). The CA certificate downloads are
the public /pki/ URLs (PEM and DER); the CRL's DER is the public distribution point, its
PEM form is /ui/cas/{id}/crl.pem here (the public side serves DER only).
"""

from __future__ import annotations

from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from acme_server.console.forms import text
from acme_server.console.guard import ConsoleRoute, form_of, signed_in
from acme_server.console.policies_pages import place_error
from acme_server.console.templating import page
from acme_server.errors import mapping_of
from acme_server.rest.common import services_of
from acme_server.services import access
from acme_server.services.cas.crls import current_crl
from acme_server.services.cas.requests import DEFAULT_TTL, SUBJECT_KEYS, CARequest, create_requested
from acme_server.services.context import Services
from acme_server.services.errors import ServiceError
from acme_server.services.roles import Permission
from pki_types.model import HashAlgorithm, KeyAlgorithm
from store import CARecord

FIELDS = ("type", "name", "keyAlgorithm", "hashAlgorithm", "ttl", "parentCaId", "subject")


async def _visible_cas(services: Services, request: Request) -> list[CARecord]:
    seen = await access.visible(services, signed_in(request).principal, "ca")
    return [ca for ca in await services.store.list_cas() if seen is None or ca.id in seen]


async def cas_page(request: Request) -> Response:
    """GET /ui/cas -- the certificate authorities the caller reaches, oldest first."""
    services = services_of(request)
    cas = await _visible_cas(services, request)
    names = {ca.id: ca.name for ca in cas}
    return page(request, "cas.html", {"cas": cas, "names": names})


def _fingerprint(cert: x509.Certificate, algorithm: hashes.HashAlgorithm) -> str:
    return cert.fingerprint(algorithm).hex(":").upper()


def _certificate_facts(cert: x509.Certificate) -> dict[str, Any]:
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        path_length = constraints.path_length
    except x509.ExtensionNotFound:
        path_length = None
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "serial": format(cert.serial_number, "X"),
        "notBefore": cert.not_valid_before_utc,
        "notAfter": cert.not_valid_after_utc,
        "signatureAlgorithm": cert.signature_algorithm_oid._name,
        "pathLength": path_length,
        "sha256": _fingerprint(cert, hashes.SHA256()),
        "sha1": _fingerprint(cert, hashes.SHA1()),  # noqa: S303 (a fingerprint, as shown)
    }


async def ca_page(request: Request) -> Response:
    """GET /ui/cas/{ca_id} -- one CA: certificate, chain, children, current CRL, downloads."""
    me = signed_in(request)
    services = services_of(request)
    ca = await access.ca(services, me.principal, request.path_params["ca_id"])
    cert = x509.load_pem_x509_certificate(ca.certificate_pem.encode())
    above = x509.load_pem_x509_certificates(ca.chain_pem.encode()) if ca.chain_pem.strip() else []
    chain = [_certificate_facts(c) for c in (cert, *above)]  # this CA, then up to the root
    crl = await current_crl(services, ca.id)
    cas = await _visible_cas(services, request)
    context = {
        "ca": ca,
        "cert": _certificate_facts(cert),
        "chain": chain,
        "crl": crl,
        "parent": next((c for c in cas if c.id == ca.parent_id), None),
        "children": [c for c in cas if c.parent_id == ca.id],
        "created": request.query_params.get("created") == "1",
    }
    return page(request, "ca.html", context)


async def crl_pem(request: Request) -> Response:
    """GET /ui/cas/{ca_id}/crl.pem -- the CA's current CRL in PEM, as a download."""
    me = signed_in(request)
    services = services_of(request)
    ca = await access.ca(services, me.principal, request.path_params["ca_id"])
    crl = await current_crl(services, ca.id)
    body = x509.load_der_x509_crl(crl.der).public_bytes(Encoding.PEM)
    disposition = f'attachment; filename="{ca.id}.crl.pem"'
    return Response(
        body, media_type="application/x-pem-file", headers={"Content-Disposition": disposition}
    )


def _blank_form() -> dict[str, str]:
    return {"type": "root", "keyAlgorithm": "EC_P384", "hashAlgorithm": "SHA384"}


async def _form_page(
    request: Request, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> Response:
    services = services_of(request)
    parents = [ca for ca in await services.store.list_cas() if ca.status == "active"]
    context = {
        "values": values,
        "errors": errors,
        "parents": parents,
        "key_algorithms": [k.value for k in KeyAlgorithm],
        "hash_algorithms": [h.value for h in HashAlgorithm],
        "subject_keys": SUBJECT_KEYS,
        "default_ttl": DEFAULT_TTL,
    }
    return page(request, "ca_new.html", context, status=status)


async def new_ca_page(request: Request) -> Response:
    """GET/POST /ui/cas/new -- create a root or an intermediate CA (errors in place)."""
    if request.method == "GET":
        return await _form_page(request, _blank_form(), {})
    me = signed_in(request)
    form = form_of(request)
    keys = ("type", "name", "keyAlgorithm", "hashAlgorithm", "ttl", "parentCaId", *SUBJECT_KEYS)
    values = {key: text(form, key, 1024) for key in keys}
    if values["type"] == "root":
        values["parentCaId"] = ""
    asked = CARequest(
        kind=values["type"],
        name=values["name"],
        key_algorithm=values["keyAlgorithm"],
        hash_algorithm=values["hashAlgorithm"],
        ttl=values["ttl"] or None,
        subject=values,  # the form names the subject fields as REST's body does
        parent_ref=values["parentCaId"] or None,
    )
    try:
        ca = await create_requested(services_of(request), asked, actor=me.principal.actor)
    except ServiceError as exc:
        errors = place_error(str(exc), FIELDS)
        return await _form_page(request, values, errors, mapping_of(exc).rest_status)
    return RedirectResponse(f"/ui/cas/{ca.id}?created=1", status_code=303)


def routes() -> list[BaseRoute]:
    return [
        ConsoleRoute("/ui/cas", cas_page, ["GET"], Permission.CA_READ),
        ConsoleRoute("/ui/cas/new", new_ca_page, ["GET", "POST"], Permission.CA_MANAGE),
        ConsoleRoute("/ui/cas/{ca_id}", ca_page, ["GET"], Permission.CA_READ),
        ConsoleRoute("/ui/cas/{ca_id}/crl.pem", crl_pem, ["GET"], Permission.CA_READ),
    ]
