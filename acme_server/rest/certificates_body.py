"""Reading certificate requests off the wire: the issuance body, metadata objects and the
`metadata[key]=value` query filter, and typed query parameters. Every refusal is a 400 that
names the member at fault; nothing here touches the store.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from acme_server.rest.common import ApiError, field
from acme_server.services.enrollment import EnrollRequest
from pki_types.model import SanType, SubjectAltName

MAX_TEXT = 4096  # any one string member of a request body
_SUBJECT_MEMBERS = {
    "organization": "organization",
    "organizationalUnit": "organizational_unit",
    "country": "country",
    "state": "state",
    "locality": "locality",
}
_CSR_EXCLUDES = ("commonName", "altNames", "keyAlgorithm", *_SUBJECT_MEMBERS)
_SAN_TYPES = ", ".join(t.value for t in SanType)


def _text(data: dict[str, Any], name: str, where: str, *, default: str = "") -> str:
    value = field(data, name, str, default=default)
    if not isinstance(value, str):  # pragma: no cover - field() checked the type
        raise ApiError(400, f"{where}{name} must be a string")
    if len(value) > MAX_TEXT:
        raise ApiError(400, f"{where}{name} is longer than {MAX_TEXT} characters")
    return value


def _strings(data: dict[str, Any], name: str, where: str) -> tuple[str, ...] | None:
    values = field(data, name, list)
    if values is None:
        return None
    if not all(isinstance(v, str) for v in values):
        raise ApiError(400, f"{where}{name} must be an array of strings")
    return tuple(values)


def alt_names(value: object) -> tuple[str | SubjectAltName, ...]:
    """altNames: [{"type": "dns_name"|"ip_address"|"email"|"uri", "value": "..."}], or a
    comma-separated string of names ("a.example.com, 10.0.0.1, ops@example.com"); a
    string name may carry a prefix ("dns:", "ip:", "email:", "uri:"), else its form decides
    (an IP address, a URI with "://", an email address with "@", else a DNS name)."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if not isinstance(value, list):
        raise ApiError(400, "attributes.altNames must be an array or a comma-separated string")
    out: list[str | SubjectAltName] = []
    for index, item in enumerate(value):
        where = f"attributes.altNames[{index}]"
        if isinstance(item, str):
            out.append(item)
            continue
        if not isinstance(item, dict):
            raise ApiError(400, f"{where} must be an object with type and value")
        kind, text = item.get("type"), item.get("value")
        if not isinstance(kind, str) or not isinstance(text, str):
            raise ApiError(400, f"{where} needs string members type and value")
        try:
            out.append(SubjectAltName(SanType(kind), text))
        except ValueError:
            raise ApiError(400, f"{where}.type must be one of {_SAN_TYPES}") from None
    return tuple(out)


def metadata_object(value: object, where: str = "metadata") -> dict[str, str]:
    """A JSON object of string -> string (the service checks sizes)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ApiError(400, f"{where} must be an object of string values")
    for key, item in value.items():
        if not isinstance(item, str):
            raise ApiError(400, f"{where}.{key} must be a string")
    return dict(value)


def enroll_request(body: dict[str, Any]) -> EnrollRequest:
    """The issuance body: `profileId`, then either `csr` or managed `attributes`."""
    profile_ref = _text(body, "profileId", "")
    if not profile_ref:
        raise ApiError(400, "profileId is required")
    csr = field(body, "csr", str)
    attributes: dict[str, Any] = field(body, "attributes", dict, default={})
    metadata = metadata_object(body.get("metadata"))
    if csr is None and not attributes:
        raise ApiError(400, "give either csr (PEM) or attributes (a managed key)")
    if csr is not None:
        present = [name for name in _CSR_EXCLUDES if attributes.get(name) not in (None, "", [])]
        if present:
            raise ApiError(
                400,
                "a CSR carries its own subject, alternative names and key: leave out "
                + ", ".join(f"attributes.{name}" for name in present),
            )
    where = "attributes."
    raw_names = attributes.get("altNames")
    return EnrollRequest(
        profile_ref=profile_ref,
        csr_pem=csr,
        common_name=_text(attributes, "commonName", where),
        sans=() if raw_names is None else alt_names(raw_names),
        organization=_text(attributes, "organization", where),
        organizational_unit=_text(attributes, "organizationalUnit", where),
        country=_text(attributes, "country", where),
        state=_text(attributes, "state", where),
        locality=_text(attributes, "locality", where),
        key_algorithm=_text(attributes, "keyAlgorithm", where) or None,
        signature_algorithm=_text(attributes, "signatureAlgorithm", where) or None,
        key_usages=_strings(attributes, "keyUsages", where),
        extended_key_usages=_strings(attributes, "extendedKeyUsages", where),
        ttl=_text(attributes, "ttl", where) or None,
        metadata=metadata,
    )


def metadata_query(request: Request) -> dict[str, str]:
    """`?metadata[team]=web&metadata[env]=prod` -> {"team": "web", "env": "prod"}."""
    found: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if not (name.startswith("metadata[") and name.endswith("]")):
            continue
        key = name[len("metadata[") : -1]
        if not key:
            raise ApiError(400, "metadata filters are written metadata[key]=value")
        if key in found and found[key] != value:
            raise ApiError(400, f"metadata[{key}] is given twice with different values")
        found[key] = value
    return found


def query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise ApiError(400, f"{name} must be a whole number from {low} to {high}")
    return int(raw)


def query_choice(request: Request, name: str, choices: dict[str, str], default: str) -> str:
    raw = request.query_params.get(name) or default
    if raw not in choices:
        raise ApiError(400, f"{name} must be one of {', '.join(choices)}")
    return choices[raw]
