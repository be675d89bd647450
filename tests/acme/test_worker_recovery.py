"""DESIGN.md request flow 3: a validation job survives the crash of the process working it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from testkit.acme_client import AcmeClient
from testkit.flows import poll
from testkit.in_process_server import AcmeServer


def test_s7_5_1_job_of_a_crashed_worker_is_resumed_by_another(
    server: AcmeServer, account: AcmeClient
) -> None:
    order = account.new_order("crash.test").json()
    authz_url = order["authorizations"][0]
    challenge = account.get(authz_url).json()["challenges"][0]
    challenge_id = challenge["url"].rsplit("/", 1)[1]
    server.dns.add("crash.test", "A", "127.0.0.1")
    server.responder.add_token(challenge["token"], account.key_authorization(challenge["token"]))
    services = server.services()
    store = services.store

    async def start_and_die() -> str | None:
        """Queue the job in the past and claim it as a worker that then 'dies' holding a lease
        that has already run out -- the same as a crash a lease ago."""
        past = datetime.now(UTC) - timedelta(minutes=5)
        assert await store.start_challenge(challenge_id, now=past)
        jobs = await store.claim_validation_jobs(
            worker_id="crashed-worker",
            limit=10,
            lease=timedelta(seconds=1),
            now=past + timedelta(seconds=1),
        )
        mine = [j for j in jobs if j.challenge_id == challenge_id]
        return mine[0].id if mine else None

    try:
        job_id = server.loop.run(start_and_die())
        assert job_id is not None, "the live worker took the job first; the crash was not simulated"
        authz = poll(account, authz_url, ("valid", "invalid"))
        assert authz["status"] == "valid"
        job = server.loop.run(store.get_validation_job(job_id))
        assert job.status == "done"
        assert job.attempts == 2  # once by the crashed worker, once by the live one
    finally:
        server.loop.run(services.close())
