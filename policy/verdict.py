"""What the engine answers: every violation, in a deterministic order."""

from __future__ import annotations

from dataclasses import dataclass

from pki_types.model import SubjectAltName


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule. `identifier` is set for a SAN's own violations (RFC 8555 subproblems)."""

    code: str
    message: str
    identifier: SubjectAltName | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    violations: tuple[Violation, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def messages(self) -> tuple[str, ...]:
        return tuple(v.message for v in self.violations)
