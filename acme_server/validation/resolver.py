"""DNS lookups for validation: A/AAAA for HTTP-01 targets, TXT for DNS-01, CAA.

A thin layer over dnspython's async resolver that asks the configured nameservers (or the
system's), bounds each lookup by the config's timeout, and turns every failure into
ValidationFailure("dns") with a detail naming the name and record type.

A, AAAA and TXT answers are never cached: each validation sees fresh answers, so a client
that fixes its records and retries is not told the old story. CAA answers are (CAACache):
a certificate's names share their parents, which the RFC 8659 climb asks about again for
every name, and the Baseline Requirements (3.2.2.8) let a CA rely on a CAA answer for its
TTL. Each is kept for its TTL (a negative answer for its SOA's, RFC 2308 section 5; none
without an SOA), at most config.caa_cache_seconds (0: no cache); failures never.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Final

import dns.asyncresolver
import dns.exception
import dns.message
import dns.name
import dns.nameserver
import dns.rdatatype
import dns.rdtypes.ANY.CAA
import dns.rdtypes.ANY.SOA
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
CAA_CACHE_ENTRIES: Final = 10_000  # names; the least recently stored go first


@dataclass(frozen=True, slots=True)
class CAARecord:
    """One CAA record (RFC 8659 section 4.1): flags, property tag, property value."""

    flags: int
    tag: str
    value: str


class CAACache:
    """CAA answers by name until they expire (time.monotonic()), at most `entries` names."""

    def __init__(self, max_seconds: float, entries: int = CAA_CACHE_ENTRIES) -> None:
        self.max_seconds = max_seconds
        self.entries = entries
        self._answers: OrderedDict[str, tuple[float, list[CAARecord]]] = OrderedDict()

    def get(self, name: str) -> list[CAARecord] | None:
        found = self._answers.get(name)
        if found is None:
            return None
        if found[0] <= time.monotonic():
            del self._answers[name]
            return None
        return found[1]

    def put(self, name: str, records: list[CAARecord], ttl: float | None) -> None:
        """Keep `records` for min(ttl, max_seconds); ttl None: not cacheable."""
        seconds = 0.0 if ttl is None else min(ttl, self.max_seconds)
        if seconds <= 0:
            return
        self._answers.pop(name, None)
        self._answers[name] = (time.monotonic() + seconds, records)
        while len(self._answers) > self.entries:
            self._answers.popitem(last=False)


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
        self.caa_cache = CAACache(config.caa_cache_seconds)

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
        RFC 8659 section 3 says must not be read as permission. Answers are cached (see the
        module docstring)."""
        key = name.lower().removesuffix(".")
        cached = self.caa_cache.get(key)
        if cached is not None:
            return cached
        rdatas, ttl = await self._rdatas_ttl(name, "CAA")
        records = [
            CAARecord(
                flags=rdata.flags,
                tag=rdata.tag.decode("ascii", "backslashreplace"),
                value=rdata.value.decode("utf-8", "backslashreplace"),
            )
            for rdata in rdatas
            if isinstance(rdata, dns.rdtypes.ANY.CAA.CAA)
        ]
        self.caa_cache.put(key, records, ttl)
        return records

    async def _rdatas(self, name: str, rdtype: str) -> list[object]:
        """The records of `rdtype` at `name`; [] for NXDOMAIN or no data."""
        rdatas, _ = await self._rdatas_ttl(name, rdtype)
        return rdatas

    async def _rdatas_ttl(self, name: str, rdtype: str) -> tuple[list[object], float | None]:
        """The records of `rdtype` at `name` ([] for NXDOMAIN or no data) and how long the
        answer may be kept: the RRset's TTL, a negative answer's SOA (RFC 2308 section 5),
        or None (a negative answer without one)."""
        try:
            qname = dns.name.from_text(name)
        except dns.exception.DNSException:
            raise ValidationFailure(
                "rejectedIdentifier", f"{quoted(name)} is not a valid DNS name"
            ) from None
        what = f"{rdtype} lookup for {quoted(name)}"
        try:
            # No NoAnswer for an empty answer: dnspython renders the whole response as text
            # for that exception's message, which costs more than the lookup itself.
            answer = await self._resolver.resolve(
                qname, rdtype, search=False, raise_on_no_answer=False
            )
        except dns.resolver.NXDOMAIN as exc:
            responses = list(exc.responses().values())  # type: ignore[no-untyped-call]
            return [], _negative_ttl(responses[-1]) if responses else None
        except dns.resolver.NoNameservers as exc:
            raise ValidationFailure("dns", f"{what} failed: {_rcodes(exc)}") from None
        except dns.exception.Timeout:
            raise ValidationFailure("dns", f"{what} timed out") from None
        except dns.exception.DNSException as exc:
            reason = type(exc).__doc__ or type(exc).__name__
            raise ValidationFailure("dns", f"{what} failed: {reason.strip()}") from None
        if answer.rrset is None:  # no data (RFC 2308 NODATA): cached by its SOA
            return [], _negative_ttl(answer.response)
        # The least TTL along any CNAME chain followed, not only the final RRset's.
        return list(answer.rrset), float(answer.chaining_result.minimum_ttl)


def _negative_ttl(response: dns.message.Message) -> float | None:
    """RFC 2308 section 5: a negative answer lives for the lesser of its SOA record's TTL
    and the SOA's MINIMUM field; without an SOA in the authority section, not at all."""
    for rrset in response.authority:
        if rrset.rdtype == dns.rdatatype.SOA and len(rrset):
            soa = rrset[0]
            if isinstance(soa, dns.rdtypes.ANY.SOA.SOA):
                return float(min(rrset.ttl, soa.minimum))
    return None


def _rcodes(exc: dns.resolver.NoNameservers) -> str:
    """ "SERVFAIL" (the rcodes the nameservers answered) or a generic reason."""
    errors = exc.kwargs.get("errors") or []
    codes = sorted({str(error[3]) for error in errors if isinstance(error[3], str)})
    if codes:
        return "the nameservers answered " + ", ".join(codes)
    return "no nameserver gave a usable answer"
