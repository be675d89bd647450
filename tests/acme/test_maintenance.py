"""The housekeeping sweep against the live database of a running server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from acme_server.jobs.maintenance import sweep
from testkit.acme_client import AcmeClient
from testkit.in_process_server import AcmeServer


def test_s6_5_expired_nonces_are_purged_and_stale_orders_expire(
    server: AcmeServer, account: AcmeClient
) -> None:
    order_url = account.new_order("sweep.test").headers["Location"]
    services = server.services()
    try:
        later = datetime.now(UTC) + timedelta(days=30)
        counts = server.loop.run(sweep(services.store, later))
        # Issued nonces are never stored; each used one is, until it expires: a month
        # later every used nonce (newAccount, newOrder) is purged.
        assert counts["nonces"] > 0
        assert counts["orders"] >= 1
        assert counts["authorizations"] >= 1
        assert server.loop.run(sweep(services.store, later))["nonces"] == 0
    finally:
        server.loop.run(services.close())
    # The client's cached, unused nonce was never in the database and is still good.
    assert account.nonce is not None
    assert account.get(order_url).json()["status"] == "invalid"
