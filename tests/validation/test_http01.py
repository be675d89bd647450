"""RFC 8555 section 8.3 HTTP-01 against real loopback servers: outcomes and problem types."""

from __future__ import annotations

import socket

import aiohttp
import pytest

from acme_server.validation.config import ValidationConfig
from acme_server.validation.errors import ValidationFailure
from acme_server.validation.http01 import USER_AGENT, new_session, validate_http01
from acme_server.validation.resolver import Resolver
from testkit.dns_server import DNSServer
from testkit.http01_responder import HTTP01Responder, Reply
from tests.validation.helpers import (
    CHALLENGE_PATH,
    KEY_AUTHORIZATION,
    ONLY_127_0_0_1,
    TOKEN,
    config_for,
    ipv6_loopback_works,
    unused_port,
    validate,
)


async def test_s8_3_dns_identifier_valid(dns_server: DNSServer, responder: HTTP01Responder) -> None:
    dns_server.add("a.test", "A", "127.0.0.1")
    responder.add_token(TOKEN, KEY_AUTHORIZATION)
    await validate(config_for(dns_server, responder), "a.test")
    [seen] = responder.requests
    assert (seen.path, seen.host, seen.user_agent) == (CHALLENGE_PATH, "a.test", USER_AGENT)


async def test_rfc8738_s3_ipv4_identifier_valid(
    dns_server: DNSServer, responder: HTTP01Responder
) -> None:
    responder.add_token(TOKEN, KEY_AUTHORIZATION)
    await validate(config_for(dns_server, responder), "127.0.0.1", identifier_type="ip")
    [seen] = responder.requests
    assert seen.host == "127.0.0.1"
    assert dns_server.queries == []


@pytest.mark.skipif(not ipv6_loopback_works(), reason="no IPv6 loopback here")
async def test_rfc8738_s3_ipv6_identifier_valid_host_bracketed(dns_server: DNSServer) -> None:
    async with HTTP01Responder("::1") as web:
        web.add_token(TOKEN, KEY_AUTHORIZATION)
        await validate(config_for(dns_server, web), "::1", identifier_type="ip")
        [seen] = web.requests
    assert seen.host == "[::1]"


async def test_s8_3_wrong_body_unauthorized(
    dns_server: DNSServer, responder: HTTP01Responder
) -> None:
    dns_server.add("a.test", "A", "127.0.0.1")
    responder.add_token(TOKEN, "something.else\x1b[31m")
    with pytest.raises(ValidationFailure) as caught:
        await validate(config_for(dns_server, responder), "a.test")
    assert caught.value.problem == "unauthorized"
    assert f"http://a.test:{responder.port}{CHALLENGE_PATH}" in caught.value.detail
    assert 'got "something.else\\x1b[31m"' in caught.value.detail


async def test_s8_3_trailing_whitespace_ignored(
    dns_server: DNSServer, responder: HTTP01Responder
) -> None:
    dns_server.add("a.test", "A", "127.0.0.1")
    responder.add_token(TOKEN, KEY_AUTHORIZATION + " \t\r\n\n")
    await validate(config_for(dns_server, responder), "a.test")


async def test_s8_3_leading_whitespace_not_ignored(
    dns_server: DNSServer, responder: HTTP01Responder
) -> None:
    dns_server.add("a.test", "A", "127.0.0.1")
    responder.add_token(TOKEN, "\n" + KEY_AUTHORIZATION)
    with pytest.raises(ValidationFailure) as caught:
        await validate(config_for(dns_server, responder), "a.test")
    assert caught.value.problem == "unauthorized"


@pytest.mark.parametrize("status", [404, 403, 500, 204, 304])
async def test_s8_3_status_other_than_200_unauthorized(
    dns_server: DNSServer, responder: HTTP01Responder, status: int
) -> None:
    dns_server.add("a.test", "A", "127.0.0.1")
    responder.reply(CHALLENGE_PATH, Reply(status=status, body=b""))
    with pytest.raises(ValidationFailure) as caught:
        await validate(config_for(dns_server, responder), "a.test")
    assert caught.value.problem == "unauthorized"
    assert f"HTTP {status}" in caught.value.detail


async def test_s8_3_missing_token_is_404_unauthorized(
    dns_server: DNSServer, responder: HTTP01Responder
) -> None:
    dns_server.add("a.test", "A", "127.0.0.1")
    with pytest.raises(ValidationFailure) as caught:
        await validate(config_for(dns_server, responder), "a.test")
    assert caught.value.problem == "unauthorized"
    assert "HTTP 404" in caught.value.detail


