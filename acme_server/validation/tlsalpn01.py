"""RFC 8737 TLS-ALPN-01 (RFC 8738 section 6 for IP identifiers).

A TLS connection to port 443 (config.tlsalpn01_port) offering only the ALPN protocol
`acme-tls/1`, with SNI the DNS name (for an IP identifier, its reverse-DNS name, e.g.
1.0.0.127.in-addr.arpa). The handshake must select acme-tls/1, and the certificate the
responder presents must carry exactly one subjectAltName, equal to the identifier (dNSName,
case-insensitive, or iPAddress), and a critical acmeIdentifier extension whose value is the
DER OCTET STRING of SHA-256(key authorization). The certificate is not otherwise verified
(section 3: it is self-signed and proves control by its contents).

As in http01.py, every address of the name is resolved by our Resolver and checked by
netguard before any connection, the connection goes to a checked IP literal (so an answer
that changes between check and connect cannot redirect it), and the address the socket is
actually connected to is checked again. DNS, connect and handshake share config.timeout.

Failures, by RFC 8555 section 6.7 type:
    dns                 the name has no address, or the lookup failed
    rejectedIdentifier  an address is private/reserved/own and not allow-listed
    connection          cannot connect, reset, or timed out
    tls                 the handshake failed, or it did not select acme-tls/1
    incorrectResponse   the certificate is unreadable or not shaped as section 3 asks:
                        not exactly one SAN equal to the identifier, acmeIdentifier missing,
                        not critical or not a 32-octet OCTET STRING
    unauthorized        the acmeIdentifier holds another key authorization's digest
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import os
import ssl
from typing import Final

from cryptography import x509

from acme_server.validation.config import ValidationConfig
from acme_server.validation.errors import ValidationFailure, quoted
from acme_server.validation.netguard import IPAddress, check_address
from acme_server.validation.resolver import Resolver
from acme_server.validation.targets import dns_name

# RFC 8737 section 6.2: the ALPN protocol ID.
ACME_TLS_ALPN: Final = "acme-tls/1"
# RFC 8737 section 6.1: id-pe-acmeIdentifier.
ACME_IDENTIFIER_OID: Final = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.31")
# RFC 8737 section 3: Authorization ::= OCTET STRING (SIZE (32)), DER: tag 0x04, length 32.
_OCTET_STRING_32: Final = b"\x04\x20"


async def validate_tlsalpn01(
    *,
    identifier_type: str,
    identifier: str,
    key_authorization: str,
    config: ValidationConfig,
    resolver: Resolver,
) -> None:
    """Return if the identifier's TLS-ALPN-01 responder proves `key_authorization`; else
    raise ValidationFailure."""
    host, ip, sni = _target(identifier_type, identifier)
    where = f"{quoted(identifier)} port {config.tlsalpn01_port}"
    doing = ["dns", f"resolving {host}"]
    try:
        async with asyncio.timeout(config.timeout):
            addresses = [ip] if ip is not None else await resolver.addresses(host)
            for address in addresses:
                _check(address, host if ip is None else None, config)
            der = await _handshake(addresses, sni, config, doing)
    except TimeoutError:
        raise ValidationFailure(
            doing[0], f"timed out {doing[1]} (limit {config.timeout:g} s in all)"
        ) from None
    _check_certificate(der, host, ip, key_authorization, where)


def _target(identifier_type: str, identifier: str) -> tuple[str, IPAddress | None, str]:
    """(host to resolve or address text, the IP for ip identifiers, SNI name)."""
    if identifier_type == "ip":
        try:
            ip = ipaddress.ip_address(identifier)
        except ValueError:
            raise ValidationFailure(
                "rejectedIdentifier", f"{quoted(identifier)} is not an IP address"
            ) from None
        # RFC 8738 section 6: the SNI is the reverse-DNS name (RFC 1034 / RFC 3596).
        return str(ip), ip, ip.reverse_pointer
    if identifier_type != "dns":
        raise ValidationFailure(
            "rejectedIdentifier",
            f"TLS-ALPN-01 cannot validate identifier type {quoted(identifier_type)}",
        )
    if identifier.startswith("*."):
        raise ValidationFailure(
            "rejectedIdentifier",
            f"TLS-ALPN-01 cannot validate the wildcard {quoted(identifier)} "
            "(RFC 8737 section 3: dns-01 only)",
        )
    name = dns_name(identifier)
    if name is None:
        raise ValidationFailure(
            "rejectedIdentifier", f"{quoted(identifier)} is not a valid DNS name"
        )
    return name, None, name


def _check(address: IPAddress, name: str | None, config: ValidationConfig) -> None:
    try:
        check_address(address, config)
    except ValidationFailure as refused:
        via = f"{name} resolves to {address}: " if name is not None else ""
        raise ValidationFailure(refused.problem, f"TLS-ALPN-01 {via}{refused.detail}") from None


def client_context() -> ssl.SSLContext:
    """TLS 1.2+ (RFC 8737 section 4), no certificate verification (the certificate is
    checked by its contents), ALPN offering only acme-tls/1."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols([ACME_TLS_ALPN])
    return context


