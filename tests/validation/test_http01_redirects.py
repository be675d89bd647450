"""RFC 8555 section 8.3 redirects, and DNS rebinding: what validation will and won't follow."""

from __future__ import annotations

import pytest

from acme_server.validation.errors import ValidationFailure
from testkit.dns_server import DNSServer
from testkit.http01_responder import HTTP01Responder, Reply
from tests.validation.helpers import (
    CHALLENGE_PATH,
    KEY_AUTHORIZATION,
    ONLY_127_0_0_1,
    TOKEN,
    config_for,
    validate,
)


def chain(web: HTTP01Responder, hops: int) -> None:
    """CHALLENGE_PATH -> /hop/1 -> ... -> /hop/<hops> (200): `hops` redirects, alternating
    absolute URLs (a new lookup of a.test) and relative ones."""
    previous = CHALLENGE_PATH
    for hop in range(1, hops + 1):
        path = f"/hop/{hop}"
        location = f"http://a.test:{web.port}{path}" if hop % 2 else path
        web.redirect(previous, location, status=(301, 302, 303, 307, 308)[hop % 5])
        previous = path
    web.reply(previous, Reply(body=KEY_AUTHORIZATION.encode()))


async def test_s8_3_ten_redirects_followed(
    dns_server: DNSServer, responder: HTTP01Responder
) -> None:
    dns_server.add("a.test", "A", "127.0.0.1")
    chain(responder, 10)
    await validate(config_for(dns_server, responder), "a.test")
    assert [seen.path for seen in responder.requests][-1] == "/hop/10"
    assert len(responder.requests) == 11


async def test_s8_3_eleventh_redirect_refused(
    dns_server: DNSServer, responder: HTTP01Responder
) -> None:
    dns_server.add("a.test", "A", "127.0.0.1")
    chain(responder, 11)
    with pytest.raises(ValidationFailure) as caught:
        await validate(config_for(dns_server, responder), "a.test")
    assert caught.value.problem == "connection"
    assert "more than 10" in caught.value.detail
    assert len(responder.requests) == 11  # the 11th target is never fetched


async def test_max_redirects_zero_follows_none(
    dns_server: DNSServer, responder: HTTP01Responder
) -> None:
    dns_server.add("a.test", "A", "127.0.0.1")
    chain(responder, 1)
    with pytest.raises(ValidationFailure, match="more than 0"):
        await validate(config_for(dns_server, responder, max_redirects=0), "a.test")


@pytest.mark.parametrize(
    "location", ["ftp://127.0.0.1/x", "file:///etc/passwd", "gopher://a.test/", "javascript:x"]
)
async def test_s8_3_redirect_to_other_scheme_refused(
    dns_server: DNSServer, responder: HTTP01Responder, location: str
) -> None:
    dns_server.add("a.test", "A", "127.0.0.1")
    responder.redirect(CHALLENGE_PATH, location)
    with pytest.raises(ValidationFailure) as caught:
        await validate(config_for(dns_server, responder), "a.test")
    assert caught.value.problem == "connection"
    assert "only http and https are followed" in caught.value.detail
    assert len(responder.requests) == 1


@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_redirect_to_other_port_refused(
    dns_server: DNSServer, responder: HTTP01Responder, scheme: str
) -> None:
    dns_server.add("a.test", "A", "127.0.0.1")
    async with HTTP01Responder() as other:
        other.add_token(TOKEN, KEY_AUTHORIZATION)
        responder.redirect(CHALLENGE_PATH, f"{scheme}://a.test:{other.port}{CHALLENGE_PATH}")
        with pytest.raises(ValidationFailure) as caught:
            await validate(config_for(dns_server, responder), "a.test")
        assert other.requests == []
    assert caught.value.problem == "connection"
    assert f"only ports 443 and {responder.port} are followed" in caught.value.detail


@pytest.mark.parametrize("via_name", [False, True], ids=["ip-literal", "name"])
async def test_redirect_to_address_not_allow_listed_refused(
    dns_server: DNSServer, responder: HTTP01Responder, via_name: bool
) -> None:
    dns_server.add("a.test", "A", "127.0.0.1")
    dns_server.add("inside.test", "A", "127.0.0.2")
    async with HTTP01Responder("127.0.0.2", responder.port) as forbidden:
        forbidden.add_token(TOKEN, KEY_AUTHORIZATION)
        host = "inside.test" if via_name else "127.0.0.2"
        responder.redirect(CHALLENGE_PATH, f"http://{host}:{responder.port}{CHALLENGE_PATH}")
        config = config_for(dns_server, responder, allowed_networks=ONLY_127_0_0_1)
        with pytest.raises(ValidationFailure) as caught:
            await validate(config, "a.test")
        assert forbidden.requests == []
    assert caught.value.problem == "rejectedIdentifier"
    assert "127.0.0.2" in caught.value.detail


