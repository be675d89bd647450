"""Name patterns: one syntax for every allowed/denied list, matched against normalised values.

A pattern is one of:

- ``re:<regex>``: a Python regular expression, matched with ``re.fullmatch`` (so it is
  anchored at both ends; ``re:^...$`` works too) and case-insensitively. ``/.../`` is
  refused, so that a regex written in another tool's syntax never silently matches nothing.
- a glob, where ``*`` means, by kind of name:
  DNS (and the common name): exactly one whole label: ``*.example.com`` matches
  ``a.example.com`` and the wildcard name ``*.example.com`` itself, never ``example.com`` or
  ``a.b.example.com``; a ``*`` inside a label (``web*.x``) is refused.
  email: ``local@domain``, where ``*`` in the local part is any local part (``*@example.com``)
  and the domain is a DNS glob.
  URI: one or more characters other than ``/ ? # @ \\`` and white space.
  text (subject attribute values): any run of characters, possibly empty.
- IP only: an address (``10.0.0.1``, ``2001:db8::1``) or a CIDR network (``10.0.0.0/8``);
  IP patterns have no globs.
- anything else: the exact value.

Matching is case-insensitive for every kind. DNS names (and email domains) are normalised
on both sides: surrounding white space and trailing dots dropped, lower case, NFKC and
ideographic full stops for non-ASCII names, U-labels to A-labels; regexes see both the
A-label and the U-label spelling. IP addresses are compared as addresses (IPv4-mapped IPv6
as IPv4, zone ids dropped).

Denied always beats allowed, and denying is the careful side:
- a wildcard request is denied when a deny glob matches any name it covers (deny
  ``secret.example.com`` and ``*.example.com`` is denied too; boulder's wildcard blocklist);
  a deny regex is tried on the wildcard name as written.
- a value that cannot be interpreted (an IP SAN that is not an address, an email without
  ``@``, anything longer than `MAX_VALUE_LENGTH`) counts as denied when there are deny
  patterns and as not allowed when there are allow patterns.
"""

from __future__ import annotations

import ipaddress
import re
import stringprep
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum, StrEnum
from functools import lru_cache

from pki_types.model import SanType
from policy.errors import PolicyError

REGEX_PREFIX = "re:"
MAX_PATTERN_LENGTH = 512  # characters; bounds regex compile time and memory
MAX_PATTERNS = 1000  # per list
MAX_VALUE_LENGTH = 2048  # longer request values are never matched, only refused
_IDEOGRAPHIC_STOPS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
_URI_STAR = r"[^/?#@\\\s]+"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class NameKind(StrEnum):
    """How a value is normalised and what a glob means for it."""

    DNS = "dns"
    IP = "ip"
    EMAIL = "email"
    URI = "uri"
    TEXT = "text"


KIND_OF_SAN: dict[SanType, NameKind] = {
    SanType.DNS: NameKind.DNS,
    SanType.IP: NameKind.IP,
    SanType.EMAIL: NameKind.EMAIL,
    SanType.URI: NameKind.URI,
}


class Judgement(Enum):
    OK = "ok"
    DENIED = "denied"
    NOT_ALLOWED = "not_allowed"


@dataclass(frozen=True, slots=True)
class _Value:
    """A request value, normalised once: the texts regexes see, and per-kind parts."""

    texts: tuple[str, ...]
    labels: tuple[str, ...] = ()
    local: str = ""
    address: IPAddress | None = None


_Matcher = Callable[[_Value, bool], bool]  # (value, deny mode) -> matches


def is_wildcard(value: str) -> bool:
    """Whether a DNS name (or common name) asks for a wildcard: any ``*`` counts."""
    return "*" in value


def judge(kind: NameKind, value: str, allowed: Sequence[str], denied: Sequence[str]) -> Judgement:
    """Denied beats allowed; an empty allowed list allows anything not denied."""
    prepared = _prepare(kind, value)
    if prepared is None:
        if denied:
            return Judgement.DENIED
        return Judgement.NOT_ALLOWED if allowed else Judgement.OK
    if any(_compile(kind, p)(prepared, True) for p in denied):
        return Judgement.DENIED
    if allowed and not any(_compile(kind, p)(prepared, False) for p in allowed):
        return Judgement.NOT_ALLOWED
    return Judgement.OK


