"""Every text a violation can carry: a sentinel per message, as users search for it.

A message is its sentinel, verbatim, optionally followed by ": " and a detail (the offending
value, or the numbers compared), e.g. ``DNS SAN is not allowed by template policy:
evil.example.com``. Callers that match on messages match the sentinel prefix; callers that
branch match on `Code`.

Display names: {attribute} is one of "common name", "organization", "organizational unit",
"country", "state", "locality", "email" (the subject emailAddress); {type} is one of "DNS",
"IP", "email", "URI"; {usage} is the REST API name of the usage (`key_cert_sign`,
`server_auth`).
"""

from __future__ import annotations

from enum import StrEnum

from pki_types.model import SanType, SubjectField

MISSING_ATTRIBUTE = "Missing required {attribute} attribute"
ATTRIBUTE_MISMATCH = "{attribute} value does not match allowed patterns"
SAN_NOT_ALLOWED = "{type} SAN is not allowed by template policy"
SAN_REQUIRED = "Required {type} SAN not found"
TOO_MANY_SANS = "Number of SANs exceeds the maximum allowed by the policy"
WILDCARD_NOT_ALLOWED = "Wildcard names are not allowed by template policy"
KEY_ALGORITHM_NOT_ALLOWED = "Key algorithm is not allowed by template policy"
SIGNATURE_ALGORITHM_NOT_ALLOWED = "Signature algorithm is not allowed by template policy"
KEY_USAGE_NOT_ALLOWED = "Key usage {usage} is not allowed by template policy"
KEY_USAGE_REQUIRED = "Required key usage {usage} not found"
EXTENDED_KEY_USAGE_NOT_ALLOWED = "Extended key usage {usage} is not allowed by template policy"
EXTENDED_KEY_USAGE_REQUIRED = "Required extended key usage {usage} not found"
CA_NOT_ALLOWED = "CA certificates are not allowed by template policy"
TTL_EXCEEDED = "TTL exceeds the maximum allowed by the policy"

COMMON_NAME = "common name"
ATTRIBUTE_NAMES: dict[SubjectField, str] = {
    SubjectField.ORGANIZATION: "organization",
    SubjectField.ORGANIZATIONAL_UNIT: "organizational unit",
    SubjectField.COUNTRY: "country",
    SubjectField.STATE: "state",
    SubjectField.LOCALITY: "locality",
    SubjectField.EMAIL: "email",
}
SAN_TYPE_NAMES: dict[SanType, str] = {
    SanType.DNS: "DNS",
    SanType.IP: "IP",
    SanType.EMAIL: "email",
    SanType.URI: "URI",
}
MAX_SHOWN = 100  # characters of a request value repeated in a message


class Code(StrEnum):
    """A stable machine name per cause; several causes may share one sentinel."""

    MISSING_ATTRIBUTE = "missing_attribute"
    ATTRIBUTE_NOT_ALLOWED = "attribute_not_allowed"
    ATTRIBUTE_DENIED = "attribute_denied"
    SAN_TYPE_NOT_ALLOWED = "san_type_not_allowed"
    SAN_NOT_ALLOWED = "san_not_allowed"
    SAN_DENIED = "san_denied"
    SAN_REQUIRED = "san_required"
    TOO_MANY_SANS = "too_many_sans"
    WILDCARD_NOT_ALLOWED = "wildcard_not_allowed"
    KEY_ALGORITHM_NOT_ALLOWED = "key_algorithm_not_allowed"
    SIGNATURE_ALGORITHM_NOT_ALLOWED = "signature_algorithm_not_allowed"
    KEY_USAGE_NOT_ALLOWED = "key_usage_not_allowed"
    KEY_USAGE_REQUIRED = "key_usage_required"
    EXTENDED_KEY_USAGE_NOT_ALLOWED = "extended_key_usage_not_allowed"
    EXTENDED_KEY_USAGE_REQUIRED = "extended_key_usage_required"
    CA_NOT_ALLOWED = "ca_not_allowed"
    TTL_EXCEEDED = "ttl_exceeded"


def with_detail(sentinel: str, detail: str = "") -> str:
    return f"{sentinel}: {detail}" if detail else sentinel


def show(value: str) -> str:
    """A request value for a message: at most `MAX_SHOWN` characters, nothing invisible."""
    if not value:
        return '""'
    shown = value if len(value) <= MAX_SHOWN else value[:MAX_SHOWN] + "..."
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in shown)
