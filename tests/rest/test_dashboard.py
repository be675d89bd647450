"""GET /api/v1/dashboard on both backends: the counts, the per-day series on the right UTC
days, a failed renewal and a failed ACME validation; the store's ACME browse reads
(accounts page, an account's latest orders, an order's authorizations) alongside."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from acme_server.services.context import Services
from store import AuthorizationRecord
from testkit.acme_client import AcmeClient
from testkit.flows import authorize
from testkit.in_process_server import AcmeServer
from tests.rest.conftest import bearer_client, with_services

CERTS = "/api/v1/cert-manager/certificates"


def test_the_dashboard_figures_and_the_acme_reads(api: AcmeServer) -> None:
    with bearer_client(api, role="admin") as http:
        before = http.get("/api/v1/dashboard").json()
        body = {"profileId": "strict", "attributes": {"commonName": "d.allowed.test",
                "keyAlgorithm": "EC_P256", "ttl": "7d"}}  # fmt: skip
        answer = http.post(CERTS, json=body)
        assert answer.status_code == 200, answer.text
        issued = answer.json()["certificate"]
        not_after = x509.load_pem_x509_certificate(
            issued["certificate"].encode()
        ).not_valid_after_utc

        async def fail(services: Services) -> int:
            return await services.store.record_renewal_failure(
                issued["certificateId"], error="boom", next_attempt_at=datetime.now(UTC)
            )

        assert with_services(api, fail) == 1
        with api.http() as client_http:
            client = AcmeClient(
                client_http, api.directory_url, ec.generate_private_key(ec.SECP256R1())
            )
            assert client.new_account(contact=["mailto:d@example.com"]).status_code == 201
            order = client.new_order("dash-nobody.test")
            authorize(api, client, order.json(), serve=False)
        after = http.get("/api/v1/dashboard").json()
    assert after["total"] == before["total"] + 1
    assert after["byStatus"]["active"] == before["byStatus"]["active"] + 1
    grew = {
        d["date"]: d["count"] - b["count"]
        for d, b in zip(after["expiringPerDay"], before["expiringPerDay"], strict=True)
        if d["count"] != b["count"]
    }
    assert grew == {not_after.date().isoformat(): 1}
    assert sum(d["count"] for d in after["issuedPerDay"]) == (
        sum(d["count"] for d in before["issuedPerDay"]) + 1
    )
    assert after["expiringPerDay"][0]["date"] == datetime.now(UTC).date().isoformat() or (
        after["expiringPerDay"][0]["date"]
        == (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    )
    strict = next(p for p in after["byProfile"] if p["profile"] == "strict")
    assert strict["byStatus"]["active"] >= 1
    assert any(f["certificateId"] == issued["certificateId"] and f["error"] == "boom"
               for f in after["failedRenewals"])  # fmt: skip
    failed = [
        v for v in after["failedValidations"] if v["identifier"]["value"] == "dash-nobody.test"
    ]
    assert len(failed) == 1 and failed[0]["challengeType"] == "http-01"
    assert failed[0]["error"]["type"] == "urn:ietf:params:acme:error:unauthorized"
    order_id = failed[0]["orderId"]
    account_id = failed[0]["accountId"]

    async def reads(services: Services) -> tuple[int, int, list[AuthorizationRecord]]:
        accounts, total = await services.store.list_acme_accounts(limit=100)
        assert account_id in {a.id for a in accounts}
        orders, count = await services.store.latest_account_orders(account_id, limit=10)
        assert [o.id for o in orders] == [order_id]
        return total, count, await services.store.order_authorizations(order_id)

    total, count, authorizations = with_services(api, reads)
    assert total >= 1 and count == 1
    (authz,) = authorizations
    assert authz.identifier_value == "dash-nobody.test" and authz.status == "invalid"
    http01 = next(c for c in authz.challenges if c.type == "http-01")
    assert http01.status == "invalid" and http01.error is not None
    assert "404" in str(http01.error["detail"])
