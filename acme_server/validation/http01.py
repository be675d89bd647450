"""RFC 8555 section 8.3 HTTP-01 (RFC 8738 section 3 for IP identifiers).

GET http://<identifier>/.well-known/acme-challenge/<token> on the configured port, follow
redirects to http/https on the configured ports, and compare the body with the key
authorization. What may be contacted is decided here, not by aiohttp:

- every host is resolved by our Resolver and EVERY address it has is checked by netguard
  before any connection; then the request is sent to one of those checked addresses as an IP
  literal (Host header and TLS SNI carry the name). aiohttp never resolves a name, so an
  answer that changes between check and connect (DNS rebinding) cannot redirect the fetch.
- each redirect target is parsed, limited (scheme, port, count) and resolved and checked
  again as a new host.
- the address each socket actually reached is read back from it, before the request is
  sent, and must be the checked one, in case anything between us and the kernel had other
  ideas.
- the whole validation (DNS, connects, redirects, body) is bounded by config.timeout, and
  at most config.max_body_bytes of the body are read.

Failures, by RFC 8555 section 6.7 type:
    dns                 the name has no address, or the lookup failed
    rejectedIdentifier  an address is private/reserved and not allow-listed (netguard.py)
    connection          cannot connect, reset, timeout, bad HTTP, or a redirect that may not
                        be followed (scheme, port, more than max_redirects, bad Location)
    tls                 the TLS handshake with an https redirect target failed
    unauthorized        a status other than 200 (and not a redirect), a body too large, or a
                        body other than the key authorization (as Boulder and Pebble report)
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import ssl
from dataclasses import dataclass
from typing import Final

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.connector import Connection

from acme_server.validation.config import ValidationConfig
from acme_server.validation.errors import ValidationFailure, quoted
from acme_server.validation.netguard import IPAddress, check_address
from acme_server.validation.resolver import Resolver
from acme_server.validation.targets import Target, challenge_target, redirect_target

USER_AGENT: Final = "kms-acme-validator"
# RFC 9110 section 15.4: the redirect status codes that carry a Location to follow.
REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
# How much of a wrong body a detail quotes (the key authorization is about 87 characters).
MAX_QUOTED_BODY_CHARS: Final = 100


async def validate_http01(
    *,
    identifier_type: str,
    identifier: str,
    token: str,
    key_authorization: str,
    config: ValidationConfig,
    resolver: Resolver,
    session: aiohttp.ClientSession | None = None,
) -> None:
    """Return if the identifier serves `key_authorization` for `token`; else raise
    ValidationFailure. `session`, if given, should come from new_session() (it must not
    trust proxy settings from the environment); without one, a session is made and closed.
    A token that is not base64url is a programming error (ValueError)."""
    target = challenge_target(identifier_type, identifier, token, config)
    expected = key_authorization.encode("ascii")
    if session is not None and session.trust_env:
        raise ValueError("validation sessions must not use proxies (trust_env=False)")
    progress = _Progress("dns", f"resolving {target.host}")
    owned = session is None
    client = new_session() if session is None else session
    try:
        async with asyncio.timeout(config.timeout):
            url, body = await _fetch(client, target, config, resolver, progress)
    except TimeoutError:
        raise ValidationFailure(
            progress.problem, f"timed out {progress.doing} (limit {config.timeout:g} s in all)"
        ) from None
    finally:
        if owned:
            await client.close()
    # RFC 8555 section 8.3: "The server SHOULD ignore whitespace characters at the end".
    received = body.rstrip()
    if received != expected:
        raise ValidationFailure(
            "unauthorized",
            f"the body at {url} is not the key authorization (RFC 8555 section 8.3): "
            f"got {quoted(received, MAX_QUOTED_BODY_CHARS)}",
        )


def new_session() -> aiohttp.ClientSession:
    """A session fit for validation: no cookies, no proxies, no decompression, a new
    connection per request, and a resolver that refuses every name (validation hands aiohttp
    checked IP addresses only)."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(
            force_close=True, resolver=_NoNames(), use_dns_cache=False, ssl=False
        ),
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
        auto_decompress=False,
        timeout=aiohttp.ClientTimeout(total=None),
        request_class=_PeerCheckedRequest,
    )


