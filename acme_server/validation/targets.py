"""Where an HTTP-01 request goes: the identifier's URL, and each redirect's Location.

A Target is a URL this validation may fetch: http or https, on one of the two configured
ports, with a host that is an IP address or a syntactically valid DNS name. Its addresses
are looked up and checked by netguard separately (http01.py), just before connecting.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Final

from yarl import URL

from acme_server.validation.config import ValidationConfig
from acme_server.validation.errors import ValidationFailure, quoted
from acme_server.validation.netguard import IPAddress

# RFC 8555 section 8.3: the challenge URL's path.
CHALLENGE_PATH: Final = "/.well-known/acme-challenge/"
# RFC 8555 section 8.1: a token is base64url without padding (RFC 4648 section 5).
TOKEN_RE: Final = re.compile(r"[A-Za-z0-9_-]+")
# RFC 1035 section 2.3.4: at most 255 octets on the wire, so 253 characters of text.
MAX_DNS_NAME_CHARS: Final = 253
# RFC 1035 section 2.3.1 letters/digits/hyphen, 1-63 per label; underscores are let through
# (RFC 2181 section 11: DNS itself has no syntax limit) and left to policy.
LABEL_RE: Final = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")


@dataclass(frozen=True, slots=True)
class Target:
    """A URL validation may fetch. `host` is a lower-case DNS name or an IP's text."""

    scheme: str
    host: str
    ip: IPAddress | None  # the host's address when the host is an IP literal
    port: int
    raw_path_qs: str  # request target, already percent-encoded

    @property
    def url(self) -> URL:
        """The URL as a client would write it (for details and relative redirects)."""
        return _url(self.scheme, self.host, self.port, self.raw_path_qs)

    def connect_url(self, address: IPAddress) -> URL:
        """The same request aimed at `address`: nothing left for aiohttp to resolve."""
        return _url(self.scheme, str(address), self.port, self.raw_path_qs)

    def host_header(self, config: ValidationConfig) -> str:
        """RFC 9110 section 7.2 Host: the host, bracketed if IPv6, port if not the default."""
        host = f"[{self.host}]" if self.ip is not None and self.ip.version == 6 else self.host
        if self.port == default_port(self.scheme, config):
            return host
        return f"{host}:{self.port}"

    @property
    def sni(self) -> str | None:
        """TLS server name (RFC 6066 section 3: DNS names only, never an IP literal)."""
        return self.host if self.scheme == "https" and self.ip is None else None


def default_port(scheme: str, config: ValidationConfig) -> int:
    return config.https_port if scheme == "https" else config.http01_port


def challenge_target(
    identifier_type: str, identifier: str, token: str, config: ValidationConfig
) -> Target:
    """RFC 8555 section 8.3 (RFC 8738 section 3 for "ip"): the first URL to fetch."""
    if not TOKEN_RE.fullmatch(token):
        raise ValueError("an HTTP-01 token is base64url (RFC 8555 section 8.1)")
    path = CHALLENGE_PATH + token
    if identifier_type == "ip":
        try:
            ip = ipaddress.ip_address(identifier)
        except ValueError:
            raise ValidationFailure(
                "rejectedIdentifier", f"{quoted(identifier)} is not an IP address"
            ) from None
        return Target("http", str(ip), ip, config.http01_port, path)
    if identifier_type != "dns":
        raise ValidationFailure(
            "rejectedIdentifier",
            f"HTTP-01 cannot validate identifier type {quoted(identifier_type)}",
        )
    if identifier.startswith("*."):
        raise ValidationFailure(
            "rejectedIdentifier",
            f"HTTP-01 cannot validate the wildcard {quoted(identifier)} "
            "(RFC 8555 section 7.1.3: dns-01 only)",
        )
    name = dns_name(identifier)
    if name is None:
        raise ValidationFailure(
            "rejectedIdentifier", f"{quoted(identifier)} is not a valid DNS name"
        )
    return Target("http", name, None, config.http01_port, path)


def redirect_target(current: Target, location: str, config: ValidationConfig) -> Target:
    """The Target a redirect's Location names, relative to `current`, or ValidationFailure.

    Only http and https (RFC 8555 section 8.3), only the configured ports (80 and 443 by
    default; DESIGN.md "Security posture"); user info and fragment are dropped.
    """
    where = f"redirect from {current.url} to {quoted(location)}"
    try:
        url = current.url.join(URL(location))
        scheme, raw_host, port = url.scheme.lower(), url.raw_host, url.explicit_port
        raw_path_qs = url.raw_path_qs
    except (ValueError, TypeError):
        raise ValidationFailure("connection", f"{where}: not a valid URL") from None
    if scheme not in ("http", "https"):
        raise ValidationFailure("connection", f"{where}: only http and https are followed")
    if port is None:
        port = default_port(scheme, config)
    allowed = sorted({config.http01_port, config.https_port})
    if port not in allowed:
        ports = " and ".join(str(p) for p in allowed)
        raise ValidationFailure("connection", f"{where}: only ports {ports} are followed")
    try:
        ip: IPAddress | None = ipaddress.ip_address(raw_host or "")
    except ValueError:
        ip = None
    if ip is not None:
        return Target(scheme, str(ip), ip, port, raw_path_qs)
    name = dns_name(raw_host or "")
    if name is None:
        raise ValidationFailure("connection", f"{where}: the host is not a valid DNS name")
    return Target(scheme, name, None, port, raw_path_qs)


def dns_name(text: str) -> str | None:
    """`text` lower-cased without a final dot if it is a DNS name in ASCII form (A-labels,
    RFC 5890) and not an IP address; else None."""
    name = text.lower().removesuffix(".")
    if not name.isascii() or len(name) > MAX_DNS_NAME_CHARS:
        return None
    if not all(LABEL_RE.fullmatch(label) for label in name.split(".")):
        return None
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return name
    return None


def _url(scheme: str, host: str, port: int, raw_path_qs: str) -> URL:
    path, _, query = raw_path_qs.partition("?")
    bracketed = f"[{host}]" if ":" in host else host
    return URL.build(
        scheme=scheme, host=bracketed, port=port, path=path, query_string=query, encoded=True
    )
