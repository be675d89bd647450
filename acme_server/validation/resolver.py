"""DNS lookups for validation: A/AAAA for HTTP-01 targets, TXT for DNS-01, CAA.

A thin layer over dnspython's async resolver that asks the configured nameservers (or the
system's), never caches (each validation sees fresh answers, and a later lookup of the same
name is a new question), bounds each lookup by the config's timeout, and turns every failure
into ValidationFailure("dns") with a detail naming the name and record type.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass
from typing import Final

import dns.asyncresolver
import dns.exception
import dns.name
import dns.nameserver
import dns.rdatatype
import dns.rdtypes.ANY.CAA
import dns.rdtypes.ANY.TXT
import dns.rdtypes.IN.A
import dns.rdtypes.IN.AAAA
import dns.resolver

from acme_server.validation.config import ValidationConfig
from acme_server.validation.errors import ValidationFailure, quoted
from acme_server.validation.netguard import IPAddress

# dnspython's per-nameserver wait before trying the next (its default); the whole lookup is
# bounded by ValidationConfig.timeout, RFC 8555 section 8.2 leaves both to the server.
PER_SERVER_TIMEOUT_S: Final = 2.0


@dataclass(frozen=True, slots=True)
class CAARecord:
    """One CAA record (RFC 8659 section 4.1): flags, property tag, property value."""

    flags: int
    tag: str
    value: str


class Resolver:
    """Lookups against `config.nameservers` (empty: the system resolver's)."""

    def __init__(self, config: ValidationConfig) -> None:
        resolver = dns.asyncresolver.Resolver(configure=not config.nameservers)
        if config.nameservers:
            resolver.nameservers = [
                dns.nameserver.Do53Nameserver(host, port) for host, port in config.nameservers
            ]
        resolver.cache = None
        resolver.lifetime = config.timeout
        resolver.timeout = min(PER_SERVER_TIMEOUT_S, config.timeout)
        self._resolver = resolver

    async def addresses(self, name: str) -> list[IPAddress]:
        """The IPv6 then IPv4 addresses of `name` (CNAMEs followed), without duplicates.

        One of AAAA/A failing is tolerated when the other answers (as Let's Encrypt does:
        some nameservers mishandle AAAA); both failing, or no address at all, is "dns".
        """
        results = await asyncio.gather(
            self._rdatas(name, "A"), self._rdatas(name, "AAAA"), return_exceptions=True
        )
        found: list[IPAddress] = []
        failures: list[ValidationFailure] = []
        for result in results:
            if isinstance(result, ValidationFailure):
                failures.append(result)
            elif isinstance(result, BaseException):
                raise result
            else:
                for rdata in result:
                    if isinstance(rdata, dns.rdtypes.IN.A.A | dns.rdtypes.IN.AAAA.AAAA):
                        address = ipaddress.ip_address(rdata.address)
                        if address not in found:
                            found.append(address)
        if failures and (len(failures) == len(results) or not found):
            raise failures[0]
        if not found:
            raise ValidationFailure("dns", f"no A or AAAA records for {quoted(name)}")
        return sorted(found, key=lambda address: -address.version)

    async def txt(self, name: str) -> list[str]:
        """Each TXT record of `name` as one string (its character-strings joined, RFC 7208
        section 3.3 style). No such name or no TXT records: []."""
        return [
            b"".join(rdata.strings).decode("utf-8", "backslashreplace")
            for rdata in await self._rdatas(name, "TXT")
            if isinstance(rdata, dns.rdtypes.ANY.TXT.TXT)
        ]

    async def caa(self, name: str) -> list[CAARecord]:
        """The CAA records at exactly `name` (no tree climbing, RFC 8659 section 3 is the
        caller's). No such name or no CAA records: []; a failed lookup raises "dns", which
        RFC 8659 section 3 says must not be read as permission."""
        return [
            CAARecord(
                flags=rdata.flags,
                tag=rdata.tag.decode("ascii", "backslashreplace"),
                value=rdata.value.decode("utf-8", "backslashreplace"),
            )
            for rdata in await self._rdatas(name, "CAA")
            if isinstance(rdata, dns.rdtypes.ANY.CAA.CAA)
        ]

    async def _rdatas(self, name: str, rdtype: str) -> list[object]:
        """The records of `rdtype` at `name`; [] for NXDOMAIN or no data."""
        try:
            qname = dns.name.from_text(name)
        except dns.exception.DNSException:
            raise ValidationFailure(
                "rejectedIdentifier", f"{quoted(name)} is not a valid DNS name"
            ) from None
        what = f"{rdtype} lookup for {quoted(name)}"
        try:
            answer = await self._resolver.resolve(qname, rdtype, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.resolver.NoNameservers as exc:
            raise ValidationFailure("dns", f"{what} failed: {_rcodes(exc)}") from None
        except dns.exception.Timeout:
            raise ValidationFailure("dns", f"{what} timed out") from None
        except dns.exception.DNSException as exc:
            reason = type(exc).__doc__ or type(exc).__name__
            raise ValidationFailure("dns", f"{what} failed: {reason.strip()}") from None
        return list(answer.rrset) if answer.rrset is not None else []


def _rcodes(exc: dns.resolver.NoNameservers) -> str:
    """ "SERVFAIL" (the rcodes the nameservers answered) or a generic reason."""
    errors = exc.kwargs.get("errors") or []
    codes = sorted({str(error[3]) for error in errors if isinstance(error[3], str)})
    if codes:
        return "the nameservers answered " + ", ".join(codes)
    return "no nameserver gave a usable answer"