def matches(kind: NameKind, pattern: str, value: str, *, deny: bool = False) -> bool:
    """Whether one pattern matches a value (`deny` selects the wildcard-overlap reading)."""
    prepared = _prepare(kind, value)
    if prepared is None:
        return deny
    return _compile(kind, pattern)(prepared, deny)


def check_pattern(kind: NameKind, pattern: str) -> None:
    """PolicyError (without a location) if the pattern is not usable for this kind."""
    _compile(kind, pattern)


def check_patterns(kind: NameKind, patterns: Sequence[str], where: str) -> None:
    """Check a list of patterns; the error names `where[index]`."""
    if isinstance(patterns, str):
        raise PolicyError(f"{where}: expected a list of patterns, not one string")
    if len(patterns) > MAX_PATTERNS:
        raise PolicyError(f"{where}: at most {MAX_PATTERNS} patterns are allowed")
    for index, pattern in enumerate(patterns):
        if not isinstance(pattern, str):
            raise PolicyError(f"{where}[{index}]: a pattern must be a string")
        try:
            check_pattern(kind, pattern)
        except PolicyError as exc:
            raise PolicyError(f"{where}[{index}]: {exc}") from None


# --- request values ---------------------------------------------------------------------


def _prepare(kind: NameKind, value: str) -> _Value | None:
    if len(value) > MAX_VALUE_LENGTH:
        return None
    if kind is NameKind.DNS:
        ascii_labels, unicode_labels = _dns_labels(value)
        return _Value(texts=(".".join(ascii_labels), ".".join(unicode_labels)), labels=ascii_labels)
    if kind is NameKind.EMAIL:
        local, at, domain = value.strip().rpartition("@")
        if not at or not local:
            return None
        ascii_labels, unicode_labels = _dns_labels(domain)
        local = local.lower()
        texts = (f"{local}@{'.'.join(ascii_labels)}", f"{local}@{'.'.join(unicode_labels)}")
        return _Value(texts=texts, labels=ascii_labels, local=local)
    if kind is NameKind.IP:
        address = _address(value)
        if address is None:
            return None
        return _Value(texts=(str(address), value.strip().lower()), address=address)
    if kind is NameKind.URI:
        return _Value(texts=(value.strip().lower(),))
    return _Value(texts=(value.lower(),))


