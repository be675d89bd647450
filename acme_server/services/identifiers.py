"""An ACME identifier as the order services hold it: a DNS name (maybe a wildcard) or, per
RFC 8738, an IP address, already checked for form (acme/identifiers.py parses them)."""

from __future__ import annotations

from dataclasses import dataclass

from pki_types.model import SanType, SubjectAltName


@dataclass(frozen=True, slots=True)
class Identifier:
    type: str  # "dns" | "ip"
    value: str

    def to_json(self) -> dict[str, str]:
        return {"type": self.type, "value": self.value}

    @property
    def wildcard(self) -> bool:
        return self.type == "dns" and self.value.startswith("*.")

    @property
    def base(self) -> str:
        """The name an authorization is for (RFC 8555 7.1.4: without the wildcard label)."""
        return self.value[2:] if self.wildcard else self.value

    def as_san(self) -> SubjectAltName:
        return SubjectAltName(SanType.DNS if self.type == "dns" else SanType.IP, self.value)
