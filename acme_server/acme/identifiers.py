"""RFC 8555 7.1.3/9.7.7 identifiers off the wire: DNS names and (RFC 8738) IP addresses,
checked for form, as services/identifiers.Identifier values."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from acme_server.acme.problems import (
    malformed,
    rejected_identifier,
    subproblem,
    unsupported_identifier,
)
from acme_server.services.identifiers import Identifier

MAX_IDENTIFIERS = 100
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")  # used with fullmatch
MAX_DNS_NAME = 253


def dns_name_problem(name: str) -> str | None:
    """Why `name` is not a DNS name we issue for, or None."""
    if len(name) > MAX_DNS_NAME or name.endswith(".") or not name:
        return "is not a valid DNS name"
    try:
        ipaddress.ip_address(name)
        return "is an IP address; use an identifier of type ip"
    except ValueError:
        pass
    labels = name.split(".")
    if labels[0] == "*":
        labels = labels[1:]
        if not labels:
            return "is not a valid DNS name"
    if any(not _LABEL.fullmatch(label) for label in labels):
        return "is not a valid DNS name (letters, digits and hyphens, lower case)"
    if labels[-1].isdigit():
        return "has a numeric top-level label"
    return None


def parse_identifiers(raw: Any, *, allow_ip: bool) -> list[Identifier]:
    if not isinstance(raw, list) or not raw:
        raise malformed("newOrder needs a non-empty identifiers array")
    if len(raw) > MAX_IDENTIFIERS:
        raise rejected_identifier(f"at most {MAX_IDENTIFIERS} identifiers per order")
    seen: dict[tuple[str, str], Identifier] = {}
    subproblems: list[dict[str, Any]] = []
    for item in raw:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("type"), str)
            or not isinstance(item.get("value"), str)
        ):
            raise malformed("each identifier needs string type and value")
        kind, value = item["type"], item["value"]
        if kind == "dns":
            name = value.lower()
            problem = dns_name_problem(name)
            if problem:
                subproblems.append(subproblem("rejectedIdentifier", f"{value!r} {problem}", item))
                continue
            seen[(kind, name)] = Identifier(kind, name)
        elif kind == "ip" and allow_ip:
            try:
                address = ipaddress.ip_address(value)
            except ValueError:
                subproblems.append(subproblem("malformed", f"{value!r} is not an IP address", item))
                continue
            if "%" in value:  # an IPv6 zone id names an interface of the client, not an address
                subproblems.append(
                    subproblem("rejectedIdentifier", f"{value!r} has an IPv6 zone id", item)
                )
                continue
            seen[(kind, str(address))] = Identifier(kind, str(address))
        else:
            subproblems.append(
                subproblem(
                    "unsupportedIdentifier", f"identifier type {kind!r} is not supported", item
                )
            )
    if subproblems:
        if all(s["type"].endswith("unsupportedIdentifier") for s in subproblems):
            raise unsupported_identifier("the order has unsupported identifiers", subproblems)
        raise rejected_identifier("the order has identifiers this CA cannot issue for", subproblems)
    return list(seen.values())