def _dns_labels(value: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(A-label spelling, U-label spelling) of a name; never raises, whatever the text."""
    name = value.strip()
    if not name.isascii():
        name = unicodedata.normalize("NFKC", name).translate(_IDEOGRAPHIC_STOPS)
    labels = name.lower().rstrip(".").split(".")
    return tuple(_to_a_label(x) for x in labels), tuple(_to_u_label(x) for x in labels)


def _to_a_label(label: str) -> str:
    """The label's A-label. Characters IDNA maps to nothing (RFC 3454 table B.1: U+00AD
    SOFT HYPHEN, U+200B ZERO WIDTH SPACE, variation selectors...) are dropped first, as
    issuance's UTS 46 mapping drops them (ca_core.names), so a policy judges the name that
    would be signed."""
    if label.isascii():
        return label
    label = "".join(c for c in label if not stringprep.in_table_b1(c))
    if label.isascii():
        return label
    try:
        return "xn--" + label.encode("punycode").decode("ascii")
    except (UnicodeError, ValueError):
        return label


def _to_u_label(label: str) -> str:
    if not label.startswith("xn--"):
        return label
    try:
        return label[4:].encode("ascii").decode("punycode").lower()
    except (UnicodeError, ValueError, OverflowError, IndexError):
        return label


def _address(text: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(text.strip().partition("%")[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


# --- patterns ---------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _compile(kind: NameKind, pattern: str) -> _Matcher:
    if not isinstance(pattern, str) or not pattern:
        raise PolicyError("a pattern must be a non-empty string")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PolicyError(f"a pattern may have at most {MAX_PATTERN_LENGTH} characters")
    if pattern.startswith(REGEX_PREFIX):
        return _regex(pattern[len(REGEX_PREFIX) :])
    if len(pattern) >= 2 and pattern.startswith("/") and pattern.endswith("/"):
        raise PolicyError(
            f"{_show(pattern)} looks like a /regex/: write regular expressions as "
            f"{REGEX_PREFIX}{pattern[1:-1]}"
        )
    if kind is NameKind.DNS:
        return _dns_glob(_glob_labels(pattern))
    if kind is NameKind.EMAIL:
        return _email_glob(pattern)
    if kind is NameKind.IP:
        return _ip_pattern(pattern)
    star = _URI_STAR if kind is NameKind.URI else ".*"
    return _text_glob(pattern.strip().lower() if kind is NameKind.URI else pattern.lower(), star)


def _regex(body: str) -> _Matcher:
    if not body:
        raise PolicyError(f"{REGEX_PREFIX} needs a regular expression after it")
    try:
        compiled = re.compile(body, re.IGNORECASE)
    except (re.error, OverflowError, RecursionError, ValueError) as exc:
        raise PolicyError(f"invalid regular expression {_show(body)}: {exc}") from None
    return lambda value, _deny: any(compiled.fullmatch(text) for text in value.texts)


def _glob_labels(pattern: str) -> tuple[str, ...]:
    labels, _ = _dns_labels(pattern)
    for label in labels:
        if not label:
            raise PolicyError(f"{_show(pattern)} has an empty label")
        if "*" in label and label != "*":
            raise PolicyError(f"{_show(pattern)}: a * must be a whole label, as in *.example.com")
    return labels


def _dns_glob(pattern: tuple[str, ...]) -> _Matcher:
    return lambda value, deny: _labels_match(pattern, value.labels, deny)


def _labels_match(pattern: tuple[str, ...], name: tuple[str, ...], deny: bool) -> bool:
    """A `*` pattern label takes one label; when denying, a `*` in the name takes any."""
    if len(pattern) != len(name):
        return False
    for want, got in zip(pattern, name, strict=True):
        if want == got or (want == "*" and (got or deny)):
            continue
        if deny and "*" in got:
            continue
        return False
    return True


def _email_glob(pattern: str) -> _Matcher:
    local, at, domain = pattern.strip().rpartition("@")
    if not at or not local or not domain:
        raise PolicyError(
            f"{_show(pattern)}: email patterns are local@domain, *@domain or {REGEX_PREFIX}..."
        )
    local_re = re.compile(
        ".+" if local == "*" else "[^@]+".join(re.escape(p) for p in local.lower().split("*")),
        re.DOTALL,
    )
    domain_labels = _glob_labels(domain)

    def match(value: _Value, deny: bool) -> bool:
        return bool(local_re.fullmatch(value.local)) and _labels_match(
            domain_labels, value.labels, deny
        )

    return match


def _ip_pattern(pattern: str) -> _Matcher:
    text = pattern.strip()
    if "%" in text:
        raise PolicyError(f"{_show(pattern)}: IP patterns have no zone id (%...)")
    address = _address(text)
    if address is not None:
        return lambda value, _deny: value.address == address
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        raise PolicyError(
            f"{_show(pattern)} is not an IP address or CIDR network such as 10.0.0.0/8 ({exc})"
        ) from None
    return lambda value, _deny: _in_network(value.address, network)


def _in_network(
    address: IPAddress | None, network: ipaddress.IPv4Network | ipaddress.IPv6Network
) -> bool:
    """Membership; an IPv4 address also matches a network given in IPv4-mapped IPv6 form."""
    if address is None:
        return False
    if isinstance(address, ipaddress.IPv4Address) and network.version == 6:
        return ipaddress.IPv6Address(f"::ffff:{address}") in network
    return address in network


def _text_glob(pattern: str, star: str) -> _Matcher:
    if "*" not in pattern:
        return lambda value, _deny: value.texts[0] == pattern
    compiled = re.compile(star.join(re.escape(part) for part in pattern.split("*")), re.DOTALL)
    return lambda value, _deny: compiled.fullmatch(value.texts[0]) is not None


def _show(text: str) -> str:
    """A pattern quoted for a message: short, invisible characters escaped."""
    shown = text if len(text) <= 60 else text[:60] + "..."
    return repr(shown)
