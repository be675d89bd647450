"""netguard: which addresses validation may contact. Tables, then properties."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acme_server.validation.config import LOOPBACK_NETWORKS, PRIVATE_NETWORKS, ValidationConfig
from acme_server.validation.errors import ValidationFailure
from acme_server.validation.netguard import IPAddress, check_address, forbidden_reason, is_allowed

CLOSED = ValidationConfig()
EVERYTHING = ValidationConfig(
    allowed_networks=(ipaddress.IPv4Network("0.0.0.0/0"), ipaddress.IPv6Network("::/0"))
)

PUBLIC = [
    "1.1.1.1",
    "8.8.8.8",
    "93.184.215.14",
    "100.63.255.255",
    "100.128.0.0",
    "172.15.255.255",
    "172.32.0.0",
    "192.0.1.1",
    "223.255.255.255",
    "2606:4700:4700::1111",
    "2001:4860:4860::8888",
    "2a00:1450:4001::1",
]
REFUSED = [
    ("0.0.0.0", "'this network'"),  # noqa: S104 (an address under test, not a bind)
    ("0.1.2.3", "'this network'"),
    ("10.1.2.3", "private (RFC 1918)"),
    ("100.64.0.1", "shared address space"),
    ("100.127.255.255", "shared address space"),
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("169.254.169.254", "link-local"),
    ("172.16.0.1", "private (RFC 1918)"),
    ("172.31.255.255", "private (RFC 1918)"),
    ("192.0.0.9", "IETF protocol assignment"),
    ("192.0.2.1", "documentation"),
    ("192.88.99.1", "6to4 relay"),
    ("192.168.1.1", "private (RFC 1918)"),
    ("198.18.0.1", "benchmarking"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("::", "unspecified"),
    ("::1", "loopback"),
    ("::127.0.0.1", "outside 2000::/3"),
    ("::ffff:127.0.0.1", "IPv4-mapped"),
    ("::ffff:10.0.0.1", "IPv4-mapped"),
    ("::ffff:8.8.8.8", "IPv4-mapped"),
    ("64:ff9b::a00:1", "NAT64"),
    ("64:ff9b:1::1", "local-use NAT64"),
    ("100::1", "discard-only"),
    ("2001::1", "Teredo"),
    ("2001:db8::1", "documentation"),
    ("2002:7f00:1::1", "6to4"),
    ("3fff::1", "documentation"),
    ("5f00::1", "segment routing"),
    ("fc00::1", "unique local"),
    ("fd12:3456::1", "unique local"),
    ("fe80::1", "link-local"),
    ("fec0::1", "site-local"),
    ("ff02::1", "multicast"),
    ("4000::1", "outside 2000::/3"),
]


@pytest.mark.parametrize("text", PUBLIC)
def test_public_addresses_pass(text: str) -> None:
    address = ipaddress.ip_address(text)
    assert forbidden_reason(address) is None
    check_address(address, CLOSED)


@pytest.mark.parametrize(("text", "why"), REFUSED)
def test_special_addresses_refused_by_default(text: str, why: str) -> None:
    address = ipaddress.ip_address(text)
    with pytest.raises(ValidationFailure) as caught:
        check_address(address, CLOSED)
    assert caught.value.problem == "rejectedIdentifier"
    assert caught.value.detail.startswith(f"refusing to contact {address}: ")
    assert why in caught.value.detail
    assert "address, not in the allowed networks" in caught.value.detail
    # a refusal the private-validation setting would lift says how (issue 15, first hour 4)
    hint = "`kms serve --allow-private-validation` (setting allow_private_validation)"
    assert (hint in caught.value.detail) == is_allowed(address, PRIVATE_NETWORKS)


@pytest.mark.parametrize(
    ("text", "allowed"),
    [
        ("127.0.0.1", LOOPBACK_NETWORKS),
        ("127.8.9.10", LOOPBACK_NETWORKS),
        ("::1", LOOPBACK_NETWORKS),
        ("::ffff:127.0.0.1", LOOPBACK_NETWORKS),  # reaches 127.0.0.1 all the same
        ("10.9.8.7", PRIVATE_NETWORKS),
        ("fd00::5", PRIVATE_NETWORKS),
        ("169.254.1.1", (ipaddress.IPv4Network("169.254.0.0/16"),)),
    ],
)
def test_allow_listed_addresses_pass(
    text: str, allowed: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
) -> None:
    check_address(ipaddress.ip_address(text), ValidationConfig(allowed_networks=allowed))


@pytest.mark.parametrize(
    ("text", "allowed"),
    [
        ("10.0.0.1", LOOPBACK_NETWORKS),
        ("169.254.169.254", PRIVATE_NETWORKS),  # metadata endpoints stay out
        ("127.0.0.2", (ipaddress.IPv4Network("127.0.0.1/32"),)),
        ("::ffff:10.0.0.1", LOOPBACK_NETWORKS),
        ("fe80::1%eth0", (ipaddress.IPv6Network("fe80::/10"),)),  # scoped: never
    ],
)
def test_outside_the_allow_list_refused(
    text: str, allowed: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
) -> None:
    with pytest.raises(ValidationFailure) as caught:
        check_address(ipaddress.ip_address(text), ValidationConfig(allowed_networks=allowed))
    assert caught.value.problem == "rejectedIdentifier"


def non_public(address: IPAddress) -> bool:
    """The ipaddress module's own view of "not a public unicast address"."""
    flags = (
        address.is_private,
        address.is_loopback,
        address.is_link_local,
        address.is_multicast,
        address.is_reserved,
        address.is_unspecified,
        not address.is_global,
    )
    site_local = isinstance(address, ipaddress.IPv6Address) and address.is_site_local
    return any(flags) or site_local


@given(st.ip_addresses())
def test_refuses_whatever_ipaddress_calls_non_public(address: IPAddress) -> None:
    try:
        check_address(address, CLOSED)
    except ValidationFailure as failure:
        assert failure.problem == "rejectedIdentifier"
        assert str(address) in failure.detail
    else:
        assert not non_public(address), f"{address} passed"


@given(st.ip_addresses(v=4) | st.ip_addresses(v=6, network="2000::/3"))
def test_only_ranges_refused_not_noise(address: IPAddress) -> None:
    """Everything refused is refused for a named reason; with everything allowed, nothing."""
    reason = forbidden_reason(address)
    assert reason is None or reason.strip()
    check_address(address, EVERYTHING)


@given(st.data(), st.sampled_from(PRIVATE_NETWORKS))
def test_private_networks_refused_then_allowed(
    data: st.DataObject, network: ipaddress.IPv4Network | ipaddress.IPv6Network
) -> None:
    address = data.draw(st.ip_addresses(network=network))
    with pytest.raises(ValidationFailure):
        check_address(address, CLOSED)
    check_address(address, ValidationConfig(allowed_networks=PRIVATE_NETWORKS))
