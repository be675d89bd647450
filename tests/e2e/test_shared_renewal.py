"""Server-driven renewal with two `kms serve` processes on one PostgreSQL database: every
certificate that enters its window is renewed exactly once, by whichever process holds
the scheduler lease, and announced once by webhook."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from acme_server.jobs.scheduler import LEASE_NAME
from pki_types.model import CertificateStatus
from store import AuditRecord, CertificateRecord, open_store
from testkit.event_loop import BackgroundLoop
from testkit.kms_process import RunningServer, free_port, kms, kms_json, running_server
from testkit.postgres import fresh_postgres_database
from tests.support.webhook_receiver import Receiver, receiver

CERTIFICATES = 4
# 90 s from issuance, and notBefore backdated a minute on top: a 150 s lifetime, so each
# expires 90 s after issuance and enters its window (a third of its lifetime, 50 s) 40 s
# after issuance.
TTL = "90s"
WAIT_S = 120.0


async def _inventory(url: str) -> tuple[list[CertificateRecord], list[AuditRecord]]:
    async with await open_store(url, migrate=False) as store:
        certs = await store.list_certificates(limit=1000)
        audit = await store.list_audit(limit=1000, offset=0, actor="system")
    return certs, audit


def _renewals_logged(server: RunningServer) -> list[str]:
    found = []
    for line in server.log().splitlines():
        if not line.startswith("{"):
            continue
        entry = json.loads(line)
        if entry.get("msg") == "renewed":
            found.append(str(entry["certificate"]))
    return found


def _notified(hooks: Receiver, originals: list[str]) -> Counter[str]:
    return Counter(
        str(b["data"]["renewedFromId"])
        for b in list(hooks.bodies)
        if b["event"] == "renewal.succeeded" and b["data"]["renewedFromId"] in originals
    )


def test_two_processes_renew_each_certificate_exactly_once(tmp_path: Path) -> None:
    loop = BackgroundLoop()
    hooks_context = receiver()
    hooks = loop.run(hooks_context.__aenter__())
    try:
        _two_processes(tmp_path, hooks)
    finally:
        loop.run(hooks_context.__aexit__(None, None, None))
        loop.close()


@contextmanager
def _shared_pair(
    tmp_path: Path, config_text: str
) -> Iterator[tuple[str, list[str], RunningServer, RunningServer]]:
    """Two `kms serve` processes on one fresh PostgreSQL database, sharing the KEK, with
    auto-renewal on by default: (database URL, CLI args, server a, server b)."""
    config = tmp_path / "kms.toml"
    config.write_text(config_text)
    port_a = free_port()
    external = f"http://127.0.0.1:{port_a}"
    with fresh_postgres_database() as url:
        data = ["--data-dir", str(tmp_path / "a"), "--database", url]
        kms("init", *data)
        kms("profile", "update", "default", "--auto-renew", "--renew-before-days", "1", *data)
        (tmp_path / "b").mkdir(mode=0o700)
        (tmp_path / "b" / "kek.key").write_bytes((tmp_path / "a" / "kek.key").read_bytes())
        (tmp_path / "b" / "kek.key").chmod(0o600)
        common = ["--plain-http", "--external-url", external, "--database", url]
        common += ["--config", str(config)]
        with (
            running_server(tmp_path / "a", *common, port=port_a) as a,
            running_server(tmp_path / "b", *common) as b,
        ):
            yield url, data, a, b


def _issue(data: list[str], label: str) -> list[str]:
    return [
        kms_json(
            "cert", "issue", "--cn", f"{label}{i}.example.com", "--ttl", TTL,
            "--meta", f"index={i}", *data,
        )["id"]
        for i in range(CERTIFICATES)
    ]  # fmt: skip


def _wait_renewed(url: str, originals: list[str], *servers: RunningServer) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        certs, _ = asyncio.run(_inventory(url))
        by_id = {c.id: c for c in certs}
        if all(by_id[o].renewed_by_id is not None for o in originals) and all(
            by_id[by_id[o].renewed_by_id or ""].status is CertificateStatus.ACTIVE
            for o in originals
        ):
            return
        time.sleep(1)
    logs = "\n".join(s.log() for s in servers)
    raise AssertionError(f"not all renewed in {WAIT_S}s:\n{logs}")


async def _lease_holder(url: str) -> str | None:
    async with await open_store(url, migrate=False) as store:
        return await store.lease_holder(LEASE_NAME, now=datetime.now(UTC))


def _two_processes(tmp_path: Path, hooks: Receiver) -> None:
    config = f'renewal_interval = "1s"\nrenewal_retry_delay = "5s"\nwebhook_url = "{hooks.url}"\n'
    with _shared_pair(tmp_path, config) as (url, data, a, b):
        originals = _issue(data, "svc")
        _wait_renewed(url, originals, a, b)
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline and len(_notified(hooks, originals)) < CERTIFICATES:
            time.sleep(0.2)  # the webhooks go out after the renewals, asynchronously
        logged = _renewals_logged(a) + _renewals_logged(b)

        certs, audit = asyncio.run(_inventory(url))
    by_id = {c.id: c for c in certs}
    for original in originals:
        successors = [c for c in certs if c.renewed_from_id == original]
        assert len(successors) == 1, successors
        (new,) = successors
        assert by_id[original].renewed_by_id == new.id
        assert new.status is CertificateStatus.ACTIVE
        assert new.metadata == by_id[original].metadata
        assert new.auto_renew is True
    # No second certificate was ever signed for an original: no pending, no revoked rows.
    assert {c.status for c in certs} <= {CertificateStatus.ACTIVE, CertificateStatus.EXPIRED}
    # Each original renewed once, across both processes' logs and the audit trail.
    renewals = Counter(logged)
    assert all(renewals[o] == 1 for o in originals), renewals
    audited = Counter(
        e.details["renewedFromId"] for e in audit if e.action == "certificate.auto_renew"
    )
    assert all(audited[o] == 1 for o in originals), audited
    notified = _notified(hooks, originals)
    assert all(notified[o] == 1 for o in originals), notified
    assert all("PRIVATE KEY" not in text for text in hooks.raw)


def test_the_survivor_takes_the_lease_when_its_holder_is_killed(tmp_path: Path) -> None:
    with _shared_pair(tmp_path, 'renewal_interval = "1s"\n') as (url, data, a, b):
        deadline = time.monotonic() + WAIT_S
        while (holder := asyncio.run(_lease_holder(url))) is None:
            assert time.monotonic() < deadline, "no process took the scheduler lease"
            time.sleep(0.2)
        pids = {a.process.pid: a, b.process.pid: b}
        holder_pid = int(holder.split(":")[-2])
        killed = pids.pop(holder_pid)
        (survivor,) = pids.values()
        os.kill(holder_pid, signal.SIGKILL)  # no chance to release the lease
        killed.process.wait(10)

        originals = _issue(data, "after-kill")
        _wait_renewed(url, originals, survivor)
        new_holder = asyncio.run(_lease_holder(url))
        assert new_holder is not None and int(new_holder.split(":")[-2]) == survivor.process.pid
        renewed = Counter(_renewals_logged(survivor))
        assert all(renewed[o] == 1 for o in originals), renewed
        assert _renewals_logged(killed) == []