async def test_redirect_without_location_unauthorized(
    dns_server: DNSServer, responder: HTTP01Responder
) -> None:
    dns_server.add("a.test", "A", "127.0.0.1")
    responder.reply(CHALLENGE_PATH, Reply(status=302))
    with pytest.raises(ValidationFailure) as caught:
        await validate(config_for(dns_server, responder), "a.test")
    assert caught.value.problem == "unauthorized"
    assert "without a Location" in caught.value.detail


async def test_s8_3_redirect_to_https_followed_without_cert_check_with_sni(
    dns_server: DNSServer, responder: HTTP01Responder
) -> None:
    dns_server.add("a.test", "A", "127.0.0.1")
    async with HTTP01Responder(tls=True) as secure:
        secure.add_token(TOKEN, KEY_AUTHORIZATION)  # its certificate is self-signed
        responder.redirect(CHALLENGE_PATH, f"https://a.test{CHALLENGE_PATH}")
        config = config_for(dns_server, responder, https_port=secure.port)
        await validate(config, "a.test")
        assert secure.server_names == ["a.test"]
        [seen] = secure.requests
    assert seen.host == "a.test"


async def test_redirect_to_https_ip_literal_sends_no_sni(
    dns_server: DNSServer, responder: HTTP01Responder
) -> None:
    async with HTTP01Responder(tls=True) as secure:
        secure.add_token(TOKEN, KEY_AUTHORIZATION)
        responder.redirect(CHALLENGE_PATH, f"https://127.0.0.1{CHALLENGE_PATH}")
        config = config_for(dns_server, responder, https_port=secure.port)
        await validate(config, "127.0.0.1", identifier_type="ip")
        assert secure.server_names == [None]


async def test_https_target_speaking_plain_http_is_tls(
    dns_server: DNSServer, responder: HTTP01Responder
) -> None:
    dns_server.add("a.test", "A", "127.0.0.1")
    async with HTTP01Responder() as plain:
        responder.redirect(CHALLENGE_PATH, f"https://a.test{CHALLENGE_PATH}")
        config = config_for(dns_server, responder, https_port=plain.port)
        with pytest.raises(ValidationFailure) as caught:
            await validate(config, "a.test")
    assert caught.value.problem == "tls"
    assert "TLS handshake" in caught.value.detail


async def test_dns_rebinding_fetch_goes_to_the_checked_address(
    dns_server: DNSServer, responder: HTTP01Responder
) -> None:
    """The name answers an allowed address first, a forbidden one afterwards: the request
    goes to the address that was checked, and the name is looked up once."""
    dns_server.rotate("rebind.test", "A", ["127.0.0.1"], ["127.0.0.2"])
    responder.add_token(TOKEN, KEY_AUTHORIZATION)
    async with HTTP01Responder("127.0.0.2", responder.port) as forbidden:
        forbidden.add_token(TOKEN, KEY_AUTHORIZATION)
        config = config_for(dns_server, responder, allowed_networks=ONLY_127_0_0_1)
        await validate(config, "rebind.test")
        assert forbidden.requests == []
    assert len(responder.requests) == 1
    assert dns_server.queries.count(("rebind.test", "A")) == 1


async def test_dns_rebinding_on_redirect_is_checked_again(
    dns_server: DNSServer, responder: HTTP01Responder
) -> None:
    """A redirect back to the same name is a new lookup, and its new answer is checked."""
    dns_server.rotate("rebind.test", "A", ["127.0.0.1"], ["127.0.0.2"])
    responder.redirect(CHALLENGE_PATH, "/again")
    async with HTTP01Responder("127.0.0.2", responder.port) as forbidden:
        forbidden.reply("/again", Reply(body=KEY_AUTHORIZATION.encode()))
        config = config_for(dns_server, responder, allowed_networks=ONLY_127_0_0_1)
        with pytest.raises(ValidationFailure) as caught:
            await validate(config, "rebind.test")
        assert forbidden.requests == []
    assert caught.value.problem == "rejectedIdentifier"
    assert "rebind.test resolves to 127.0.0.2" in caught.value.detail
