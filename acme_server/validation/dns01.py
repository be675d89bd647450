"""RFC 8555 section 8.4 DNS-01.

The client publishes base64url(SHA-256(key authorization)) as a TXT record at
`_acme-challenge.<name>` (for a wildcard `*.example.com`, at `_acme-challenge.example.com`:
the authorization's identifier has no wildcard label, section 7.1.3). The resolver follows
CNAMEs, so a client may delegate the record elsewhere. Any one of several TXT values may
match: clients validating a wildcard and its base name at once publish two.

Failures, by RFC 8555 section 6.7 type:
    dns                 the lookup failed (SERVFAIL, REFUSED, timeout: resolver.py)
    unauthorized        no TXT record at the name (NXDOMAIN or no TXT records)
    incorrectResponse   TXT records are there, none of them the expected digest
    rejectedIdentifier  the identifier is not a DNS name (DNS-01 is for "dns" only)
"""

from __future__ import annotations

import base64
import hashlib
from typing import Final

from acme_server.validation.errors import ValidationFailure, quoted
from acme_server.validation.resolver import Resolver
from acme_server.validation.targets import dns_name

# RFC 8555 section 8.4: the label the record lives under.
CHALLENGE_LABEL: Final = "_acme-challenge"
# A detail names at most this many of the wrong values found.
MAX_QUOTED_VALUES: Final = 3


def txt_value(key_authorization: str) -> str:
    """RFC 8555 section 8.4: base64url (no padding) of the key authorization's SHA-256."""
    digest = hashlib.sha256(key_authorization.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def record_name(identifier: str) -> str:
    """`_acme-challenge.<name>`, the wildcard label dropped if the caller left it."""
    return f"{CHALLENGE_LABEL}.{identifier.removeprefix('*.')}"


async def validate_dns01(
    *, identifier_type: str, identifier: str, key_authorization: str, resolver: Resolver
) -> None:
    """Return if a TXT record at `_acme-challenge.<identifier>` holds the digest of
    `key_authorization`; else raise ValidationFailure."""
    if identifier_type != "dns":
        raise ValidationFailure(
            "rejectedIdentifier",
            f"DNS-01 cannot validate identifier type {quoted(identifier_type)} "
            "(RFC 8738 section 7)",
        )
    name = dns_name(identifier.removeprefix("*."))
    if name is None:
        raise ValidationFailure(
            "rejectedIdentifier", f"{quoted(identifier)} is not a valid DNS name"
        )
    where = record_name(name)
    values = await resolver.txt(where)
    if not values:
        raise ValidationFailure(
            "unauthorized", f"no TXT record found at {where} (RFC 8555 section 8.4)"
        )
    expected = txt_value(key_authorization)
    # RFC 8555 section 8.4 asks for the exact value; stray whitespace around it is tolerated.
    if any(value.strip() == expected for value in values):
        return
    shown = ", ".join(quoted(value) for value in values[:MAX_QUOTED_VALUES])
    more = f" and {len(values) - MAX_QUOTED_VALUES} more" if len(values) > MAX_QUOTED_VALUES else ""
    raise ValidationFailure(
        "incorrectResponse",
        f"no TXT record at {where} holds the key authorization's digest "
        f"(RFC 8555 section 8.4): found {shown}{more}",
    )
