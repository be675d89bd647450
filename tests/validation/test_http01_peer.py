"""Hardening: HTTP-01 checks the address each socket actually reached, not only the one it
was asked to reach (the check runs in every validation request; these are its verdicts)."""

from __future__ import annotations

import ipaddress

import pytest

from acme_server.validation.errors import ValidationFailure
from acme_server.validation.http01 import check_peer

CHECKED = ipaddress.ip_address("192.0.2.10")


def test_hardening_peer_equal_to_the_checked_address_passes() -> None:
    check_peer(("192.0.2.10", 80), CHECKED)
    check_peer(("2001:db8::1", 80, 0, 0), ipaddress.ip_address("2001:db8::1"))


def test_hardening_peer_other_than_the_checked_address_is_refused() -> None:
    with pytest.raises(ValidationFailure) as refused:
        check_peer(("127.0.0.1", 80), CHECKED)
    assert refused.value.problem == "connection"
    assert refused.value.detail == "the connection meant for 192.0.2.10 reached 127.0.0.1 instead"


@pytest.mark.parametrize("peer", [None, (), ("not-an-address", 80), (b"192.0.2.10", 80)])
def test_hardening_unreadable_peer_is_refused(peer: object) -> None:
    with pytest.raises(ValidationFailure) as refused:
        check_peer(peer, CHECKED)
    assert refused.value.problem == "connection"
    assert "192.0.2.10" in refused.value.detail
