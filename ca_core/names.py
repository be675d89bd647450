"""Subjects and subjectAltNames between policy types and X.509 (RFC 5280 4.1.2.6, 4.2.1.6)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence

import idna
from cryptography import x509
from cryptography.x509.oid import NameOID

from ca_core.errors import CAError
from pki_types.model import SanType, SubjectAltName, SubjectAttributes

# (field, OID, RFC 5280 appendix A upper bound), in the conventional C..CN order.
_ATTRIBUTES: tuple[tuple[str, x509.ObjectIdentifier, int], ...] = (
    ("country", NameOID.COUNTRY_NAME, 2),
    ("state", NameOID.STATE_OR_PROVINCE_NAME, 128),
    ("locality", NameOID.LOCALITY_NAME, 128),
    ("organization", NameOID.ORGANIZATION_NAME, 64),
    ("organizational_unit", NameOID.ORGANIZATIONAL_UNIT_NAME, 64),
    ("common_name", NameOID.COMMON_NAME, 64),
)
_FIELD_BY_OID = {oid: field for field, oid, _ in _ATTRIBUTES}
MAX_DNS_NAME = 253  # RFC 1035 section 2.3.4, without the trailing dot
_LDH_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_URI_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")


def subject_to_name(subject: SubjectAttributes) -> x509.Name:
    """Build a Name from the non-empty attributes; C must be two letters."""
    rdns: list[x509.NameAttribute[str]] = []
    for field, oid, upper_bound in _ATTRIBUTES:
        value: str = getattr(subject, field)
        if not value:
            continue
        if field == "country":
            if not (len(value) == 2 and value.isascii() and value.isalpha()):
                raise CAError(
                    f'invalid country "{value}": use a two-letter ISO 3166 code such as "US"'
                )
            value = value.upper()
        elif len(value) > upper_bound:
            raise CAError(
                f"subject {field} is {len(value)} characters long; "
                f"RFC 5280 allows at most {upper_bound}"
            )
        if "\x00" in value:
            raise CAError(f"subject {field} must not contain NUL characters")
        rdns.append(x509.NameAttribute(oid, value))
    return x509.Name(rdns)


def name_to_subject(name: x509.Name) -> SubjectAttributes:
    """Read the six supported attributes; others are ignored, repeats refused."""
    values: dict[str, str] = {}
    for attribute in name:
        field = _FIELD_BY_OID.get(attribute.oid)
        if field is None:
            continue
        if field in values:
            raise CAError(f"subject has more than one {field} attribute")
        value = attribute.value
        values[field] = value if isinstance(value, str) else value.decode("utf-8", "replace")
    return SubjectAttributes(**values)


def sans_to_general_names(sans: Sequence[SubjectAltName]) -> list[x509.GeneralName]:
    """Validate and convert; DNS names become lower-case A-labels."""
    return [_to_general_name(san) for san in sans]


def general_names_to_sans(names: Iterable[x509.GeneralName]) -> tuple[SubjectAltName, ...]:
    """The inverse of `sans_to_general_names`; other GeneralName kinds are refused."""
    out: list[SubjectAltName] = []
    for name in names:
        if isinstance(name, x509.DNSName):
            out.append(SubjectAltName(SanType.DNS, name.value))
        elif isinstance(name, x509.IPAddress):
            out.append(SubjectAltName(SanType.IP, str(name.value)))
        elif isinstance(name, x509.RFC822Name):
            out.append(SubjectAltName(SanType.EMAIL, name.value))
        elif isinstance(name, x509.UniformResourceIdentifier):
            out.append(SubjectAltName(SanType.URI, name.value))
        else:
            raise CAError(
                f"unsupported subjectAltName type {type(name).__name__}: "
                "use DNS names, IP addresses, email addresses or URIs"
            )
    return tuple(out)


def normalize_dns_name(value: str) -> str:
    """Lower-case A-label form of a DNS name ("*." allowed first); CAError if invalid."""
    name = value.lower()
    wildcard = name.startswith("*.")
    labels = (name[2:] if wildcard else name).split(".")
    try:
        ascii_labels = [_a_label(label) for label in labels]
    except (UnicodeError, ValueError) as exc:
        raise CAError(f'invalid DNS name "{value}": {exc}') from exc
    result = ("*." if wildcard else "") + ".".join(ascii_labels)
    if len(result) > MAX_DNS_NAME:
        raise CAError(f'invalid DNS name "{value}": longer than {MAX_DNS_NAME} characters')
    if _is_ip(result):
        raise CAError(f'invalid DNS name "{value}": an IP address belongs in an ip_address SAN')
    return result


def _a_label(label: str) -> str:
    if not label:
        raise ValueError("empty label")
    if not label.isascii():
        label = idna.encode(label, uts46=True).decode("ascii")
    elif label.startswith("xn--"):
        idna.decode(label)  # raises IDNAError on an invalid A-label
    if not _LDH_LABEL.fullmatch(label):
        raise ValueError(
            f'label "{label}" must be 1-63 letters, digits or hyphens, '
            "not starting or ending with a hyphen"
        )
    return label


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _to_general_name(san: SubjectAltName) -> x509.GeneralName:
    if san.type is SanType.DNS:
        return x509.DNSName(normalize_dns_name(san.value))
    if san.type is SanType.IP:
        try:
            ip = ipaddress.ip_address(san.value)
        except ValueError as exc:
            raise CAError(f'invalid IP address "{san.value}"') from exc
        if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id is not None:
            raise CAError(f'invalid IP address "{san.value}": remove the %zone suffix')
        return x509.IPAddress(ip)
    if san.type is SanType.EMAIL:
        return x509.RFC822Name(_normalize_email(san.value))
    if san.type is SanType.URI:
        if not (san.value.isascii() and _URI_SCHEME.fullmatch(san.value)):
            raise CAError(
                f'invalid URI "{san.value}": expected an ASCII URI with a scheme, '
                'e.g. "spiffe://example.org/service" or "https://example.org/"'
            )
        return x509.UniformResourceIdentifier(san.value)
    raise CAError(f"unsupported subjectAltName type {san.type!r}")  # pragma: no cover


def _normalize_email(value: str) -> str:
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain:
        raise CAError(f'invalid email address "{value}": expected local-part@domain')
    if not local.isascii() or any(c.isspace() or c in '@<>()[],;:\\"' for c in local):
        raise CAError(
            f'invalid email address "{value}": the local part must be plain ASCII '
            "without spaces or special characters"
        )
    try:
        return f"{local}@{normalize_dns_name(domain)}"
    except CAError as exc:
        raise CAError(f'invalid email address "{value}": bad domain "{domain}"') from exc
