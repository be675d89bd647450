"""Lifecycle webhooks delivered to a real aiohttp server on loopback: renewal done, renewal
failed and expiry warnings from a scheduler pass (both backends); retries on 5xx, none on
4xx, a dead receiver given up on, and a slow one never holding up the scheduler."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from acme_server.jobs.webhooks import WebhookNotifier
from acme_server.services.certificates.auto_renewal import run_pass
from acme_server.services.context import Services
from testkit.in_process_server import AcmeServer
from testkit.kms_process import free_port
from tests.rest.conftest import bearer_client, with_services
from tests.rest.test_auto_renewal import RULES, auto_profile, get, in_window
from tests.rest.test_certificates_support import CERTS, issue, openssl_csr
from tests.support.webhook_receiver import Receiver, receiver


@pytest.fixture(scope="module")
def http(api: AcmeServer) -> Any:
    with bearer_client(api, role="admin") as client:
        yield client


def test_a_pass_posts_renewed_failed_and_expiring_events(
    api: AcmeServer, http: httpx.Client, tmp_path: Path
) -> None:
    profile = auto_profile(api)
    ok = issue(http, profile=profile.slug, commonName="ok.renew.test")["certificate"]
    bad = issue(http, profile=profile.slug, commonName="bad.renew.test")["certificate"]
    csr = openssl_csr(tmp_path, subject="/CN=held.renew.test", sans="DNS:held.renew.test")
    held = http.post(CERTS, json={"profileId": profile.slug, "csr": csr}).json()["certificate"]
    deny = {"sans": {"dns_name": {"allowed": ["*.renew.test"], "denied": ["bad.renew.test"]}}}
    with_services(api, lambda s: s.store.update_policy(profile.policy_id, rules=deny))
    now = max(in_window(api, c["certificateId"]) for c in (ok, bad, held))

    async def run(services: Services) -> Receiver:
        async with receiver() as got:
            notifier = WebhookNotifier(got.url, first_retry=0.05)
            try:
                await run_pass(services, now=now, notify=notifier.notify)
                await notifier.drain()
            finally:
                await notifier.close()
            return got

    got = with_services(api, run)
    with_services(api, lambda s: s.store.update_policy(profile.policy_id, rules=RULES))

    [done] = got.of("renewal.succeeded", ok["certificateId"])
    new_id = get(api, ok["certificateId"]).renewed_by_id
    assert done["data"]["certificate"]["id"] == new_id
    assert done["data"]["renewedFromId"] == ok["certificateId"]
    assert done["data"]["certificate"]["commonName"] == "ok.renew.test"
    uuid.UUID(done["id"])
    assert done["occurredAt"].endswith("Z")

    [failed] = got.of("renewal.failed", bad["certificateId"])
    assert "bad.renew.test" in failed["data"]["error"]
    assert failed["data"]["attempts"] == 1
    assert failed["data"]["nextAttemptAt"]

    [warned] = got.of("certificate.expiring", held["certificateId"])
    assert warned["data"]["autoRenew"] is False  # a CSR certificate: its holder must renew
    assert got.of("certificate.expiring", ok["certificateId"]) == []  # renewed, not warned
    assert all("PRIVATE KEY" not in text for text in got.raw)

    # The warning is sent once.
    async def again(services: Services) -> Receiver:
        async with receiver() as second:
            notifier = WebhookNotifier(second.url)
            await run_pass(services, now=now, notify=notifier.notify)
            await notifier.drain()
            await notifier.close()
            return second

    assert with_services(api, again).of("certificate.expiring", held["certificateId"]) == []


def _deliver_one(api: AcmeServer, statuses: list[int], attempts: int) -> tuple[bool, Receiver]:
    async def run(services: Services) -> tuple[bool, Receiver]:
        del services
        async with receiver() as got:
            got.statuses = list(statuses)
            notifier = WebhookNotifier(got.url, attempts=attempts, first_retry=0.01)
            try:
                delivered = await notifier._deliver({"id": "1", "event": "test", "data": {}})
            finally:
                await notifier.close()
            return delivered, got

    return with_services(api, run)


def test_5xx_and_429_are_retried_4xx_is_not(api: AcmeServer) -> None:
    delivered, got = _deliver_one(api, [503, 429, 500], attempts=5)
    assert delivered is True
    assert len(got.raw) == 4 and len(got.bodies) == 1

    refused, got = _deliver_one(api, [400], attempts=5)
    assert refused is False
    assert len(got.raw) == 1

    exhausted, got = _deliver_one(api, [503, 503, 503], attempts=3)
    assert exhausted is False
    assert len(got.raw) == 3


def test_a_dead_receiver_is_given_up_on(api: AcmeServer) -> None:
    async def run(services: Services) -> bool:
        del services
        notifier = WebhookNotifier(
            f"http://127.0.0.1:{free_port()}/nobody", attempts=3, first_retry=0.01
        )
        try:
            return await notifier._deliver({"id": "1", "event": "test", "data": {}})
        finally:
            await notifier.close()

    assert with_services(api, run) is False


def test_a_slow_receiver_never_holds_up_the_scheduler(api: AcmeServer, http: httpx.Client) -> None:
    profile = auto_profile(api)
    cert_id = issue(http, profile=profile.slug, commonName="slow.renew.test")["certificate"][
        "certificateId"
    ]
    now = in_window(api, cert_id)

    async def run(services: Services) -> tuple[bool, int]:
        async with receiver() as got:
            got.hold = True  # the receiver does not answer until released
            notifier = WebhookNotifier(got.url)
            try:
                await asyncio.wait_for(run_pass(services, now=now, notify=notifier.notify), 30)
                renewed = get_renewed(await services.store.get_certificate(cert_id))
                await asyncio.wait_for(got.arrived.wait(), 30)  # the receiver holds it
                pending = len(notifier._tasks)
                got.release.set()
                await notifier.drain()
            finally:
                await notifier.close()
            return renewed, pending

    renewed, pending = with_services(api, run)
    assert renewed is True
    assert pending >= 1


def get_renewed(record: Any) -> bool:
    return record.renewed_by_id is not None
