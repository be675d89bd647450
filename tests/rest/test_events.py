"""REST issuance, renewal, revocation and deletion publish the domain events
(services/events.py) on the running server's own bus; a failing subscriber is logged and
never fails the request; a renewal asked for over REST sends no webhook."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from acme_server.jobs.webhooks import webhook_message
from acme_server.services.events import (
    CertificateDeleted,
    CertificateEvent,
    CertificateIssued,
    CertificateRenewed,
    CertificateRevoked,
)
from pki_types.model import CertificateStatus, RequestMethod, RevocationReason
from testkit.in_process_server import AcmeServer
from tests.rest.conftest import bearer_client, with_services
from tests.rest.test_certificates_support import CERTS, issue


@pytest.fixture(scope="module")
def http(api: AcmeServer) -> Any:
    with bearer_client(api, role="admin") as client:
        yield client


def _profile_id(api: AcmeServer, slug: str = "default") -> str:
    return with_services(api, lambda s: s.store.get_profile_by_slug(slug)).id


def test_issue_then_revoke_publish_issued_and_revoked(api: AcmeServer, http: httpx.Client) -> None:
    with api.events() as seen:
        names = [{"type": "dns_name", "value": "events.rest.test"}]
        body = issue(http, commonName="events.rest.test", altNames=names)["certificate"]
    [issued] = seen
    assert isinstance(issued, CertificateIssued)
    assert issued.certificate_id == body["certificateId"]
    assert issued.serial == body["serialNumber"]
    assert issued.profile_id == _profile_id(api)
    assert issued.request_method == RequestMethod.API_MANAGED
    assert issued.common_name == "events.rest.test"
    assert issued.sans == (("dns_name", "events.rest.test"),)
    assert issued.not_before < issued.not_after

    with api.events() as seen:
        response = http.post(
            f"{CERTS}/{issued.certificate_id}/revoke", json={"revocationReason": "SUPERSEDED"}
        )
        assert response.status_code == 200, response.text
    [revoked] = seen
    assert isinstance(revoked, CertificateRevoked)
    assert revoked.certificate_id == issued.certificate_id
    assert revoked.serial == issued.serial and revoked.profile_id == issued.profile_id
    assert revoked.reason == RevocationReason.SUPERSEDED
    assert revoked.revoked_at == datetime.fromisoformat(response.json()["revokedAt"])


def test_renew_publishes_issued_then_renewed_and_sends_no_webhook(
    api: AcmeServer, http: httpx.Client
) -> None:
    old = issue(http, commonName="renew.events.rest.test")["certificate"]["certificateId"]
    with api.events() as seen:
        response = http.post(f"{CERTS}/{old}/renew")
        assert response.status_code == 200, response.text
    issued, renewed = seen
    assert isinstance(issued, CertificateIssued) and isinstance(renewed, CertificateRenewed)
    assert issued.renewed_from_id == old == renewed.renewed_from_id
    assert renewed.certificate_id == issued.certificate_id != old
    assert renewed.automatic is False
    assert [webhook_message(event) for event in seen] == [None, None]  # as before events


def test_delete_publishes_deleted(api: AcmeServer, http: httpx.Client) -> None:
    body = issue(http, commonName="gone.events.rest.test")["certificate"]
    with api.events() as seen:
        assert http.delete(f"{CERTS}/{body['certificateId']}").status_code in (200, 204)
    [deleted] = seen
    assert isinstance(deleted, CertificateDeleted)
    assert deleted.certificate_id == body["certificateId"]
    assert deleted.serial == body["serialNumber"]
    assert deleted.status == CertificateStatus.ACTIVE


def test_a_failing_subscriber_is_logged_and_the_request_succeeds(
    api: AcmeServer, http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    assert api.app is not None
    bus = api.app.state.services.events

    def broken(event: CertificateEvent) -> None:
        raise RuntimeError("subscriber bug")

    async def subscribe() -> Any:
        return bus.subscribe(CertificateEvent, broken)

    unsubscribe = api.loop.run(subscribe())
    try:
        with api.events() as seen, caplog.at_level("ERROR", logger="acme_server.services.events"):
            body = issue(http, commonName="broken.events.rest.test")["certificate"]
    finally:
        api.loop.run(_call(unsubscribe))
    assert [event.certificate_id for event in seen] == [body["certificateId"]]
    assert "event subscriber failed" in caplog.text


async def _call(function: Any) -> None:
    function()
