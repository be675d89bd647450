"""Reading certificate requests off the wire: the issuance body (declared once, as
ISSUE_REQUEST, for acme_server/rest/body.py to parse and document) and metadata objects.
Every refusal is a 400 that names the member at fault; nothing here touches the store.
(Query parameters are declared next to their handlers: acme_server/rest/query.py.)
"""

from __future__ import annotations

from dataclasses import replace
from enum import Enum
from typing import Any

from acme_server.rest.body import Field, body, names_of, parse
from acme_server.rest.common import ApiError
from acme_server.services.certificates.enrollment import EnrollRequest
from pki_types.model import (
    ExtendedKeyUsage,
    KeyAlgorithm,
    KeyUsage,
    SanType,
    SignatureAlgorithm,
    SubjectAltName,
)

MAX_TEXT = 4096  # any one string member of a request body
_SUBJECT_MEMBERS = {
    "organization": "organization",
    "organizationalUnit": "organizational_unit",
    "country": "country",
    "state": "state",
    "locality": "locality",
}
_CSR_EXCLUDES = ("commonName", "altNames", "keyAlgorithm", *_SUBJECT_MEMBERS)
# an attribute's type error names the member alone, its length error the path (as ever)
_TEXT_ERRORS = {"type": "{name} must be {kind}"}


# names_of: schema-only, the enrollment service checks these names (as policy violations)
def _text(name: str, **extra: Any) -> Field:
    return Field(name, "string", max_length=MAX_TEXT, errors=_TEXT_ERRORS, extra=extra)


def _usages(name: str, kind: type[Enum]) -> Field:
    item = Field(
        "", "string", errors={"type": "{parent} must be an array of strings"}, extra=names_of(kind)
    )
    return Field(name, "array", items=item, errors=_TEXT_ERRORS)


_ALT_NAME = Field(
    "",
    ("string", "object"),
    errors={"type": "{path} must be an object with type and value"},
    fields=(
        # value first: a non-string value is refused before an unknown type is
        Field(
            "value",
            "string",
            required=True,
            errors={
                "required": "{parent} needs string members type and value",
                "type": "{parent} needs string members type and value",
            },
        ),
        Field(
            "type",
            "string",
            required=True,
            enum=tuple(t.value for t in SanType),
            errors={
                "required": "{parent} needs string members type and value",
                "type": "{parent} needs string members type and value",
            },
        ),
    ),
)
ATTRIBUTES = Field(
    "attributes",
    "object",
    ref="CertificateAttributes",
    fields=(
        _text("commonName"),
        Field(
            "altNames",
            ("array", "string"),
            items=_ALT_NAME,
            description='an array, or comma-separated names: "a.example.com, 10.0.0.1"',
            errors={"type": "attributes.altNames must be an array or a comma-separated string"},
        ),
        _text("organization"),
        _text("organizationalUnit"),
        _text("country", pattern="^[A-Za-z]{2}$"),
        _text("state"),
        _text("locality"),
        _text("keyAlgorithm", **names_of(KeyAlgorithm)),
        _text("signatureAlgorithm", **names_of(SignatureAlgorithm)),
        _usages("keyUsages", KeyUsage),
        _usages("extendedKeyUsages", ExtendedKeyUsage),
        _text("ttl", pattern="^[0-9]+[smhdwy]$", examples=["365d"]),
    ),
)
METADATA = Field(
    "metadata",
    "object",
    values=Field("", "string"),
    errors={"type": "{path} must be an object of string values"},
)
ISSUE_REQUEST = body(
    "CertificateIssueRequest",
    Field(
        "profileId",
        "string",
        required=True,
        min_length=1,
        max_length=MAX_TEXT,
        description="profile id or slug",
        errors={"short": "profileId is required"},
    ),
    Field("csr", "string", description='PEM PKCS#10 ("\\n" escapes accepted)'),
    ATTRIBUTES,
    METADATA,
    closed=False,
)


def alt_names(value: str | list[str | dict[str, str]]) -> tuple[str | SubjectAltName, ...]:
    """altNames (checked by ATTRIBUTES): [{"type": "dns_name"|"ip_address"|"email"|"uri",
    "value": "..."}], or a comma-separated string of names ("a.example.com, 10.0.0.1,
    ops@example.com"); a string name may carry a prefix ("dns:", "ip:", "email:",
    "uri:"), else its form decides (an IP address, a URI with "://", an email address with
    "@", else a DNS name)."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return tuple(
        item if isinstance(item, str) else SubjectAltName(SanType(item["type"]), item["value"])
        for item in value
    )


METADATA_REQUEST = body(
    "CertificateMetadataRequest", replace(METADATA, required=True), closed=False
)
AUTO_RENEW_REQUEST = body(
    "CertificateAutoRenewRequest",
    Field(
        "autoRenew",
        "boolean",
        required=True,
        errors=dict.fromkeys(
            ("required", "type"), "autoRenew is required and must be true or false"
        ),
    ),
    closed=False,
)


def metadata_request(data: dict[str, Any]) -> dict[str, str]:
    """The metadata PATCH body's new set; `"metadata": null` clears it, as {} does."""
    if "metadata" in data and data["metadata"] is None:
        return {}
    metadata: dict[str, str] = parse(METADATA_REQUEST, data)["metadata"]
    return metadata


def enroll_request(data: dict[str, Any]) -> EnrollRequest:
    """The issuance body: `profileId`, then either `csr` or managed `attributes`."""
    values = parse(ISSUE_REQUEST, data)
    csr: str | None = values.get("csr")
    attributes: dict[str, Any] = values.get("attributes", {})
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
    raw_names = attributes.get("altNames")
    key_usages, extended_key_usages = (
        attributes.get("keyUsages"),
        attributes.get("extendedKeyUsages"),
    )
    return EnrollRequest(
        profile_ref=values["profileId"],
        csr_pem=csr,
        common_name=attributes.get("commonName", ""),
        sans=() if raw_names is None else alt_names(raw_names),
        organization=attributes.get("organization", ""),
        organizational_unit=attributes.get("organizationalUnit", ""),
        country=attributes.get("country", ""),
        state=attributes.get("state", ""),
        locality=attributes.get("locality", ""),
        key_algorithm=attributes.get("keyAlgorithm") or None,
        signature_algorithm=attributes.get("signatureAlgorithm") or None,
        key_usages=None if key_usages is None else tuple(key_usages),
        extended_key_usages=None if extended_key_usages is None else tuple(extended_key_usages),
        ttl=attributes.get("ttl") or None,
        metadata=dict(values.get("metadata", {})),
    )
