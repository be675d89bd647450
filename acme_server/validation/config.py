"""What validation may contact and how long it may take: one frozen ValidationConfig.

The defaults are the safe ones (DESIGN.md "Security posture"): port 80 for HTTP-01, 443 for
HTTPS redirect targets, no private or reserved address allowed, the system resolver, a short
total timeout, at most 10 redirects and a small response cap.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Final

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# RFC 8555 section 8.3: the HTTP-01 request goes to port 80.
HTTP01_PORT: Final = 80
# RFC 8737 section 3: the TLS-ALPN-01 connection goes to port 443.
TLSALPN01_PORT: Final = 443
# RFC 8555 section 8.3 lets validation follow redirects; HTTPS targets use port 443 (RFC 9110
# section 4.2.2).
HTTPS_PORT: Final = 443
# RFC 8555 section 8.3 bounds neither; Let's Encrypt follows at most 10 redirects.
MAX_REDIRECTS: Final = 10
# RFC 8555 section 8.3: the body is a key authorization, token "." thumbprint (section 8.1),
# about 87 octets for a 256-bit token and a SHA-256 thumbprint, plus trailing whitespace the
# server SHOULD ignore. 4 KiB leaves room for long tokens and generous whitespace while a
# hostile server can make us buffer almost nothing.
MAX_BODY_BYTES: Final = 4096
# RFC 8555 section 8.2 lets the server retry; one attempt, DNS + every redirect, gets this.
VALIDATION_TIMEOUT_S: Final = 10.0
DNS_PORT: Final = 53  # RFC 1035 section 4.2
# RFC 8555 section 8.2 leaves the pace to the server. A validation holds a socket and a task
# for up to `timeout`; these bound how many a slow responder can tie up: in all per server
# process, and per ACME account (so one account's slow responders cannot starve the rest).
MAX_CONCURRENT_VALIDATIONS: Final = 32
MAX_CONCURRENT_VALIDATIONS_PER_ACCOUNT: Final = 4
CAA_CACHE_SECONDS: Final = 300.0

LOOPBACK_NETWORKS: Final[tuple[IPNetwork, ...]] = (
    ipaddress.IPv4Network("127.0.0.0/8"),  # RFC 1122 section 3.2.1.3
    ipaddress.IPv6Network("::1/128"),  # RFC 4291 section 2.5.3
)
# Loopback plus the ranges a private network's servers live in; for operators validating
# hosts inside their own network.
PRIVATE_NETWORKS: Final[tuple[IPNetwork, ...]] = (
    *LOOPBACK_NETWORKS,
    ipaddress.IPv4Network("10.0.0.0/8"),  # RFC 1918
    ipaddress.IPv4Network("172.16.0.0/12"),  # RFC 1918
    ipaddress.IPv4Network("192.168.0.0/16"),  # RFC 1918
    ipaddress.IPv4Network("100.64.0.0/10"),  # RFC 6598 shared address space
    ipaddress.IPv6Network("fc00::/7"),  # RFC 4193 unique local
)


@dataclass(frozen=True, slots=True)
class ValidationConfig:
    http01_port: int = HTTP01_PORT
    https_port: int = HTTPS_PORT
    tlsalpn01_port: int = TLSALPN01_PORT
    # Private/loopback ranges the operator allow-lists; empty: only public addresses.
    allowed_networks: tuple[IPNetwork, ...] = ()
    # The server's own public addresses (its listen and external URL addresses); refused like
    # private ones unless allow-listed. Addresses of this host's interfaces are refused too.
    own_addresses: tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...] = ()
    # (address, port) of the nameservers to ask; empty: the system resolver.
    nameservers: tuple[tuple[str, int], ...] = ()
    timeout: float = VALIDATION_TIMEOUT_S  # seconds, total per validation attempt
    max_redirects: int = MAX_REDIRECTS
    max_body_bytes: int = MAX_BODY_BYTES
    max_concurrent: int = MAX_CONCURRENT_VALIDATIONS  # per server process
    max_concurrent_per_account: int = MAX_CONCURRENT_VALIDATIONS_PER_ACCOUNT
    # CAA answers are reused for their TTL, but never longer than this (0: not cached).
    caa_cache_seconds: float = CAA_CACHE_SECONDS

    def __post_init__(self) -> None:
        for name in ("http01_port", "https_port", "tlsalpn01_port"):
            port = getattr(self, name)
            if not _is_port(port):
                raise ValueError(f"{name}: {port!r} is not a TCP port (1-65535)")
        for network in self.allowed_networks:
            if not isinstance(network, ipaddress.IPv4Network | ipaddress.IPv6Network):
                raise ValueError(f"allowed_networks: {network!r} is not an IP network")
        for host, port in self.nameservers:
            ipaddress.ip_address(host)  # ValueError names the bad address
            if not _is_port(port):
                raise ValueError(f"nameservers: {port!r} is not a UDP/TCP port (1-65535)")
        if not self.timeout > 0:
            raise ValueError(f"timeout: {self.timeout!r} is not a positive number of seconds")
        if self.max_redirects < 0:
            raise ValueError(f"max_redirects: {self.max_redirects!r} is negative")
        if self.max_body_bytes < 1:
            raise ValueError(f"max_body_bytes: {self.max_body_bytes!r} is not positive")
        if self.caa_cache_seconds < 0:
            raise ValueError(f"caa_cache_seconds: {self.caa_cache_seconds!r} is negative")
        for name in ("max_concurrent", "max_concurrent_per_account"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: {getattr(self, name)!r} is not positive")

    @classmethod
    def allowing_private(
        cls,
        *,
        http01_port: int = HTTP01_PORT,
        https_port: int = HTTPS_PORT,
        tlsalpn01_port: int = TLSALPN01_PORT,
        nameservers: tuple[tuple[str, int], ...] = (),
        timeout: float = VALIDATION_TIMEOUT_S,
        max_redirects: int = MAX_REDIRECTS,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> ValidationConfig:
        """A config that may also contact loopback (127.0.0.0/8, ::1): tests, local trials."""
        return cls(
            http01_port=http01_port,
            https_port=https_port,
            tlsalpn01_port=tlsalpn01_port,
            allowed_networks=LOOPBACK_NETWORKS,
            nameservers=nameservers,
            timeout=timeout,
            max_redirects=max_redirects,
            max_body_bytes=max_body_bytes,
        )


def parse_nameserver(text: str) -> tuple[str, int]:
    """ "HOST:PORT", "[V6]:PORT", or a bare address (port 53) -> (address, port).

    HOST must be an IP address: the resolver that finds a nameserver's name is the thing
    being configured. Raises ValueError saying what is expected.
    """
    value = text.strip()
    expected = "expected ADDRESS[:PORT] with an IP address, IPv6 as [ADDRESS]:PORT"
    host, port_text = value, ""
    if value.startswith("["):
        host, sep, rest = value[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"nameserver {text!r}: {expected}")
        port_text = rest[1:] if rest else ""
        if rest == ":":
            raise ValueError(f"nameserver {text!r}: the port is missing after ':'")
    elif value.count(":") == 1:
        host, _, port_text = value.partition(":")
        if not port_text:
            raise ValueError(f"nameserver {text!r}: the port is missing after ':'")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        message = f"nameserver {text!r}: {host!r} is not an IP address; {expected}"
        raise ValueError(message) from None
    if value.startswith("[") and address.version != 6:
        raise ValueError(f"nameserver {text!r}: brackets are for IPv6 addresses; {expected}")
    port = DNS_PORT
    if port_text:
        if not port_text.isascii() or not port_text.isdigit() or not _is_port(int(port_text)):
            raise ValueError(f"nameserver {text!r}: {port_text!r} is not a port (1-65535)")
        port = int(port_text)
    return str(address), port


def _is_port(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536
