"""Shared values and builders for the validation tests."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import replace
from typing import Any

from acme_server.validation.config import ValidationConfig
from acme_server.validation.http01 import validate_http01
from acme_server.validation.resolver import Resolver
from testkit.dns_server import DNSServer
from testkit.http01_responder import HTTP01Responder

# RFC 8555 section 8.1: token "." base64url(SHA-256 JWK thumbprint).
TOKEN = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
THUMBPRINT = "nP1qzpXGymHBrUEepNY9HCsQk7K8KhOypzEt62jcerQ"
KEY_AUTHORIZATION = f"{TOKEN}.{THUMBPRINT}"
CHALLENGE_PATH = f"/.well-known/acme-challenge/{TOKEN}"
ONLY_127_0_0_1 = (ipaddress.IPv4Network("127.0.0.1/32"),)


def config_for(dns: DNSServer, web: HTTP01Responder, **changes: Any) -> ValidationConfig:
    """Loopback allowed, HTTP-01 on the responder's port, DNS from the test server."""
    base = ValidationConfig.allowing_private(
        http01_port=web.port, nameservers=(dns.nameserver,), timeout=5.0
    )
    return replace(base, **changes)


async def validate(
    config: ValidationConfig,
    identifier: str,
    *,
    identifier_type: str = "dns",
    token: str = TOKEN,
    key_authorization: str = KEY_AUTHORIZATION,
) -> None:
    await validate_http01(
        identifier_type=identifier_type,
        identifier=identifier,
        token=token,
        key_authorization=key_authorization,
        config=config,
        resolver=Resolver(config),
    )


def unused_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on (just now)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def ipv6_loopback_works() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True
