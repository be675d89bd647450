"""CAA at finalize (RFC 8659, RFC 8657) through the real server and the loopback DNS server.

This module's server names itself `ca.kms.test` and `kms-alias.test` in CAA (caa_identities)
and does not cache CAA answers (caa_cache_seconds=0): its tests change records at one name
and finalize again at once, well within the records' TTL. The cache is tested in
tests/validation/test_resolver.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from testkit.acme_client import AcmeClient, b64
from testkit.flows import authorize, make_csr, poll
from testkit.in_process_server import AcmeServer, acme_server
from testkit.postgres import BACKENDS, fresh_postgres_database
from tests.acme.test_bad_input import problem
from tests.acme.test_dns01 import make_profile

IDENTITIES = "ca.kms.test, kms-alias.test"
SETTINGS: dict[str, Any] = {"caa_identities": IDENTITIES, "caa_cache_seconds": 0}


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AcmeServer]:
    data_dir: Path = tmp_path_factory.mktemp("acme-caa") / "data"
    if request.param == "sqlite":
        with acme_server(data_dir, **SETTINGS) as running:
            make_profile(running, "no-caa", caa_check=False)
            yield running
        return
    with (
        fresh_postgres_database() as url,
        acme_server(data_dir, url, **SETTINGS) as running,
    ):
        make_profile(running, "no-caa", caa_check=False)
        yield running


def ready_order(
    server: AcmeServer, client: AcmeClient, *names: str, challenge_type: str = "http-01"
) -> tuple[str, dict[str, Any]]:
    response = client.new_order(*names)
    assert response.status_code == 201, response.text
    order_url = response.headers["Location"]
    authorize(server, client, response.json(), challenge_type=challenge_type)
    order = poll(client, order_url, ("ready", "invalid"))
    assert order["status"] == "ready", order
    return order_url, order


def finalize(client: AcmeClient, order: dict[str, Any], *names: str) -> Any:
    return client.post(order["finalize"], {"csr": b64(make_csr(*names))})


def issued(client: AcmeClient, order_url: str, order: dict[str, Any], *names: str) -> None:
    response = finalize(client, order, *names)
    assert response.status_code == 200, response.text
    assert poll(client, order_url, ("valid", "invalid"))["status"] == "valid"


def test_directory_names_the_configured_identities(account: AcmeClient) -> None:
    assert account.directory["meta"]["caaIdentities"] == ["ca.kms.test", "kms-alias.test"]


def test_no_caa_records_issue(server: AcmeServer, account: AcmeClient) -> None:
    order_url, order = ready_order(server, account, "free.caa.test")
    issued(account, order_url, order, "free.caa.test")
    assert ("caa.test", "CAA") in server.dns.queries  # the tree was climbed


def test_caa_naming_this_ca_on_the_parent_issues(server: AcmeServer, account: AcmeClient) -> None:
    server.dns.add("ours.caa.test", "CAA", '0 issue "kms-alias.test"')
    order_url, order = ready_order(server, account, "www.ours.caa.test")
    issued(account, order_url, order, "www.ours.caa.test")


def test_caa_for_another_ca_refuses_and_the_order_stays_ready(
    server: AcmeServer, account: AcmeClient
) -> None:
    server.dns.add("theirs.caa.test", "CAA", '0 issue "other-ca.example"')
    order_url, order = ready_order(server, account, "theirs.caa.test", "free2.caa.test")
    body = problem(finalize(account, order, "theirs.caa.test", "free2.caa.test"), 403, "caa")
    assert "no issue record names this CA" in body["detail"]
    assert [s["identifier"] for s in body["subproblems"]] == [
        {"type": "dns", "value": "theirs.caa.test"}
    ]
    assert body["subproblems"][0]["type"] == "urn:ietf:params:acme:error:caa"
    assert account.get(order_url).json()["status"] == "ready"
    # The domain owner fixes the record; the same order is finalized.
    server.dns.remove("theirs.caa.test", "CAA")
    server.dns.add("theirs.caa.test", "CAA", '0 issue "ca.kms.test"')
    issued(account, order_url, order, "theirs.caa.test", "free2.caa.test")


def test_accounturi_must_be_the_requesting_account(server: AcmeServer, account: AcmeClient) -> None:
    assert account.kid is not None
    server.dns.add("acct.caa.test", "CAA", f'0 issue "ca.kms.test; accounturi={account.kid}"')
    order_url, order = ready_order(server, account, "acct.caa.test")
    issued(account, order_url, order, "acct.caa.test")
    with server.http() as http:  # another account of the same profile
        other = AcmeClient(http, server.directory_url, ec.generate_private_key(ec.SECP256R1()))
        assert other.new_account().status_code == 201
        order_url, order = ready_order(server, other, "acct.caa.test")
        body = problem(finalize(other, order, "acct.caa.test"), 403, "caa")
    assert "accounturi" in body["detail"]


def test_validationmethods_must_include_the_method_used(
    server: AcmeServer, account: AcmeClient
) -> None:
    server.dns.add("method.caa.test", "CAA", '0 issue "ca.kms.test; validationmethods=dns-01"')
    order_url, order = ready_order(server, account, "method.caa.test")  # by http-01
    body = problem(finalize(account, order, "method.caa.test"), 403, "caa")
    assert "validationmethods" in body["detail"] and "http-01" in body["detail"]
    order_url, order = ready_order(server, account, "m2.method.caa.test", challenge_type="dns-01")
    issued(account, order_url, order, "m2.method.caa.test")


def test_issuewild_refuses_the_wildcard_only(server: AcmeServer, account: AcmeClient) -> None:
    server.dns.add("wild.caa.test", "CAA", '0 issue "ca.kms.test"', '0 issuewild ";"')
    order_url, order = ready_order(server, account, "*.wild.caa.test", "wild.caa.test")
    body = problem(finalize(account, order, "*.wild.caa.test", "wild.caa.test"), 403, "caa")
    assert [s["identifier"]["value"] for s in body["subproblems"]] == ["*.wild.caa.test"]
    order_url, order = ready_order(server, account, "wild.caa.test")
    issued(account, order_url, order, "wild.caa.test")


def test_servfail_refuses_issuance(server: AcmeServer, account: AcmeClient) -> None:
    server.dns.add("www.broken.caa.test", "A", "127.0.0.1")
    _, order = ready_order(server, account, "www.broken.caa.test")
    server.dns.servfail("broken.caa.test")
    try:
        body = problem(finalize(account, order, "www.broken.caa.test"), 403, "caa")
    finally:
        server.dns.servfail("broken.caa.test", enabled=False)
    assert "SERVFAIL" in body["detail"]


def test_a_profile_can_turn_caa_off(server: AcmeServer) -> None:
    server.dns.add("internal.caa.test", "CAA", '0 issue ";"')
    with server.http() as http:
        key = ec.generate_private_key(ec.SECP256R1())
        client = AcmeClient(http, server.profile_directory("no-caa"), key)
        assert client.new_account().status_code == 201
        order_url, order = ready_order(server, client, "internal.caa.test")
        asked = len(server.dns.queries)
        issued(client, order_url, order, "internal.caa.test")
        assert ("internal.caa.test", "CAA") not in server.dns.queries[asked:]


def test_ip_identifiers_have_no_caa(server: AcmeServer, account: AcmeClient) -> None:
    """RFC 8738 section 7: CAA is for DNS names; an IP certificate asks no CAA question."""
    asked = len(server.dns.queries)
    order_url, order = ready_order(server, account, "127.0.0.1")
    issued(account, order_url, order, "127.0.0.1")
    assert [q for q in server.dns.queries[asked:] if q[1] == "CAA"] == []


def test_caa_lookups_that_never_finish_refuse_issuance(
    server: AcmeServer, account: AcmeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from acme_server.services import caa

    monkeypatch.setattr(caa, "CAA_TIMEOUT_S", 0.5)  # the server runs in this process
    server.dns.add("www.silent.caa.test", "A", "127.0.0.1")
    order_url, order = ready_order(server, account, "www.silent.caa.test")
    server.dns.silence("www.silent.caa.test")
    try:
        body = problem(finalize(account, order, "www.silent.caa.test"), 403, "caa")
    finally:
        server.dns.silence("www.silent.caa.test", enabled=False)
    assert "took longer than 0.5 s" in body["detail"]
    assert account.get(order_url).json()["status"] == "ready"
