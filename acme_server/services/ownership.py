"""Whether an ACME account may act on a certificate: revoke it (RFC 8555 section 7.6) or
name it in newOrder's `replaces` (RFC 9773 section 5).

It may when it ordered the certificate, or when it holds valid authorizations for every
one of the certificate's names. An empty set of names proves nothing, and a name ACME
cannot authorize (an email address, a URI) can never be covered.
"""

from __future__ import annotations

from datetime import datetime

from acme_server.services.context import Services
from pki_types.model import SanType
from store import CertificateRecord

SAN_TO_IDENTIFIER = {SanType.DNS.value: "dns", SanType.IP.value: "ip"}


def identifiers_of(record: CertificateRecord) -> set[tuple[str, str]]:
    """The certificate's ACME identifiers as (type, lower-case value); others left out."""
    return {
        (SAN_TO_IDENTIFIER[san["type"]], san["value"].lower())
        for san in record.sans
        if san["type"] in SAN_TO_IDENTIFIER
    }


async def account_may_act_on(
    services: Services, account_id: str, record: CertificateRecord, now: datetime
) -> bool:
    orders = await services.store.find_orders_by_certificate(record.id)
    if any(order.account_id == account_id for order in orders):
        return True
    if not record.sans or any(san["type"] not in SAN_TO_IDENTIFIER for san in record.sans):
        return False
    for kind, value in identifiers_of(record):
        wildcard = kind == "dns" and value.startswith("*.")
        found = await services.store.find_reusable_authorization(
            account_id=account_id,
            identifier_type=kind,
            identifier_value=value[2:] if wildcard else value,
            wildcard=wildcard,
            now=now,
            statuses=("valid",),
        )
        if found is None:
            return False
    return True
