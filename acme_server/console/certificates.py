"""The certificate inventory pages: the table (server-side paging, sorting by column header,
filters held in the URL: console/certificate_filters.py), one certificate's details (every
field REST's details give, rendered from the same dict), and its metadata editor.

Everything goes through the functions REST's handlers call (access.certificate for the
certificate and the caller's reach, inventory.list_certificates / describe / set_metadata,
audit.record), so the console sees exactly what the caller's role reaches over REST.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from acme_server.console.certificate_filters import (
    METHODS,
    SORT_LABELS,
    STATUSES,
    InventoryView,
    read_view,
)
from acme_server.console.guard import ConsoleRoute, SignedIn, form_of, signed_in
from acme_server.console.templating import page
from acme_server.rest.certificates.render import certificate_details, request_json
from acme_server.rest.common import services_of
from acme_server.services import access
from acme_server.services.certificates import audit_trail, inventory
from acme_server.services.context import Services
from acme_server.services.errors import InvalidRequestError, ServiceError
from acme_server.services.roles import Permission
from store import CertificateRecord

EMPTY_ROWS = 2  # blank key/value rows the metadata form offers for additions
MAX_KEY = 255
MAX_VALUE = 1024


async def _names(services: Services, me: SignedIn) -> tuple[dict[str, str], dict[str, str]]:
    """Profile slugs and CA names by id, of those the caller reaches (for the filters'
    choices and the table's columns)."""
    profiles = await access.visible(services, me.principal, "profile")
    cas = await access.visible(services, me.principal, "ca")
    slugs = {
        p.id: p.slug
        for p in await services.store.list_profiles()
        if profiles is None or p.id in profiles
    }
    names = {c.id: c.name for c in await services.store.list_cas() if cas is None or c.id in cas}
    return slugs, names


async def certificates_page(request: Request) -> Response:
    """GET /ui/certificates -- the inventory table."""
    me = signed_in(request)
    services = services_of(request)
    view = read_view(request.query_params)
    slugs, ca_names = await _names(services, me)
    rows: list[dict[str, Any]] = []
    total = 0
    status = 200
    if view.errors:
        status = 400
    else:
        now = datetime.now(UTC)
        query = view.query(access.profile_filter(me.principal))
        try:
            records, total = await inventory.list_certificates(services, query, now)
        except InvalidRequestError as exc:
            view.errors["q"] = str(exc)
            status, records = 400, []
        rows = [_row(record, now, slugs, ca_names) for record in records]
    return page(
        request,
        "certificates.html",
        {
            "title": "Certificates",
            "view": view,
            "rows": rows,
            "page_info": view.page_info(total),
            "profiles": sorted(slugs.items(), key=lambda item: item[1]),
            "cas": sorted(ca_names.items(), key=lambda item: item[1]),
            "statuses": STATUSES,
            "methods": METHODS,
            "columns": SORT_LABELS,
        },
        status=status,
    )


def _row(
    record: CertificateRecord, now: datetime, slugs: dict[str, str], ca_names: dict[str, str]
) -> dict[str, Any]:
    return {
        "id": record.id,
        "commonName": record.common_name,
        "friendlyName": record.friendly_name,
        "status": inventory.effective_status(record, now).value,
        "serialNumber": record.serial_hex,
        "notAfter": record.not_after,
        "createdAt": record.created_at,
        "profileId": record.profile_id,
        "profile": slugs.get(record.profile_id or "", ""),
        "caId": record.ca_id,
        "ca": ca_names.get(record.ca_id or "", ""),
        "method": record.request_method.value,
    }


async def _details_context(
    services: Services, me: SignedIn, record: CertificateRecord
) -> dict[str, Any]:
    now = datetime.now(UTC)
    cert = certificate_details(await inventory.describe(services, record, now), now)
    origin: dict[str, Any] | None = None
    if record.certificate_request_id:
        try:
            found = await access.certificate_request(
                services, me.principal, Permission.REQUEST_READ, record.certificate_request_id
            )
            origin = request_json(found)
        except ServiceError:
            origin = None  # deleted, or beyond the caller's role: shown as an id only
    rows = [{"key": k, "value": v} for k, v in cert["metadata"].items()]
    return {
        "title": cert["commonName"] or cert["serialNumber"],
        "cert": cert,
        "origin": origin,
        "meta_rows": rows + [{"key": "", "value": ""}] * EMPTY_ROWS,
        "errors": {},
        "saved": False,
    }


async def certificate_page(request: Request) -> Response:
    """GET /ui/certificates/{certificate_id} -- one certificate in full."""
    me = signed_in(request)
    services = services_of(request)
    ref = request.path_params["certificate_id"]
    record = await access.certificate(services, me.principal, Permission.CERTIFICATE_READ, ref)
    context = await _details_context(services, me, record)
    context["saved"] = request.query_params.get("saved") == "1"
    return page(request, "certificate.html", context)


def _metadata_rows(request: Request) -> list[dict[str, str]]:
    """The form's key/value rows, in order, minus the removed and the blank ones."""
    form = form_of(request)
    keys, values = form.getlist("key"), form.getlist("value")
    if len(keys) != len(values):
        raise InvalidRequestError("every metadata row needs a key field and a value field")
    removed = {str(v) for v in form.getlist("remove")}
    kept: list[dict[str, str]] = []
    for index, (raw_key, raw_value) in enumerate(zip(keys, values, strict=True)):
        if not isinstance(raw_key, str) or not isinstance(raw_value, str):
            raise InvalidRequestError("a file upload is not accepted here")
        key, value = raw_key.strip(), raw_value.strip()
        if str(index) not in removed and (key or value):
            kept.append({"key": key, "value": value})
    return kept


def _metadata_of(rows: list[dict[str, str]]) -> dict[str, str]:
    """The new metadata; InvalidRequestError saying what is wrong with a row."""
    wanted: dict[str, str] = {}
    for row in rows:
        key, value = row["key"], row["value"]
        if "\x00" in key or "\x00" in value or len(key) > MAX_KEY or len(value) > MAX_VALUE:
            raise InvalidRequestError(f"keys are 1-{MAX_KEY} and values 0-{MAX_VALUE} characters")
        if not key:
            raise InvalidRequestError(f"the value {value[:60]!r} has no key")
        if key in wanted:
            raise InvalidRequestError(f"the key {key!r} is given twice")
        wanted[key] = value
    return wanted


async def update_metadata(request: Request) -> Response:
    """POST /ui/certificates/{certificate_id}/metadata -- replace the certificate's metadata."""
    me = signed_in(request)
    services = services_of(request)
    ref = request.path_params["certificate_id"]
    record = await access.certificate(services, me.principal, Permission.CERTIFICATE_EDIT, ref)
    rows = _metadata_rows(request)
    try:
        updated = await inventory.set_metadata(services, record, _metadata_of(rows))
    except InvalidRequestError as exc:
        context = await _details_context(services, me, record)
        context["meta_rows"] = rows + [{"key": "", "value": ""}] * EMPTY_ROWS
        context["errors"] = {"metadata": str(exc)}
        return page(request, "certificate.html", context, status=400)
    await audit_trail.metadata_updated(services, me.principal, record, list(updated.metadata))
    return RedirectResponse(f"/ui/certificates/{record.id}?saved=1#metadata", status_code=303)


def routes() -> list[BaseRoute]:
    one = "/ui/certificates/{certificate_id}"
    return [
        ConsoleRoute("/ui/certificates", certificates_page, ["GET"], Permission.CERTIFICATE_LIST),
        ConsoleRoute(one, certificate_page, ["GET"], Permission.CERTIFICATE_READ),
        ConsoleRoute(one + "/metadata", update_metadata, ["POST"], Permission.CERTIFICATE_EDIT),
    ]


__all__ = ["InventoryView", "routes"]