async def _handshake(
    addresses: list[IPAddress], sni: str, config: ValidationConfig, doing: list[str]
) -> bytes:
    """The peer certificate (DER) from the first IPv6, else the first IPv4 address; the
    IPv4 address is tried if connecting to the IPv6 one fails, as in http01.py."""
    candidates = [
        next(a for a in addresses if a.version == version)
        for version in (6, 4)
        if any(a.version == version for a in addresses)
    ]
    port = config.tlsalpn01_port
    for index, address in enumerate(candidates):
        doing[:] = ["connection", f"connecting to {address} port {port}"]
        last = index + 1 == len(candidates)
        connect_timeout = None if last else config.timeout / len(candidates)
        try:
            async with asyncio.timeout(connect_timeout):
                _reader, writer = await asyncio.open_connection(str(address), port)
        except TimeoutError:
            if last:
                raise
            continue
        except OSError as exc:
            if last:
                reason = os.strerror(exc.errno).lower() if exc.errno else "could not connect"
                raise ValidationFailure(
                    "connection", f"TLS-ALPN-01 to {address} port {port}: {reason}"
                ) from None
            continue
        try:
            return await _tls(writer, address, sni, config, doing)
        finally:
            # abort, not close: nothing to flush, and waiting for a hostile peer to
            # acknowledge a close (or for a cancelled handshake to unwind) could hang.
            writer.transport.abort()
    raise AssertionError("unreachable: there is at least one address")


async def _tls(
    writer: asyncio.StreamWriter,
    address: IPAddress,
    sni: str,
    config: ValidationConfig,
    doing: list[str],
) -> bytes:
    where = f"TLS-ALPN-01 to {address} port {config.tlsalpn01_port} (SNI {sni})"
    peer = writer.get_extra_info("peername")
    # The address the socket actually reached, checked again (defence in depth).
    _check(ipaddress.ip_address(peer[0]), None, config)
    doing[:] = ["connection", f"in the TLS handshake with {address} (SNI {sni})"]
    try:
        await writer.start_tls(client_context(), server_hostname=sni)
    except ssl.SSLError as exc:
        reason = exc.reason.lower().replace("_", " ") if exc.reason else "handshake failed"
        raise ValidationFailure("tls", f"{where}: TLS handshake failed ({reason})") from None
    except (ConnectionError, OSError):
        raise ValidationFailure(
            "connection", f"{where}: the server closed the connection in the handshake"
        ) from None
    tls = writer.get_extra_info("ssl_object")
    if not isinstance(tls, ssl.SSLObject):
        raise ValidationFailure("tls", f"{where}: no TLS session")
    protocol = tls.selected_alpn_protocol()
    if protocol != ACME_TLS_ALPN:
        got = "none" if protocol is None else quoted(protocol)
        raise ValidationFailure(
            "tls", f"{where}: the server did not negotiate ALPN {ACME_TLS_ALPN} (got {got})"
        )
    der = tls.getpeercert(binary_form=True)
    if not der:
        raise ValidationFailure("tls", f"{where}: the server presented no certificate")
    return der


def _check_certificate(
    der: bytes,
    host: str,
    ip: IPAddress | None,
    key_authorization: str,
    where: str,
) -> None:
    """RFC 8737 section 3 on the presented certificate."""
    prefix = f"the TLS-ALPN-01 certificate for {where}"
    try:
        certificate = x509.load_der_x509_certificate(der)
        extensions = certificate.extensions
    except ValueError:
        raise ValidationFailure("incorrectResponse", f"{prefix} cannot be parsed") from None
    try:
        san = extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        raise ValidationFailure("incorrectResponse", f"{prefix} has no subjectAltName") from None
    names = list(san)
    expected: x509.GeneralName = x509.IPAddress(ip) if ip is not None else x509.DNSName(host)
    if len(names) != 1 or not _same_name(names[0], expected):
        shown = ", ".join(_describe(n) for n in names[:5]) + (", ..." if len(names) > 5 else "")
        raise ValidationFailure(
            "incorrectResponse",
            f"{prefix} must have exactly one subjectAltName, {_describe(expected)} "
            f"(RFC 8737 section 3); it has: {shown or 'none'}",
        )
    try:
        extension = extensions.get_extension_for_oid(ACME_IDENTIFIER_OID)
    except x509.ExtensionNotFound:
        raise ValidationFailure(
            "incorrectResponse", f"{prefix} has no acmeIdentifier extension"
        ) from None
    if not extension.critical:
        raise ValidationFailure(
            "incorrectResponse", f"{prefix}: the acmeIdentifier extension is not critical"
        )
    value = extension.value
    raw = value.value if isinstance(value, x509.UnrecognizedExtension) else b""
    if len(raw) != 34 or not raw.startswith(_OCTET_STRING_32):
        raise ValidationFailure(
            "incorrectResponse",
            f"{prefix}: the acmeIdentifier is not a 32-octet OCTET STRING (RFC 8737 section 3)",
        )
    digest = hashlib.sha256(key_authorization.encode("ascii")).digest()
    if raw[2:] != digest:
        raise ValidationFailure(
            "unauthorized",
            f"{prefix}: the acmeIdentifier is not the SHA-256 of the key authorization",
        )


def _same_name(name: x509.GeneralName, expected: x509.GeneralName) -> bool:
    if isinstance(name, x509.DNSName) and isinstance(expected, x509.DNSName):
        return name.value.lower() == expected.value
    return isinstance(name, x509.IPAddress) and name == expected


def _describe(name: x509.GeneralName) -> str:
    if isinstance(name, x509.DNSName):
        return f"dNSName {quoted(name.value)}"
    if isinstance(name, x509.IPAddress):
        return f"iPAddress {name.value}"
    return type(name).__name__
