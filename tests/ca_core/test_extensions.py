"""Shared extension helpers (RFC 5280 4.2.1.3, 4.2.1.12, 4.2.1.13, 4.2.2.1)."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from ca_core.errors import CAError
from ca_core.extensions import (
    aia_ca_issuers,
    crl_distribution_points,
    extended_key_usage_extension,
    extended_key_usages_of,
    key_usage_extension,
    key_usages_of,
)
from pki_types.model import ExtendedKeyUsage, KeyUsage

LEAF_USAGES = [u for u in KeyUsage if u is not KeyUsage.KEY_CERT_SIGN]


@pytest.mark.parametrize("usage", LEAF_USAGES)
def test_s4_2_1_3_each_leaf_key_usage_round_trips(usage: KeyUsage) -> None:
    usages = frozenset({usage, KeyUsage.KEY_AGREEMENT})
    assert key_usages_of(key_usage_extension(usages)) == usages


def test_s4_2_1_12_every_extended_key_usage_round_trips() -> None:
    everything = frozenset(ExtendedKeyUsage)
    assert extended_key_usages_of(extended_key_usage_extension(everything)) == everything


def test_s4_2_1_12_unknown_purposes_are_named() -> None:
    eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SMARTCARD_LOGON])
    with pytest.raises(CAError, match=r"^unsupported extended key usage 1\.3\.6\.1\.4\.1\.311"):
        extended_key_usages_of(eku)


def test_distribution_urls() -> None:
    urls = ["http://pki.example.test/a.crl", "ldap://ldap.example.test/cn=a"]
    (point,) = crl_distribution_points(urls)
    assert [n.value for n in point.full_name or []] == urls
    assert [d.access_location.value for d in aia_ca_issuers(urls[:1])] == urls[:1]


@pytest.mark.parametrize(
    "url",
    ["", "pki.example.test/a.crl", "file:///etc/passwd", "http://", "http://a b/", "http://ü/"],
)
def test_bad_distribution_urls_are_named(url: str) -> None:
    with pytest.raises(CAError, match=f'^invalid URL "{url}": expected an absolute http'):
        crl_distribution_points([url])
