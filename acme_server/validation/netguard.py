"""Which addresses validation may contact: public unicast only, unless allow-listed.

A validation request is a request the CA makes on behalf of whoever asked for a certificate,
so without this guard an ACME client could make the CA probe its own network (SSRF):
loopback, RFC 1918, link-local cloud metadata (169.254.169.254), and so on. DESIGN.md
"Security posture": private and reserved addresses are refused unless the operator lists
them in ValidationConfig.allowed_networks.

A refusal is a `rejectedIdentifier` problem (RFC 8555 section 6.7: "The server will not
issue certificates for the identifier"): it is this server's policy, not a network failure,
and retrying will not change it, which `connection` would suggest.

The ipaddress module's properties catch most special ranges; the explicit tables below add
what they miss or what older Pythons get wrong (IANA IPv4/IPv6 special-purpose registries,
RFC 6890). IPv6 is public only inside 2000::/3 (RFC 4291 section 2.4, global unicast).
IPv4-mapped (::ffff:0:0/96) and NAT64 (64:ff9b::/96) forms are refused outright (a public
host publishes an A record); for the allow-list they count as the IPv4 address they reach.
A scoped IPv6 address (fe80::1%eth0) is refused whatever is allowed.

The server's own addresses are refused too, even public ones (a client could otherwise make
the CA talk to its own admin ports): those the operator names (ValidationConfig.own_addresses,
from the listen address and the external URL) and any address of this host's interfaces,
found by asking the kernel whether a socket can bind to it (unless the host allows binding
to foreign addresses, net.ipv4.ip_nonlocal_bind, where that question says nothing).
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from typing import Final

from acme_server.validation.config import PRIVATE_NETWORKS, IPNetwork, ValidationConfig
from acme_server.validation.errors import ValidationFailure

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

# (network, why) checked in order; the first match names the refusal.
SPECIAL_IPV4: Final[tuple[tuple[ipaddress.IPv4Network, str], ...]] = (
    (_V4("0.0.0.0/8"), "'this network' (RFC 791)"),
    (_V4("10.0.0.0/8"), "private (RFC 1918)"),
    (_V4("100.64.0.0/10"), "shared address space (RFC 6598)"),
    (_V4("127.0.0.0/8"), "loopback (RFC 1122)"),
    (_V4("169.254.0.0/16"), "link-local (RFC 3927)"),
    (_V4("172.16.0.0/12"), "private (RFC 1918)"),
    (_V4("192.0.0.0/24"), "IETF protocol assignment (RFC 6890)"),
    (_V4("192.0.2.0/24"), "documentation (RFC 5737)"),
    (_V4("192.31.196.0/24"), "AS112 (RFC 7535)"),
    (_V4("192.52.193.0/24"), "AMT (RFC 7450)"),
    (_V4("192.88.99.0/24"), "6to4 relay anycast (RFC 7526)"),
    (_V4("192.168.0.0/16"), "private (RFC 1918)"),
    (_V4("192.175.48.0/24"), "AS112 direct delegation (RFC 7534)"),
    (_V4("198.18.0.0/15"), "benchmarking (RFC 2544)"),
    (_V4("198.51.100.0/24"), "documentation (RFC 5737)"),
    (_V4("203.0.113.0/24"), "documentation (RFC 5737)"),
    (_V4("224.0.0.0/4"), "multicast (RFC 5771)"),
    (_V4("240.0.0.0/4"), "reserved (RFC 1112)"),  # includes 255.255.255.255 broadcast
)
SPECIAL_IPV6: Final[tuple[tuple[ipaddress.IPv6Network, str], ...]] = (
    (_V6("::/128"), "unspecified (RFC 4291)"),
    (_V6("::1/128"), "loopback (RFC 4291)"),
    (_V6("::ffff:0:0/96"), "IPv4-mapped (RFC 4291)"),
    (_V6("64:ff9b::/96"), "NAT64 (RFC 6052)"),
    (_V6("64:ff9b:1::/48"), "local-use NAT64 (RFC 8215)"),
    (_V6("100::/64"), "discard-only (RFC 6666)"),
    (_V6("2001::/23"), "IETF protocol assignment incl. Teredo (RFC 2928, RFC 4380)"),
    (_V6("2001:db8::/32"), "documentation (RFC 3849)"),
    (_V6("2002::/16"), "6to4 (RFC 3056, deprecated by RFC 7526)"),
    (_V6("3fff::/20"), "documentation (RFC 9637)"),
    (_V6("5f00::/16"), "segment routing SIDs (RFC 9602)"),
    (_V6("fc00::/7"), "unique local (RFC 4193)"),
    (_V6("fe80::/10"), "link-local (RFC 4291)"),
    (_V6("fec0::/10"), "site-local (RFC 3879)"),
    (_V6("ff00::/8"), "multicast (RFC 4291)"),
)
GLOBAL_UNICAST_V6: Final = _V6("2000::/3")  # RFC 4291 section 2.4
NAT64_PREFIX: Final = _V6("64:ff9b::/96")  # RFC 6052 section 2.1, well-known prefix
# Reserved (RFC 1112) and discard-only (RFC 6666) addresses no host has: if one binds, the
# host binds any address.
_NEVER_LOCAL: Final = (ipaddress.IPv4Address("240.255.255.254"), ipaddress.IPv6Address("100::1"))


def forbidden_reason(ip: IPAddress) -> str | None:
    """Why `ip` is not a public unicast address, or None if it is one."""
    if isinstance(ip, ipaddress.IPv6Address):
        return _ipv6_reason(ip)
    for network, why in SPECIAL_IPV4:
        if ip in network:
            return why
    return _property_reason(ip)


def check_address(ip: IPAddress, config: ValidationConfig) -> None:
    """Raise ValidationFailure("rejectedIdentifier") unless validation may contact `ip`."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id is not None:
        raise ValidationFailure(
            "rejectedIdentifier", f"refusing to contact {ip}: scoped (zone) address"
        )
    if is_allowed(ip, config.allowed_networks):
        return
    why = forbidden_reason(ip)
    if why is None:
        why = own_address_reason(ip, config)
    if why is None:
        return
    hint = ""
    if is_allowed(ip, PRIVATE_NETWORKS):
        hint = (
            "; a trial or private deployment allows loopback and private networks with "
            "`kms serve --allow-private-validation` (setting allow_private_validation)"
        )
    raise ValidationFailure(
        "rejectedIdentifier",
        f"refusing to contact {ip}: {why} address, not in the allowed networks{hint}",
    )