@dataclass(slots=True)
class _Progress:
    """What the validation is doing now, for the problem if the time limit hits."""

    problem: str  # "dns" while resolving, "connection" while fetching
    doing: str


async def _fetch(
    session: aiohttp.ClientSession,
    target: Target,
    config: ValidationConfig,
    resolver: Resolver,
    progress: _Progress,
) -> tuple[str, bytes]:
    """(final URL, body) after following at most config.max_redirects redirects."""
    first = target.url
    redirects = 0
    while True:
        try:
            addresses = await _checked_addresses(target, config, resolver, progress)
        except ValidationFailure as failure:
            if not redirects:
                raise
            detail = f"redirect {redirects} from {first} to {target.url}: {failure.detail}"
            raise ValidationFailure(failure.problem, detail) from None
        outcome = await _get(session, target, addresses, config, progress)
        if isinstance(outcome, bytes):
            return str(target.url), outcome
        redirects += 1
        if redirects > config.max_redirects:
            raise ValidationFailure(
                "connection",
                f"too many redirects: {first} redirected more than {config.max_redirects} times"
                f" (last to {quoted(outcome)})",
            )
        target = redirect_target(target, outcome, config)


async def _checked_addresses(
    target: Target, config: ValidationConfig, resolver: Resolver, progress: _Progress
) -> list[IPAddress]:
    """The target's addresses, every one passed by netguard (else the first refusal)."""
    if target.ip is not None:
        addresses = [target.ip]
    else:
        progress.problem, progress.doing = "dns", f"resolving {target.host}"
        addresses = await resolver.addresses(target.host)
    for address in addresses:
        try:
            check_address(address, config)
        except ValidationFailure as refused:
            via = "" if target.ip is not None else f" ({target.host} resolves to {address})"
            detail = f"{target.url}{via}: {refused.detail}"
            raise ValidationFailure(refused.problem, detail) from None
    return addresses


async def _get(
    session: aiohttp.ClientSession,
    target: Target,
    addresses: list[IPAddress],
    config: ValidationConfig,
    progress: _Progress,
) -> bytes | str:
    """One GET: the body (status 200) or a redirect's Location. Tries the first IPv6 and
    then the first IPv4 address if connecting to the first fails, as Let's Encrypt does;
    each connect attempt then gets half the time."""
    candidates = [
        next(a for a in addresses if a.version == version)
        for version in (6, 4)
        if any(a.version == version for a in addresses)
    ]
    connect_timeout = config.timeout / len(candidates) if len(candidates) > 1 else None
    for index, address in enumerate(candidates):
        progress.problem, progress.doing = "connection", f"fetching {target.url} from {address}"
        try:
            return await _request(session, target, address, config, connect_timeout)
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            retry = index + 1 < len(candidates) and not isinstance(exc, aiohttp.ClientSSLError)
            if not retry:
                raise _transport_failure(exc, target, address) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise _transport_failure(exc, target, address) from None
    raise AssertionError("unreachable: there is at least one address")


