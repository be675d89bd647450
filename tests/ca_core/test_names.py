"""Subjects (RFC 5280 4.1.2.6) and subjectAltNames (RFC 5280 4.2.1.6)."""

from __future__ import annotations

import ipaddress
import re

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from ca_core.errors import CAError
from ca_core.names import (
    general_names_to_sans,
    name_to_subject,
    sans_to_general_names,
    subject_to_name,
)
from pki_types.model import SanType, SubjectAltName, SubjectAttributes

FULL = SubjectAttributes(
    common_name="www.example.test",
    organization="Example Corp",
    organizational_unit="Platform",
    country="DE",
    state="Berlin",
    locality="Berlin",
)


def test_subject_round_trip_in_conventional_order() -> None:
    name = subject_to_name(FULL)
    assert name.rfc4514_string() == (
        "CN=www.example.test,OU=Platform,O=Example Corp,L=Berlin,ST=Berlin,C=DE"
    )
    assert name_to_subject(name) == FULL


def test_empty_attributes_are_skipped() -> None:
    name = subject_to_name(SubjectAttributes(common_name="only"))
    assert [a.oid for a in name] == [NameOID.COMMON_NAME]
    assert list(subject_to_name(SubjectAttributes())) == []


@pytest.mark.parametrize("country", ["USA", "U", "1A", "Ü1", "u s"])
def test_country_must_be_two_letters(country: str) -> None:
    with pytest.raises(CAError, match=f'^invalid country "{country}": use a two-letter'):
        subject_to_name(SubjectAttributes(country=country))


def test_country_is_upper_cased() -> None:
    assert name_to_subject(subject_to_name(SubjectAttributes(country="us"))).country == "US"


def test_appendix_a_upper_bound_on_common_name() -> None:
    with pytest.raises(CAError, match="common_name is 65 characters long; RFC 5280 allows"):
        subject_to_name(SubjectAttributes(common_name="a" * 65))


def test_name_to_subject_ignores_other_attributes_and_refuses_repeats() -> None:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "a"),
            x509.NameAttribute(NameOID.EMAIL_ADDRESS, "a@example.test"),
        ]
    )
    assert name_to_subject(name) == SubjectAttributes(common_name="a")
    twice = x509.Name([x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, v) for v in "ab"])
    with pytest.raises(CAError, match="more than one organizational_unit"):
        name_to_subject(twice)


@pytest.mark.parametrize(
    ("san", "expected"),
    [
        (SubjectAltName(SanType.DNS, "WWW.Example.TEST"), x509.DNSName("www.example.test")),
        (SubjectAltName(SanType.DNS, "*.example.test"), x509.DNSName("*.example.test")),
        (SubjectAltName(SanType.DNS, "bücher.example"), x509.DNSName("xn--bcher-kva.example")),
        (
            SubjectAltName(SanType.DNS, "xn--bcher-kva.example"),
            x509.DNSName("xn--bcher-kva.example"),
        ),
        (SubjectAltName(SanType.DNS, "localhost"), x509.DNSName("localhost")),
        (
            SubjectAltName(SanType.IP, "192.0.2.1"),
            x509.IPAddress(ipaddress.ip_address("192.0.2.1")),
        ),
        (
            SubjectAltName(SanType.IP, "2001:db8::1"),
            x509.IPAddress(ipaddress.ip_address("2001:db8::1")),
        ),
        (SubjectAltName(SanType.EMAIL, "ops@Example.test"), x509.RFC822Name("ops@example.test")),
        (
            SubjectAltName(SanType.URI, "spiffe://example.test/ns/web"),
            x509.UniformResourceIdentifier("spiffe://example.test/ns/web"),
        ),
    ],
)
def test_s4_2_1_6_sans_convert(san: SubjectAltName, expected: x509.GeneralName) -> None:
    assert sans_to_general_names([san]) == [expected]


@pytest.mark.parametrize(
    ("san", "message"),
    [
        (SubjectAltName(SanType.DNS, ""), 'invalid DNS name "": empty label'),
        (SubjectAltName(SanType.DNS, "-bad.example"), 'invalid DNS name "-bad.example"'),
        (SubjectAltName(SanType.DNS, "a..example"), 'invalid DNS name "a..example"'),
        (SubjectAltName(SanType.DNS, "example.test."), 'invalid DNS name "example.test."'),
        (SubjectAltName(SanType.DNS, "under_score.test"), 'invalid DNS name "under_score.test"'),
        (SubjectAltName(SanType.DNS, "a.*.example"), 'invalid DNS name "a.*.example"'),
        (SubjectAltName(SanType.DNS, "xn--zz.example"), 'invalid DNS name "xn--zz.example"'),
        (SubjectAltName(SanType.DNS, "a" * 64 + ".test"), "must be 1-63 letters"),
        (SubjectAltName(SanType.DNS, ".".join(["a" * 60] * 5)), "longer than 253 characters"),
        (SubjectAltName(SanType.DNS, "192.0.2.1"), "an IP address belongs in an ip_address SAN"),
        (SubjectAltName(SanType.IP, "192.0.2.256"), 'invalid IP address "192.0.2.256"'),
        (SubjectAltName(SanType.IP, "example.test"), 'invalid IP address "example.test"'),
        (SubjectAltName(SanType.IP, "fe80::1%eth0"), "remove the %zone suffix"),
        (SubjectAltName(SanType.EMAIL, "no-at-sign"), "expected local-part@domain"),
        (SubjectAltName(SanType.EMAIL, "a b@example.test"), "plain ASCII without spaces"),
        (SubjectAltName(SanType.EMAIL, "a@-x-"), 'bad domain "-x-"'),
        (SubjectAltName(SanType.URI, "not a uri"), 'invalid URI "not a uri": expected'),
        (SubjectAltName(SanType.URI, "/relative/path"), 'invalid URI "/relative/path"'),
    ],
)
def test_s4_2_1_6_invalid_sans_are_named(san: SubjectAltName, message: str) -> None:
    with pytest.raises(CAError, match=re.escape(message)):
        sans_to_general_names([san])


def test_general_names_to_sans_is_the_inverse() -> None:
    sans = (
        SubjectAltName(SanType.DNS, "xn--bcher-kva.example"),
        SubjectAltName(SanType.IP, "2001:db8::1"),
        SubjectAltName(SanType.EMAIL, "ops@example.test"),
        SubjectAltName(SanType.URI, "https://example.test/"),
    )
    assert general_names_to_sans(sans_to_general_names(sans)) == sans


def test_general_names_to_sans_refuses_other_kinds() -> None:
    with pytest.raises(CAError, match="unsupported subjectAltName type DirectoryName"):
        general_names_to_sans([x509.DirectoryName(x509.Name([]))])
