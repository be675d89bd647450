"""CAA (RFC 8659, RFC 8657 parameters) against the loopback DNS server."""

from __future__ import annotations

import pytest

from acme_server.validation.caa import check_caa, parse_issue_value, permits, tree
from acme_server.validation.config import ValidationConfig
from acme_server.validation.errors import ValidationFailure
from acme_server.validation.resolver import CAARecord, Resolver
from testkit.dns_server import DNSServer

CA = "ca.example"
ACCOUNT = "https://ca.example/acme/default/account/abc"


def resolver_for(dns: DNSServer) -> Resolver:
    return Resolver(ValidationConfig(nameservers=(dns.nameserver,), timeout=3.0))


async def caa(
    dns: DNSServer,
    name: str,
    *,
    wildcard: bool = False,
    account_uri: str = ACCOUNT,
    method: str | None = "dns-01",
) -> None:
    await check_caa(
        resolver_for(dns),
        name=name,
        wildcard=wildcard,
        identities=[CA, "second-identity.example"],
        account_uri=account_uri,
        method=method,
    )


async def refused(dns: DNSServer, name: str, **kwargs: object) -> str:
    with pytest.raises(ValidationFailure) as caught:
        await caa(dns, name, **kwargs)  # type: ignore[arg-type]
    assert caught.value.problem == "caa"
    assert caught.value.to_problem()["type"] == "urn:ietf:params:acme:error:caa"
    return caught.value.detail


def test_tree_climbs_to_the_top_level_label() -> None:
    assert tree("a.b.Example.COM.") == ["a.b.example.com", "b.example.com", "example.com", "com"]
    assert tree("localhost") == ["localhost"]


async def test_no_caa_anywhere_permits(dns_server: DNSServer) -> None:
    dns_server.add("host.free.test", "A", "127.0.0.1")
    await caa(dns_server, "host.free.test")  # NOERROR-empty at the name
    await caa(dns_server, "nxdomain.free.test")  # NXDOMAIN, climbing on
    asked = [name for name, kind in dns_server.queries if kind == "CAA"]
    assert asked[:3] == ["host.free.test", "free.test", "test"]


async def test_issue_for_this_ca_on_a_parent_permits(dns_server: DNSServer) -> None:
    dns_server.add("ours.test", "CAA", f'0 issue "{CA}"')
    await caa(dns_server, "deep.www.ours.test")
    dns_server.add("second.test", "CAA", '0 issue "SECOND-Identity.example"')
    await caa(dns_server, "second.test")  # any configured identity, case-insensitive


async def test_the_closest_rrset_wins(dns_server: DNSServer) -> None:
    dns_server.add("closest.test", "CAA", f'0 issue "{CA}"')
    dns_server.add("sub.closest.test", "CAA", '0 issue "other-ca.example"')
    detail = await refused(dns_server, "www.sub.closest.test")
    assert "CAA records at sub.closest.test" in detail
    assert "no issue record names this CA" in detail
    await caa(dns_server, "www.closest.test")


async def test_cname_is_followed_for_the_name(dns_server: DNSServer) -> None:
    dns_server.add("alias.cname.test", "CNAME", "target.elsewhere.test.")
    dns_server.add("target.elsewhere.test", "CAA", '0 issue "other-ca.example"')
    await refused(dns_server, "alias.cname.test")


async def test_another_ca_only_refuses(dns_server: DNSServer) -> None:
    dns_server.add("theirs.test", "CAA", '0 issue "other-ca.example"', '0 iodef "mailto:x@y"')
    await refused(dns_server, "theirs.test")


async def test_empty_issuer_forbids_everyone(dns_server: DNSServer) -> None:
    dns_server.add("nobody.test", "CAA", '0 issue ";"')
    await refused(dns_server, "nobody.test")


async def test_only_iodef_restricts_nothing(dns_server: DNSServer) -> None:
    dns_server.add("iodef.test", "CAA", '0 iodef "mailto:security@iodef.test"')
    await caa(dns_server, "iodef.test")


async def test_issuewild_governs_wildcards_and_issue_the_rest(dns_server: DNSServer) -> None:
    dns_server.add("wild.test", "CAA", f'0 issue "{CA}"', '0 issuewild ";"')
    await caa(dns_server, "wild.test")
    detail = await refused(dns_server, "wild.test", wildcard=True)
    assert "*.wild.test" in detail and "issuewild" in detail
    dns_server.add("wildok.test", "CAA", '0 issue ";"', f'0 issuewild "{CA}"')
    await caa(dns_server, "wildok.test", wildcard=True)
    await refused(dns_server, "wildok.test")  # issuewild never allows the plain name