async def _request(
    session: aiohttp.ClientSession,
    target: Target,
    address: IPAddress,
    config: ValidationConfig,
    connect_timeout: float | None,
) -> bytes | str:
    headers = {
        "Host": target.host_header(config),
        "User-Agent": USER_AGENT,
        "Accept": "*/*",
        "Accept-Encoding": "identity",
        "Connection": "close",
    }
    async with session.get(
        target.connect_url(address),
        headers=headers,
        allow_redirects=False,
        raise_for_status=False,
        proxy=None,
        ssl=False,  # RFC 8555 section 8.3: the body is what is validated, not the cert
        server_hostname=target.sni,
        auto_decompress=False,
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout),
    ) as response:
        status = response.status
        if status in REDIRECT_STATUSES:
            location = response.headers.get("Location")
            if not location:
                raise ValidationFailure(
                    "unauthorized", f"{target.url} answered HTTP {status} without a Location"
                )
            return location
        if status != 200:
            raise ValidationFailure(
                "unauthorized",
                f"{target.url} (at {address}) answered HTTP {status}; RFC 8555 section 8.3 "
                "needs 200 with the key authorization",
            )
        return await _read_capped(response, config.max_body_bytes, target)


def check_peer(peer: object, address: IPAddress) -> None:
    """Defence in depth: the address a socket actually reached (its `peername`) must be the
    checked `address` it was opened for; "connection" failure otherwise, also when the peer
    cannot be read."""
    if not isinstance(peer, tuple) or not peer or not isinstance(peer[0], str):
        raise ValidationFailure(
            "connection", f"the connection to {address} closed before its peer could be checked"
        )
    try:
        reached = ipaddress.ip_address(peer[0].partition("%")[0])
    except ValueError:
        raise ValidationFailure(
            "connection", f"the connection to {address} reached no IP address"
        ) from None
    if reached != address:
        raise ValidationFailure(
            "connection", f"the connection meant for {address} reached {reached} instead"
        )


class _PeerCheckedRequest(aiohttp.ClientRequest):
    """A request that, once connected and before anything is sent, checks that the socket
    reached the IP literal of its URL (the address netguard passed)."""

    async def send(self, conn: Connection) -> aiohttp.ClientResponse:
        transport = conn.transport
        peer = None if transport is None else transport.get_extra_info("peername")
        try:
            address = ipaddress.ip_address(self.url.host or "")
        except ValueError:
            raise ValidationFailure(
                "connection", "validation only connects to checked IP addresses"
            ) from None
        check_peer(peer, address)
        return await super().send(conn)


async def _read_capped(response: aiohttp.ClientResponse, limit: int, target: Target) -> bytes:
    """The body, refused ("unauthorized") beyond `limit` bytes; reads at most limit + 1."""
    too_large = ValidationFailure(
        "unauthorized", f"the response from {target.url} is larger than {limit} bytes"
    )
    if response.content_length is not None and response.content_length > limit:
        raise too_large
    body = bytearray()
    while len(body) <= limit:
        chunk = await response.content.read(limit + 1 - len(body))
        if not chunk:
            return bytes(body)
        body += chunk
    raise too_large


def _transport_failure(exc: BaseException, target: Target, address: IPAddress) -> ValidationFailure:
    """A short, repr-free reason for a network-level failure."""
    where = f"{target.url} (at {address}, port {target.port})"
    if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
        return ValidationFailure("tls", f"TLS handshake for {where} failed")
    if isinstance(exc, aiohttp.ServerTimeoutError):
        reason = "timed out"
    elif isinstance(exc, aiohttp.ServerDisconnectedError):
        reason = "the server closed the connection"
    elif isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ClientOSError | OSError):
        code = exc.errno if isinstance(exc, OSError) else None
        reason = os.strerror(code).lower() if code else "could not connect"
    elif isinstance(exc, aiohttp.ClientPayloadError):
        reason = "malformed response body"
    elif isinstance(exc, aiohttp.ClientResponseError):
        reason = "malformed HTTP response"
    else:
        reason = "request failed"
    return ValidationFailure("connection", f"{where}: {reason}")


class _NoNames(AbstractResolver):
    """aiohttp's resolver for validation sessions: it is only ever given IP literals, which
    aiohttp does not resolve, so any name reaching it is a bug and is refused."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        raise OSError(f"validation does not let aiohttp resolve names ({quoted(host)})")

    async def close(self) -> None:
        return None
