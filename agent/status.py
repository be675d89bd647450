"""`kms cert-manager agent status`: what is on disk, read without asking the server."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agent.config import AgentConfig
from agent.files import HOOK_PENDING, REVOKE_PENDING, CertificateFiles
from agent.state import state_of


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def certificate_status(config: AgentConfig, now: datetime | None = None) -> list[dict[str, Any]]:
    now = now or datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    for cert in config.certificates:
        files = CertificateFiles(config.state_dir, cert)
        current = files.current()
        row: dict[str, Any] = {
            "name": cert.name,
            "enrollment": cert.enrollment,
            "profile": cert.profile,
            "renewBefore": str(cert.renew_before),
        }
        saved = state_of(files.root)
        if current is None:
            row.update(state="missing", serialNumber=None, notAfter=None, nextRenewal=None)
        else:
            leaf = current.leaf
            due = cert.renew_before.renew_at(leaf.not_valid_before_utc, leaf.not_valid_after_utc)
            if now >= leaf.not_valid_after_utc:
                state = "expired"
            elif now >= due:
                state = "renewal due"
            else:
                state = "valid"
            pending = [m for m in (HOOK_PENDING, REVOKE_PENDING) if current.has(m)]
            row.update(
                state=state,
                serialNumber=current.serial_hex,
                notBefore=_iso(leaf.not_valid_before_utc),
                notAfter=_iso(leaf.not_valid_after_utc),
                nextRenewal=_iso(due),
                installedAt=current.meta.get("installedAt"),
                pending=pending,
            )
        row["lastError"] = saved.get("lastError")
        row["nextCheck"] = saved.get("nextCheck")
        rows.append(row)
    return rows


def status_table(rows: list[dict[str, Any]]) -> str:
    header = ("NAME", "STATE", "SERIAL", "EXPIRES", "NEXT RENEWAL", "LAST ERROR")
    lines = [header]
    for row in rows:
        lines.append(
            (
                row["name"],
                row["state"],
                row["serialNumber"] or "-",
                row["notAfter"] or "-",
                row["nextRenewal"] or "now",
                row["lastError"] or "-",
            )
        )
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header) - 1)]
    out = []
    for line in lines:
        cells = [str(cell).ljust(width) for cell, width in zip(line, widths, strict=False)]
        out.append("  ".join([*cells, str(line[-1])]).rstrip())
    return "\n".join(out)
