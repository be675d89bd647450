"""Pattern syntax and matching (policy/names.py): one table per kind, then properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy.errors import PolicyError
from policy.names import (
    MAX_PATTERN_LENGTH,
    MAX_PATTERNS,
    MAX_VALUE_LENGTH,
    Judgement,
    NameKind,
    check_pattern,
    check_patterns,
    judge,
    matches,
)
from tests.policy.strategies import weird_text

DNS, IP, EMAIL, URI, TEXT = NameKind.DNS, NameKind.IP, NameKind.EMAIL, NameKind.URI, NameKind.TEXT

# (kind, pattern, value, matches as an allowed pattern, matches as a denied pattern)
MATCH_TABLE = [
    # DNS exact: case, trailing dot, white space
    (DNS, "www.example.com", "www.example.com", True, True),
    (DNS, "www.example.com", "WWW.Example.COM.", True, True),
    (DNS, "WWW.EXAMPLE.COM.", " www.example.com ", True, True),
    (DNS, "www.example.com", "www.example.org", False, False),
    # DNS glob: * is exactly one label
    (DNS, "*.example.com", "a.example.com", True, True),
    (DNS, "*.example.com", "a.b.example.com", False, False),
    (DNS, "*.example.com", "example.com", False, False),
    (DNS, "*.*.example.com", "a.b.example.com", True, True),
    (DNS, "api.*.example.com", "api.eu.example.com", True, True),
    (DNS, "*", "localhost", True, True),
    (DNS, "*", "a.b", False, False),
    # wildcard requests: allowed only by a * label; denied by any name they cover
    (DNS, "*.example.com", "*.example.com", True, True),
    (DNS, "a.example.com", "*.example.com", False, True),
    (DNS, "*.a.example.com", "*.example.com", False, False),
    (DNS, "example.com", "*.example.com", False, False),
    (DNS, "re:.*\\.example\\.com", "*.example.com", True, True),
    (DNS, "re:secret\\.example\\.com", "*.example.com", False, False),
    # DNS regex: full match, case-insensitive, both label spellings
    (DNS, "re:[a-z]+\\.example\\.com", "Web.Example.com", True, True),
    (DNS, "re:example", "www.example.com", False, False),
    (DNS, "re:^www\\..*$", "www.example.com", True, True),
    (DNS, "re:b\u00fccher\\.example", "xn--bcher-kva.example", True, True),
    (DNS, "re:xn--bcher-kva\\.example", "b\u00fccher.example", True, True),
    # IDNA: U-labels and A-labels are one name; full-width forms fold (NFKC, UTS 46)
    (DNS, "b\u00fccher.example", "xn--bcher-kva.example", True, True),
    (DNS, "xn--bcher-kva.example", "B\u00fccher.example", True, True),
    (DNS, "evil.com", "\uff45\uff56\uff49\uff4c\u3002com", True, True),
    # IP: address, CIDR, regex; IPv4-mapped IPv6 is IPv4; zone ids dropped
    (IP, "10.0.0.1", "10.0.0.1", True, True),
    (IP, "2001:db8::1", "2001:DB8:0:0::1", True, True),
    (IP, "10.0.0.0/8", "10.200.3.4", True, True),
    (IP, "10.0.0.0/8", "11.0.0.1", False, False),
    (IP, "10.0.0.0/8", "::ffff:10.1.2.3", True, True),
    (IP, "::ffff:10.0.0.0/104", "10.1.2.3", True, True),
    (IP, "fe80::/10", "fe80::1%eth0", True, True),
    (IP, "10.0.0.0/8", "2001:db8::1", False, False),
    (IP, "re:192\\.168\\..*", "192.168.1.1", True, True),
    (IP, "10.0.0.0/8", "10.0.0.999", False, True),  # not an address: fails closed
    # email: exact, *@domain, local globs, domain globs
    (EMAIL, "alice@example.com", "Alice@Example.COM", True, True),
    (EMAIL, "*@example.com", "bob@example.com", True, True),
    (EMAIL, "*@example.com", "bob@sub.example.com", False, False),
    (EMAIL, "*@*.example.com", "bob@sub.example.com", True, True),
    (EMAIL, "svc-*@example.com", "svc-backup@example.com", True, True),
    (EMAIL, "svc-*@example.com", "alice@example.com", False, False),
    (EMAIL, "re:.*@example\\.(com|org)", "x@example.org", True, True),
    (EMAIL, "*@example.com", "not-an-email", False, True),
    (EMAIL, "*@example.com", "@example.com", False, True),
    # URI: exact, * within one component, regex
    (URI, "spiffe://example.org/ns/*/sa/*", "spiffe://example.org/ns/prod/sa/web", True, True),
    (URI, "spiffe://example.org/ns/*", "spiffe://example.org/ns/prod/sa/web", False, False),
    (URI, "https://*.example.com/", "https://a.example.com/", True, True),
    (URI, "https://*.example.com/", "https://evil.com#.example.com/", False, False),
    (URI, "https://*.example.com/", "https://u@evil.com?.example.com/", False, False),
    (URI, "HTTPS://Example.com/x", "https://example.com/X", True, True),
    (URI, "re:urn:uuid:[0-9a-f-]+", "urn:uuid:1234-abcd", True, True),
    # text (subject attribute values): * is any run
    (TEXT, "Acme*", "Acme Corp", True, True),
    (TEXT, "Acme*", "Acme", True, True),
    (TEXT, "Acme*", "Not Acme", False, False),
    (TEXT, "acme corp", "ACME Corp", True, True),
    (TEXT, "re:Acme.*", "Acme Corp", True, True),
    (TEXT, "Acme.*", "Acme Corp", False, False),  # not a regex: "Acme." then anything
    (TEXT, "Acme", "Acme ", False, False),
    (TEXT, "x", "x" * (MAX_VALUE_LENGTH + 1), False, True),  # too long: fails closed
]


@pytest.mark.parametrize(("kind", "pattern", "value", "allowed", "denied"), MATCH_TABLE)
def test_match_table(kind: NameKind, pattern: str, value: str, allowed: bool, denied: bool) -> None:
    assert matches(kind, pattern, value) is allowed
    assert matches(kind, pattern, value, deny=True) is denied


BAD_PATTERNS = [
    (DNS, "", "non-empty"),
    (DNS, "re:", "needs a regular expression"),
    (DNS, "re:(unclosed", "invalid regular expression"),
    (DNS, "re:a{99999999999999999999}", "invalid regular expression"),
    (DNS, "/^www\\./", "write regular expressions as re:^www\\."),
    (DNS, "web*.example.com", "a * must be a whole label"),
    (DNS, "a..example.com", "empty label"),
    (DNS, "x" * (MAX_PATTERN_LENGTH + 1), f"at most {MAX_PATTERN_LENGTH} characters"),
    (IP, "*", "not an IP address or CIDR network"),
    (IP, "10.0.0.1/8", "has host bits set"),
    (IP, "10.0.0.0/33", "not an IP address or CIDR network"),
    (IP, "fe80::1%eth0", "IP patterns have no zone id"),
    (EMAIL, "example.com", "email patterns are local@domain"),
    (EMAIL, "@example.com", "email patterns are local@domain"),
    (EMAIL, "*@web*.example.com", "a * must be a whole label"),
]


@pytest.mark.parametrize(("kind", "pattern", "error"), BAD_PATTERNS)
def test_bad_patterns_are_refused_with_a_reason(kind: NameKind, pattern: str, error: str) -> None:
    with pytest.raises(PolicyError) as info:
        check_pattern(kind, pattern)
    assert error in str(info.value)


def test_check_patterns_names_the_index() -> None:
    with pytest.raises(PolicyError, match=r"^sans\.ip_address\.denied\[1\]: "):
        check_patterns(IP, ("10.0.0.0/8", "nope"), "sans.ip_address.denied")
    with pytest.raises(PolicyError, match="expected a list of patterns"):
        check_patterns(DNS, "*.example.com", "commonName.allowed")
    with pytest.raises(PolicyError, match=f"at most {MAX_PATTERNS} patterns"):
        check_patterns(DNS, ("a",) * (MAX_PATTERNS + 1), "x")


JUDGE_TABLE = [
    ((), (), "a.example.com", Judgement.OK),
    (("*.example.com",), (), "a.example.com", Judgement.OK),
    (("*.example.com",), (), "a.example.org", Judgement.NOT_ALLOWED),
    (("*.example.com",), ("a.example.com",), "a.example.com", Judgement.DENIED),
    (("re:.*",), ("re:.*",), "anything", Judgement.DENIED),
    ((), ("*.example.com",), "b.example.org", Judgement.OK),
    # characters IDNA drops are dropped before judging: the name issuance would sign
    ((), ("secret.example.com",), "sec\u00adret.example.com", Judgement.DENIED),
    ((), ("secret.example.com",), "secret\u200b.example.com", Judgement.DENIED),
    (("*.example.com",), (), "a\u00ad.example.com", Judgement.OK),
]


@pytest.mark.parametrize(("allowed", "denied", "value", "expected"), JUDGE_TABLE)
def test_denied_beats_allowed(
    allowed: tuple[str, ...], denied: tuple[str, ...], value: str, expected: Judgement
) -> None:
    assert judge(DNS, value, allowed, denied) is expected


def test_uninterpretable_values_fail_closed_only_when_restricted() -> None:
    assert judge(IP, "garbage", (), ()) is Judgement.OK
    assert judge(IP, "garbage", ("10.0.0.0/8",), ()) is Judgement.NOT_ALLOWED
    assert judge(IP, "garbage", (), ("10.0.0.0/8",)) is Judgement.DENIED


PATTERNS = st.one_of(
    weird_text,
    st.sampled_from(["*.example.com", "*", "re:.*", "re:[a-z]+", "10.0.0.0/8", "*@x.org", "a*"]),
)


@settings(max_examples=300)
@given(kind=st.sampled_from(list(NameKind)), pattern=PATTERNS, value=weird_text)
def test_any_text_against_any_pattern_never_crashes(
    kind: NameKind, pattern: str, value: str
) -> None:
    try:
        check_pattern(kind, pattern)
    except PolicyError:
        return
    for deny in (False, True):
        assert isinstance(matches(kind, pattern, value, deny=deny), bool)
    assert isinstance(judge(kind, value, (pattern,), (pattern,)), Judgement)