async def test_s8_3_refused_port_is_connection(
    dns_server: DNSServer, responder: HTTP01Responder
) -> None:
    dns_server.add("a.test", "A", "127.0.0.1")
    port = unused_port()
    with pytest.raises(ValidationFailure) as caught:
        await validate(config_for(dns_server, responder, http01_port=port), "a.test")
    assert caught.value.problem == "connection"
    assert f"127.0.0.1, port {port}" in caught.value.detail
    assert "connection refused" in caught.value.detail
    assert "Error" not in caught.value.detail  # a reason, not an exception repr


@pytest.mark.parametrize(
    ("identifier_type", "identifier"), [("dns", "a.test"), ("ip", "127.0.0.1")]
)
async def test_loopback_refused_unless_allow_listed(
    dns_server: DNSServer, responder: HTTP01Responder, identifier_type: str, identifier: str
) -> None:
    dns_server.add("a.test", "A", "127.0.0.1")
    responder.add_token(TOKEN, KEY_AUTHORIZATION)
    closed = config_for(dns_server, responder, allowed_networks=())
    with pytest.raises(ValidationFailure) as caught:
        await validate(closed, identifier, identifier_type=identifier_type)
    assert caught.value.problem == "rejectedIdentifier"
    assert "127.0.0.1" in caught.value.detail
    assert "loopback" in caught.value.detail
    assert responder.requests == []
    narrow = config_for(dns_server, responder, allowed_networks=ONLY_127_0_0_1)
    await validate(narrow, identifier, identifier_type=identifier_type)
    assert len(responder.requests) == 1


async def test_every_address_checked_before_any_connection(
    dns_server: DNSServer, responder: HTTP01Responder
) -> None:
    dns_server.add("mixed.test", "A", "127.0.0.1", "127.0.0.2")
    responder.add_token(TOKEN, KEY_AUTHORIZATION)
    config = config_for(dns_server, responder, allowed_networks=ONLY_127_0_0_1)
    with pytest.raises(ValidationFailure) as caught:
        await validate(config, "mixed.test")
    assert caught.value.problem == "rejectedIdentifier"
    assert "127.0.0.2" in caught.value.detail
    assert responder.requests == []


async def test_s6_7_nxdomain_is_dns(dns_server: DNSServer, responder: HTTP01Responder) -> None:
    with pytest.raises(ValidationFailure) as caught:
        await validate(config_for(dns_server, responder), "nowhere.test")
    assert caught.value.problem == "dns"
    assert caught.value.detail == 'no A or AAAA records for "nowhere.test"'


async def test_s6_7_servfail_is_dns(dns_server: DNSServer, responder: HTTP01Responder) -> None:
    dns_server.add("broken.test", "A", "127.0.0.1")
    dns_server.servfail("broken.test")
    with pytest.raises(ValidationFailure) as caught:
        await validate(config_for(dns_server, responder), "broken.test")
    assert caught.value.problem == "dns"
    assert "SERVFAIL" in caught.value.detail
    assert responder.requests == []


@pytest.mark.parametrize(
    "reply",
    [Reply(size=10_000_000), Reply(body=b"x" * 5000)],
    ids=["streamed-10MB", "content-length-5000"],
)
async def test_body_over_cap_unauthorized(
    dns_server: DNSServer, responder: HTTP01Responder, reply: Reply
) -> None:
    dns_server.add("a.test", "A", "127.0.0.1")
    responder.reply(CHALLENGE_PATH, reply)
    with pytest.raises(ValidationFailure) as caught:
        await validate(config_for(dns_server, responder), "a.test")
    assert caught.value.problem == "unauthorized"
    assert "larger than 4096 bytes" in caught.value.detail


async def test_body_exactly_at_cap_accepted(
    dns_server: DNSServer, responder: HTTP01Responder
) -> None:
    dns_server.add("a.test", "A", "127.0.0.1")
    body = KEY_AUTHORIZATION.encode().ljust(4096, b"\n")
    responder.reply(CHALLENGE_PATH, Reply(size=None, body=body, trickle=None))
    await validate(config_for(dns_server, responder), "a.test")


