"""netguard: the server's own addresses are refused like private ones unless allow-listed."""

from __future__ import annotations

import ipaddress

import pytest

from acme_server.validation.config import ValidationConfig
from acme_server.validation.errors import ValidationFailure
from acme_server.validation.netguard import check_address, is_local_address

PUBLIC_OWN = ipaddress.ip_address("8.8.4.4")


def test_configured_own_public_address_refused() -> None:
    config = ValidationConfig(own_addresses=(PUBLIC_OWN,))
    with pytest.raises(ValidationFailure) as caught:
        check_address(PUBLIC_OWN, config)
    assert caught.value.problem == "rejectedIdentifier"
    assert "refusing to contact 8.8.4.4: this server's own (configured) address" in (
        caught.value.detail
    )
    check_address(ipaddress.ip_address("8.8.8.8"), config)  # other public addresses pass


def test_own_address_allow_listed_passes() -> None:
    config = ValidationConfig(
        own_addresses=(PUBLIC_OWN,), allowed_networks=(ipaddress.IPv4Network("8.8.4.4/32"),)
    )
    check_address(PUBLIC_OWN, config)


def test_interface_addresses_are_local_foreign_ones_are_not() -> None:
    """The kernel's answer (bind) on this host: loopback is ours, a public address is not."""
    assert is_local_address(ipaddress.ip_address("127.0.0.1"))
    assert not is_local_address(ipaddress.ip_address("8.8.8.8"))
    assert not is_local_address(ipaddress.ip_address("2606:4700:4700::1111"))
