"""What a finalize's CSR must ask for (RFC 8555 7.4): exactly the order's identifiers, a
common name among them (or none)."""

from __future__ import annotations

from acme_server.services.errors import BadCsrError
from ca_core.csr import CsrFacts
from pki_types.model import SanType
from store import OrderRecord

MAX_CN_LENGTH = 64  # RFC 5280 ub-common-name


def check_csr_names(facts: CsrFacts, order: OrderRecord) -> None:
    """RFC 8555 7.4: the CSR asks for exactly the order's identifiers."""
    wanted = {(i["type"], i["value"]) for i in order.identifiers}
    asked: set[tuple[str, str]] = set()
    for san in facts.sans:
        if san.type == SanType.DNS:
            asked.add(("dns", san.value.lower()))
        elif san.type == SanType.IP:
            asked.add(("ip", san.value))
        else:
            raise BadCsrError(
                f"the CSR asks for a {san.type.value} name, which ACME orders cannot hold"
            )
    cn = facts.subject.common_name.lower()
    if cn and ("dns", cn) not in wanted and ("ip", cn) not in wanted:
        raise BadCsrError(f"the CSR's common name {cn!r} is not one of the order's identifiers")
    if asked != wanted:
        missing = sorted(v for _, v in wanted - asked)
        extra = sorted(v for _, v in asked - wanted)
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"not in the order: {', '.join(extra)}"] if extra else []
        )
        raise BadCsrError(
            "the CSR's names differ from the order's identifiers: " + "; ".join(parts)
        )


def common_name_for(facts: CsrFacts, order: OrderRecord) -> str:
    """The CSR's common name, or else the order's first identifier if it fits one."""
    first = order.identifiers[0]["value"]
    return facts.subject.common_name.lower() or (first if len(first) <= MAX_CN_LENGTH else "")