async def test_slow_loris_body_times_out(dns_server: DNSServer, responder: HTTP01Responder) -> None:
    dns_server.add("a.test", "A", "127.0.0.1")
    responder.reply(CHALLENGE_PATH, Reply(body=KEY_AUTHORIZATION.encode(), trickle=0.1))
    with pytest.raises(ValidationFailure) as caught:
        await validate(config_for(dns_server, responder, timeout=1.0), "a.test")
    assert caught.value.problem == "connection"
    assert "timed out" in caught.value.detail


@pytest.mark.skipif(not ipv6_loopback_works(), reason="no IPv6 loopback here")
async def test_ipv6_tried_first_then_ipv4(
    dns_server: DNSServer, responder: HTTP01Responder
) -> None:
    dns_server.add("dual.test", "AAAA", "::1")  # nothing listens on [::1]:port
    dns_server.add("dual.test", "A", "127.0.0.1")
    responder.add_token(TOKEN, KEY_AUTHORIZATION)
    await validate(config_for(dns_server, responder), "dual.test")
    assert len(responder.requests) == 1


@pytest.mark.parametrize(
    ("identifier_type", "identifier"),
    [
        ("dns", "*.a.test"),
        ("dns", "127.0.0.1"),
        ("dns", "a..test"),
        ("dns", "bad_-.test/x"),
        ("ip", "a.test"),
        ("ip", "fe80::1%lo"),
        ("email", "a@a.test"),
    ],
)
async def test_identifiers_http01_cannot_validate(
    dns_server: DNSServer, responder: HTTP01Responder, identifier_type: str, identifier: str
) -> None:
    responder.add_token(TOKEN, KEY_AUTHORIZATION)
    with pytest.raises(ValidationFailure) as caught:
        await validate(
            config_for(dns_server, responder), identifier, identifier_type=identifier_type
        )
    assert caught.value.problem == "rejectedIdentifier"
    assert dns_server.queries == []
    assert responder.requests == []


async def test_token_not_base64url_is_a_programming_error(
    dns_server: DNSServer, responder: HTTP01Responder
) -> None:
    with pytest.raises(ValueError, match="base64url"):
        await validate(config_for(dns_server, responder), "a.test", token="../../etc/passwd")


async def test_dns_timeout_within_the_limit_is_dns(responder: HTTP01Responder) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        config = ValidationConfig.allowing_private(
            http01_port=responder.port, nameservers=(silent.getsockname(),), timeout=0.5
        )
        with pytest.raises(ValidationFailure) as caught:
            await validate(config, "a.test")
    assert caught.value.problem == "dns"
    assert "timed out" in caught.value.detail


async def test_redirect_target_without_address_is_dns_with_context(
    dns_server: DNSServer, responder: HTTP01Responder
) -> None:
    dns_server.add("a.test", "A", "127.0.0.1")
    responder.redirect(CHALLENGE_PATH, f"http://gone.test:{responder.port}/x")
    with pytest.raises(ValidationFailure) as caught:
        await validate(config_for(dns_server, responder), "a.test")
    assert caught.value.problem == "dns"
    assert caught.value.detail.startswith("redirect 1 from http://a.test:")
    assert caught.value.detail.endswith('no A or AAAA records for "gone.test"')


async def test_caller_session_is_used_and_left_open(
    dns_server: DNSServer, responder: HTTP01Responder
) -> None:
    dns_server.add("a.test", "A", "127.0.0.1")
    responder.add_token(TOKEN, KEY_AUTHORIZATION)
    config = config_for(dns_server, responder)
    async with new_session() as session:
        for _ in range(2):
            await validate_http01(
                identifier_type="dns",
                identifier="a.test",
                token=TOKEN,
                key_authorization=KEY_AUTHORIZATION,
                config=config,
                resolver=Resolver(config),
                session=session,
            )
        assert not session.closed
    assert len(responder.requests) == 2


async def test_session_trusting_proxy_environment_refused(
    dns_server: DNSServer, responder: HTTP01Responder
) -> None:
    config = config_for(dns_server, responder)
    async with aiohttp.ClientSession(trust_env=True) as session:
        with pytest.raises(ValueError, match="proxies"):
            await validate_http01(
                identifier_type="dns",
                identifier="a.test",
                token=TOKEN,
                key_authorization=KEY_AUTHORIZATION,
                config=config,
                resolver=Resolver(config),
                session=session,
            )
    assert dns_server.queries == []
