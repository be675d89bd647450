"""CAA (RFC 8659) with RFC 8657's accounturi and validationmethods parameters.

    await check_caa(resolver, name="www.example.com", wildcard=False, identities=["ca.test"],
                    account_uri="https://ca.test/acme/default/account/1", method="dns-01")

returns if this CA may issue for the name and raises ValidationFailure("caa") otherwise:

1. The relevant RRset (RFC 8659 section 3): the CAA records at the name, else at its parent,
   and so on up to (not including) the root; the first non-empty one wins. Aliases are
   followed by the resolver. NXDOMAIN and an empty answer mean "climb"; any other failure
   (SERVFAIL, REFUSED, timeout) refuses issuance, as RFC 8659 section 3 and the Baseline
   Requirements (3.2.2.8) ask.
2. A record with the Issuer Critical flag and a tag this CA does not know refuses issuance
   (section 4.1).
3. For a wildcard, the `issuewild` records if there are any, else the `issue` records
   (section 4.3); for other names the `issue` records. None of them: any CA may issue.
4. Otherwise one of them must name one of `identities` (case-insensitively) and carry
   parameters that allow this request: `accounturi` equal to the requesting account's URL
   (RFC 8657 section 3), `validationmethods` listing the method that validated the name
   (RFC 8657 section 4). A record that does not parse (section 4.2 grammar) names no one.
   Unknown parameters are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from acme_server.validation.errors import ValidationFailure, quoted
from acme_server.validation.resolver import CAARecord, Resolver

ISSUER_CRITICAL: Final = 0x80  # RFC 8659 section 4.1: flag bit 0, the most significant
# RFC 8659 section 4 (issue, issuewild, iodef) and the CA/Browser Forum's contact tags
# (Baseline Requirements appendix A), which restrict nothing here.
KNOWN_TAGS: Final = frozenset({"issue", "issuewild", "iodef", "contactemail", "contactphone"})
# RFC 8659 section 4.2: label = (ALPHA / DIGIT) *( *("-") (ALPHA / DIGIT)), also a tag.
_LABEL: Final = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_DOMAIN_RE: Final = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_PARAMETER_RE: Final = re.compile(rf"({_LABEL})[ \t]*=[ \t]*([\x21-\x3a\x3c-\x7e]*)")
_WSP: Final = " \t"


@dataclass(frozen=True, slots=True)
class IssueValue:
    """A parsed issue/issuewild value: issuer domain ("" names no CA) and parameters."""

    issuer: str
    parameters: tuple[tuple[str, str], ...]

    def values(self, tag: str) -> list[str]:
        return [value for key, value in self.parameters if key.lower() == tag]


def parse_issue_value(text: str) -> IssueValue | None:
    """RFC 8659 section 4.2 issue-value, or None if it does not parse."""
    issuer_part, sep, rest = text.partition(";")
    issuer = issuer_part.strip(_WSP)
    if issuer and not _DOMAIN_RE.fullmatch(issuer):
        return None
    parameters: list[tuple[str, str]] = []
    if sep:
        body = rest.strip(_WSP)
        if body:
            for piece in body.split(";"):
                match = _PARAMETER_RE.fullmatch(piece.strip(_WSP))
                if match is None:
                    return None
                parameters.append((match.group(1), match.group(2)))
    return IssueValue(issuer=issuer.lower(), parameters=tuple(parameters))


def tree(name: str) -> list[str]:
    """`name` and each parent up to, not including, the root (RFC 8659 section 3)."""
    labels = name.lower().removesuffix(".").split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]


async def relevant_rrset(resolver: Resolver, name: str) -> tuple[str, list[CAARecord]]:
    """(the owner name, its records): the first non-empty CAA RRset climbing from `name`;
    ("", []) if there is none. A failed lookup raises ValidationFailure("caa")."""
    for candidate in tree(name):
        try:
            records = await resolver.caa(candidate)
        except ValidationFailure as failure:
            raise ValidationFailure(
                "caa",
                f"{failure.detail}; a CAA lookup that fails refuses issuance (RFC 8659 section 3)",
            ) from None
        if records:
            return candidate, records
    return "", []


def permits(
    records: Sequence[CAARecord],
    *,
    wildcard: bool,
    identities: Iterable[str],
    account_uri: str,
    method: str | None,
) -> str | None:
    """None if `records` (one relevant RRset) let this CA issue; else why not."""
    for record in records:
        if record.flags & ISSUER_CRITICAL and record.tag.lower() not in KNOWN_TAGS:
            return f"a critical CAA record has the unknown tag {quoted(record.tag)}"
    tag = "issue"
    if wildcard and any(r.tag.lower() == "issuewild" for r in records):
        tag = "issuewild"
    relevant = [r for r in records if r.tag.lower() == tag]
    if not relevant:
        return None
    ours = {identity.lower().removesuffix(".") for identity in identities}
    reasons: list[str] = []
    for record in relevant:
        value = parse_issue_value(record.value)
        if value is None or value.issuer not in ours:
            continue
        why = _parameters_refuse(value, account_uri=account_uri, method=method)
        if why is None:
            return None
        reasons.append(why)
    if reasons:
        return f"the {tag} records naming this CA do not allow it: " + "; ".join(reasons)
    names = ", ".join(sorted(ours))
    return f"no {tag} record names this CA ({names})"


def _parameters_refuse(value: IssueValue, *, account_uri: str, method: str | None) -> str | None:
    uris = value.values("accounturi")
    if len(uris) > 1:
        return "more than one accounturi (RFC 8657 section 3)"
    if uris and uris[0] != account_uri:
        return f"accounturi {quoted(uris[0])} is not this account (RFC 8657 section 3)"
    methods = value.values("validationmethods")
    if len(methods) > 1:
        return "more than one validationmethods (RFC 8657 section 4)"
    if methods:
        allowed = [m.strip() for m in methods[0].split(",")]
        if method is None or method not in allowed:
            return (
                f"validationmethods {quoted(methods[0])} does not include "
                f"{quoted(method or 'none')} (RFC 8657 section 4)"
            )
    return None


async def check_caa(
    resolver: Resolver,
    *,
    name: str,
    wildcard: bool,
    identities: Iterable[str],
    account_uri: str,
    method: str | None,
) -> None:
    """Return if CAA lets this CA issue for `name` (`*.name` when `wildcard`); else raise
    ValidationFailure("caa") naming the record set and the reason."""
    owner, records = await relevant_rrset(resolver, name)
    why = permits(
        records, wildcard=wildcard, identities=identities, account_uri=account_uri, method=method
    )
    if why is not None:
        shown = f"*.{name}" if wildcard else name
        raise ValidationFailure(
            "caa", f"CAA records at {owner} forbid issuance for {shown}: {why} (RFC 8659)"
        )
