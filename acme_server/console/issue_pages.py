"""The issue dialog (GET/POST /ui/certificates/new): a certificate from a profile the caller
is granted, with a server-generated ("managed") key or from a pasted CSR.

The form's fields are REST's issuance body (POST /api/v1/cert-manager/certificates:
profileId, csr or attributes {commonName, altNames, organization, organizationalUnit,
country, state, locality, keyAlgorithm, signatureAlgorithm, keyUsages, extendedKeyUsages,
ttl}, metadata) and go to the same service (services/certificates/enrollment.enroll, the
"api" channel, so a profile with API enrollment off refuses) after the same reach check
(access.profile: a profile not granted is a 404). A refused request issues nothing: the
form comes back (400) with each policy message next to the field it is about. A managed
issuance shows its private key once (certificate_issued.html) when the caller may export
it, as REST's answer holds it; the issuance is audited as REST audits it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from acme_server.console.forms import MAX_FORM_BYTES, lines, text, texts
from acme_server.console.guard import ConsoleRoute, form_of, signed_in
from acme_server.console.templating import page
from acme_server.rest.certificates.render import issued_json
from acme_server.rest.common import services_of
from acme_server.services import access
from acme_server.services.certificates import audit_trail
from acme_server.services.certificates.bundles import issued_bundle
from acme_server.services.certificates.enrollment import (
    Enrollment,
    EnrollRequest,
    PolicyViolationError,
    enroll,
)
from acme_server.services.context import Services
from acme_server.services.errors import InvalidRequestError, ServiceError
from acme_server.services.identities.tokens import Principal
from acme_server.services.profiles.settings import EnrollmentConfig
from acme_server.services.roles import Permission
from pki_types.model import ExtendedKeyUsage, KeyAlgorithm, KeyUsage, SignatureAlgorithm
from policy import messages
from store import ProfileRecord

MAX_TEXT = 4096  # any one attribute, as REST's body allows
SUBJECT = (
    ("commonName", "Common name (CN)"),
    ("organization", "Organization (O)"),
    ("organizationalUnit", "Organizational unit (OU)"),
    ("country", "Country (C)"),
    ("state", "State or province (ST)"),
    ("locality", "Locality (L)"),
)
COUNTRY = re.compile(r"^[A-Za-z]{2}$")  # REST's attributes.country pattern
# policy/messages.py display names of subject attributes -> the form's field
_ATTRIBUTE_FIELDS = {
    messages.COMMON_NAME: "commonName",
    "organization": "organization",
    "organizational unit": "organizationalUnit",
    "country": "country",
    "state": "state",
    "locality": "locality",
}
# other messages by how they begin (policy/messages.py sentinels, the services' own)
_PREFIXES: tuple[tuple[tuple[str, ...], str], ...] = (
    ((messages.KEY_ALGORITHM_NOT_ALLOWED, "unknown key algorithm"), "keyAlgorithm"),
    (
        (messages.SIGNATURE_ALGORITHM_NOT_ALLOWED, "unknown signature algorithm"),
        "signatureAlgorithm",
    ),
    (("Key usage ", "Required key usage ", "unknown key usage"), "keyUsages"),
    (
        ("Extended key usage ", "Required extended key usage ", "unknown extended"),
        "extendedKeyUsages",
    ),
    ((messages.TTL_EXCEEDED, "invalid TTL", "cannot format a TTL"), "ttl"),
    (("metadata",), "metadata"),
)


@dataclass
class IssueForm:
    """What the dialog shows: the values as typed and the errors by field ("" = the top)."""

    mode: str = "managed"
    values: dict[str, str] = field(default_factory=dict)
    key_usages: list[str] = field(default_factory=list)
    extended_key_usages: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    def fail(self, name: str, message: str) -> None:
        known = self.errors.get(name)
        self.errors[name] = f"{known}; {message}" if known else message


async def issuable_profiles(services: Services, principal: Principal) -> list[ProfileRecord]:
    """The profiles the caller is granted whose API enrollment is on, by slug."""
    return sorted(
        (
            p
            for p in await services.store.list_profiles()
            if access.reaches_profile(principal, p.id) and EnrollmentConfig.of(p).api_enabled
        ),
        key=lambda p: p.slug,
    )


async def issued_page(
    request: Request,
    services: Services,
    principal: Principal,
    enrollment: Enrollment,
    *,
    renewed_from_id: str | None = None,
) -> Response:
    """The answer REST gives (issued_json), as a page: the certificate, its chain and the
    private key when the caller may have it (shown this once), with the export options."""
    issued = enrollment.issued
    withheld = await access.key_refusal(services, principal, issued.record)
    bundle = issued_bundle(issued, key_withheld=withheld)
    answer = issued_json(enrollment, bundle)
    return page(
        request,
        "certificate_issued.html",
        {
            "title": "Certificate renewed" if renewed_from_id else "Certificate issued",
            "answer": answer,
            "bundle": bundle,
            "record": issued.record,
            "renewed_from_id": renewed_from_id,
            "may_export": withheld is None,
        },
    )


def _form_page(
    request: Request, profiles: list[ProfileRecord], default: str, form: IssueForm, status: int
) -> Response:
    return page(
        request,
        "certificate_issue.html",
        {
            "title": "Issue a certificate",
            "profiles": profiles,
            "default_profile": default,
            "form": form,
            "subject_fields": SUBJECT,
            "key_algorithms": [k.value for k in KeyAlgorithm],
            "signature_algorithms": [s.value for s in SignatureAlgorithm],
            "key_usages": [u.value for u in KeyUsage],
            "extended_key_usages": [u.value for u in ExtendedKeyUsage],
        },
        status=status,
    )


async def _default_slug(services: Services, profiles: list[ProfileRecord]) -> str:
    default = await services.store.get_default_profile()
    if default is not None and any(p.id == default.id for p in profiles):
        return default.slug
    return profiles[0].slug if profiles else ""


async def issue_page(request: Request) -> Response:
    """GET /ui/certificates/new -- the issue dialog (?mode=csr for the CSR form)."""
    me = signed_in(request)
    services = services_of(request)
    profiles = await issuable_profiles(services, me.principal)
    default = await _default_slug(services, profiles)
    mode = "csr" if request.query_params.get("mode") == "csr" else "managed"
    wanted = request.query_params.get("profile", "")
    chosen = wanted if any(p.slug == wanted for p in profiles) else default
    form = IssueForm(mode=mode, values={"profileId": chosen})
    return _form_page(request, profiles, default, form, 200)


def _metadata(value: str, form: IssueForm) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in value.splitlines():
        if not line.strip():
            continue
        key, sep, item = line.partition("=")
        if not sep or not key.strip():
            form.fail("metadata", f"metadata: {line.strip()!r} is not a key=value line")
        elif key.strip() in found:
            form.fail("metadata", f"metadata: the key {key.strip()!r} is given twice")
        else:
            found[key.strip()] = item.strip()
    return found


def _read(posted: FormData) -> tuple[IssueForm, EnrollRequest]:
    """The form as typed, and the request it asks for (errors of form recorded on it)."""
    mode = "csr" if text(posted, "mode", 16) == "csr" else "managed"
    names = ["profileId", "ttl", "metadata", "altNames", "keyAlgorithm", "signatureAlgorithm"]
    names += [name for name, _label in SUBJECT]
    values = {name: text(posted, name, MAX_TEXT if name != "altNames" else 65536) for name in names}
    values["csr"] = text(posted, "csr", MAX_FORM_BYTES)
    form = IssueForm(
        mode=mode,
        values=values,
        key_usages=texts(posted, "keyUsages", 64),
        extended_key_usages=texts(posted, "extendedKeyUsages", 64),
    )
    metadata = _metadata(values["metadata"], form)
    ttl = values["ttl"] or None
    if mode == "csr":
        if not values["csr"]:
            form.fail("csr", "paste the certificate signing request (PEM)")
        return form, EnrollRequest(
            profile_ref=values["profileId"], csr_pem=values["csr"], ttl=ttl, metadata=metadata
        )
    if values["country"] and not COUNTRY.match(values["country"]):
        form.fail("country", "country must be a two-letter code (ISO 3166), e.g. DE")
    return form, EnrollRequest(
        profile_ref=values["profileId"],
        common_name=values["commonName"],
        sans=tuple(lines(values["altNames"])),
        organization=values["organization"],
        organizational_unit=values["organizationalUnit"],
        country=values["country"],
        state=values["state"],
        locality=values["locality"],
        key_algorithm=values["keyAlgorithm"] or None,
        signature_algorithm=values["signatureAlgorithm"] or None,
        key_usages=tuple(form.key_usages) or None,  # none ticked: the profile's defaults
        extended_key_usages=tuple(form.extended_key_usages) or None,
        ttl=ttl,
        metadata=metadata,
    )


def _field_of(message: str, mode: str) -> str:
    """The form field a policy or request message is about ("" = the top of the form)."""
    found = _managed_field_of(message)
    if mode == "csr" and found not in ("", "ttl", "metadata"):
        return "csr"  # the subject, names and key come from the CSR
    if mode == "csr" and not found and "CSR" in message:
        return "csr"
    return found


def _managed_field_of(message: str) -> str:
    lower = message.lower()
    for name, where in _ATTRIBUTE_FIELDS.items():
        if lower.startswith((f"missing required {name} attribute", f"{name} value does not")):
            return where
    if (
        " SAN is not allowed" in message
        or (message.startswith("Required ") and " SAN not found" in message)
        or message.startswith((messages.TOO_MANY_SANS, messages.WILDCARD_NOT_ALLOWED))
    ):
        return "altNames"
    for prefixes, where in _PREFIXES:
        if message.startswith(prefixes):
            return where
    return ""


def refusal_into(form: IssueForm, exc: ServiceError) -> None:
    """A service refusal spread over the form: each policy message next to its field."""
    if isinstance(exc, PolicyViolationError):
        for message in exc.violations:
            form.fail(_field_of(message, form.mode), message)
    elif exc.names:
        for name in exc.names:
            form.fail("csr" if form.mode == "csr" else "altNames", name.detail)
    else:
        form.fail(_field_of(str(exc), form.mode), str(exc))


async def issue_submit(request: Request) -> Response:
    """POST /ui/certificates/new -- issue as REST's POST .../certificates does."""
    me = signed_in(request)
    services = services_of(request)
    profiles = await issuable_profiles(services, me.principal)
    default = await _default_slug(services, profiles)
    try:
        form, wanted = _read(form_of(request))
    except InvalidRequestError as exc:  # a field too long or holding a NUL
        form = IssueForm(values={"profileId": default})
        form.fail("", str(exc))
        return _form_page(request, profiles, default, form, 400)
    if form.errors:
        return _form_page(request, profiles, default, form, 400)
    profile = await access.profile(services, me.principal, wanted.profile_ref or None)
    identity = me.principal.identity_id if me.principal.kind == "identity" else None
    wanted = replace(wanted, profile_ref=profile.id, owner_identity_id=identity)
    try:
        enrollment = await enroll(services, wanted, channel="api")
    except InvalidRequestError as exc:
        refusal_into(form, exc)
        return _form_page(request, profiles, default, form, 400)
    await audit_trail.issued(services, me.principal, "certificate.issue", enrollment)
    return await issued_page(request, services, me.principal, enrollment)


def routes() -> list[BaseRoute]:
    new = "/ui/certificates/new"
    return [
        ConsoleRoute(new, issue_page, ["GET"], Permission.CERTIFICATE_ISSUE),
        ConsoleRoute(new, issue_submit, ["POST"], Permission.CERTIFICATE_ISSUE),
    ]