async def test_wildcard_without_issuewild_uses_issue(dns_server: DNSServer) -> None:
    dns_server.add("issueonly.test", "CAA", '0 issue "other-ca.example"')
    await refused(dns_server, "issueonly.test", wildcard=True)
    dns_server.add("issueours.test", "CAA", f'0 issue "{CA}"')
    await caa(dns_server, "issueours.test", wildcard=True)


async def test_critical_unknown_tag_refuses(dns_server: DNSServer) -> None:
    dns_server.add("critical.test", "CAA", f'0 issue "{CA}"', '128 tbs "unknown"')
    detail = await refused(dns_server, "critical.test")
    assert "critical" in detail and "tbs" in detail
    dns_server.add("noncritical.test", "CAA", f'0 issue "{CA}"', '0 tbs "unknown"')
    await caa(dns_server, "noncritical.test")


async def test_accounturi(dns_server: DNSServer) -> None:
    dns_server.add("acct.test", "CAA", f'0 issue "{CA}; accounturi={ACCOUNT}"')
    await caa(dns_server, "acct.test")
    detail = await refused(dns_server, "acct.test", account_uri=ACCOUNT + "-other")
    assert "accounturi" in detail and "RFC 8657" in detail


async def test_one_of_several_records_suffices(dns_server: DNSServer) -> None:
    dns_server.add(
        "several.test",
        "CAA",
        f'0 issue "{CA}; accounturi={ACCOUNT}-other"',
        f'0 issue "{CA}; accounturi={ACCOUNT}"',
    )
    await caa(dns_server, "several.test")


async def test_validationmethods(dns_server: DNSServer) -> None:
    dns_server.add("methods.test", "CAA", f'0 issue "{CA}; validationmethods=http-01,dns-01"')
    await caa(dns_server, "methods.test", method="dns-01")
    await caa(dns_server, "methods.test", method="http-01")
    detail = await refused(dns_server, "methods.test", method="tls-alpn-01")
    assert "validationmethods" in detail and "tls-alpn-01" in detail
    await refused(dns_server, "methods.test", method=None)


async def test_both_parameters_and_unknown_ones(dns_server: DNSServer) -> None:
    dns_server.add(
        "both.test",
        "CAA",
        f'0 issue "{CA}; accounturi={ACCOUNT}; validationmethods=dns-01; policy=ev"',
    )
    await caa(dns_server, "both.test", method="dns-01")
    await refused(dns_server, "both.test", method="http-01")


async def test_servfail_refuses_with_caa(dns_server: DNSServer) -> None:
    dns_server.servfail("broken.test")
    detail = await refused(dns_server, "www.broken.test")
    assert "SERVFAIL" in detail and "RFC 8659 section 3" in detail


async def test_servfail_on_a_parent_refuses_too(dns_server: DNSServer) -> None:
    dns_server.add("www.parentfail.test", "A", "127.0.0.1")
    dns_server.servfail("parentfail.test")
    await refused(dns_server, "www.parentfail.test")


@pytest.mark.parametrize(
    ("value", "issuer", "parameters"),
    [
        ("ca.example", "ca.example", ()),
        ("  CA.Example  ", "ca.example", ()),
        (";", "", ()),
        ("", "", ()),
        ("ca.example; accounturi=https://x/a/1", "ca.example", (("accounturi", "https://x/a/1"),)),
        ("ca.example;a=1; b = 2", "ca.example", (("a", "1"), ("b", "2"))),
        ("ca.example; key=", "ca.example", (("key", ""),)),
    ],
)
def test_issue_values_that_parse(
    value: str, issuer: str, parameters: tuple[tuple[str, str], ...]
) -> None:
    parsed = parse_issue_value(value)
    assert parsed is not None
    assert (parsed.issuer, parsed.parameters) == (issuer, parameters)


@pytest.mark.parametrize(
    "value", ["ca..example", "-ca.example", "ca.example; novalue", "ca example", "ca.example;=1"]
)
def test_malformed_issue_values_name_no_ca(value: str) -> None:
    assert parse_issue_value(value) is None
    record = CAARecord(flags=0, tag="issue", value=value)
    why = permits([record], wildcard=False, identities=["ca.example"], account_uri="", method=None)
    assert why is not None


def test_duplicate_accounturi_is_unusable() -> None:
    record = CAARecord(flags=0, tag="issue", value="ca.example; accounturi=a; accounturi=a")
    why = permits([record], wildcard=False, identities=["ca.example"], account_uri="a", method=None)
    assert why is not None and "more than one accounturi" in why