def own_address_reason(ip: IPAddress, config: ValidationConfig) -> str | None:
    """Why `ip` is this server's own address, or None."""
    if ip in config.own_addresses:
        return "this server's own (configured)"
    if is_local_address(ip):
        return "this host's own (bound to one of its interfaces)"
    return None


def is_local_address(ip: IPAddress) -> bool:
    """Is `ip` an address of one of this host's interfaces? (A bind to it succeeds.)"""
    never_local = _NEVER_LOCAL[0] if ip.version == 4 else _NEVER_LOCAL[1]
    if _binds(never_local):  # the host binds foreign addresses: bind tells nothing
        return False
    return _binds(ip)


@functools.lru_cache(maxsize=2)
def _binds_anything(ip: IPAddress) -> bool:
    return _bind_works(ip)


def _binds(ip: IPAddress) -> bool:
    if ip in _NEVER_LOCAL:
        return _binds_anything(ip)
    return _bind_works(ip)


def _bind_works(ip: IPAddress) -> bool:
    family = socket.AF_INET if ip.version == 4 else socket.AF_INET6
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.bind((str(ip), 0))
    except OSError:  # EADDRNOTAVAIL: not ours; EAFNOSUPPORT: no IPv6 here
        return False
    return True


def is_allowed(ip: IPAddress, networks: tuple[IPNetwork, ...]) -> bool:
    """Is `ip` (or the IPv4 address an IPv4-mapped/NAT64 `ip` reaches) in `networks`?"""
    candidates: list[IPAddress] = [ip]
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        candidates.append(embedded)
    return any(
        candidate.version == network.version and candidate in network
        for candidate in candidates
        for network in networks
    )


def _ipv6_reason(ip: ipaddress.IPv6Address) -> str | None:
    plain = ipaddress.IPv6Address(int(ip))  # drop any scope for the table lookups
    for network, why in SPECIAL_IPV6:
        if plain in network:
            return why
    if plain not in GLOBAL_UNICAST_V6:
        return "unassigned or reserved IPv6 (outside 2000::/3, RFC 4291)"
    return _property_reason(plain)


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv4-mapped (RFC 4291) or NAT64 (RFC 6052) address reaches."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    plain = ipaddress.IPv6Address(int(ip))
    if plain in NAT64_PREFIX:
        return ipaddress.IPv4Address(int(plain) & 0xFFFFFFFF)
    return None


def _property_reason(ip: IPAddress) -> str | None:
    """Backstop: the ipaddress module's view, for ranges added after the tables above."""
    checks = (
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (ip.is_private, "private"),
        (ip.is_reserved, "reserved"),
        (not ip.is_global, "non-global"),
    )
    for flagged, why in checks:
        if flagged:
            return why
    return None
