"""RFC 8555 end to end over real HTTP: directory, nonces, accounts, orders, HTTP-01,
finalize, download, on both storage backends."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from acme_server.acme.handlers.accounts import ORDERS_PAGE_SIZE
from testkit.acme_client import AcmeClient, b64
from testkit.flows import authorize, issue, make_csr, poll
from testkit.in_process_server import AcmeServer


def test_s7_1_1_directory_has_every_resource_and_meta(
    server: AcmeServer, client: AcmeClient
) -> None:
    d = client.directory
    for key in ("newNonce", "newAccount", "newOrder", "revokeCert", "keyChange"):
        assert d[key].startswith(server.base_url + "/acme/default/")
    assert d["meta"]["termsOfService"]
    assert d["meta"]["externalAccountRequired"] is False
    assert d["meta"]["caaIdentities"] == ["127.0.0.1"]
    with server.http() as http:
        alias = http.get(server.base_url + "/acme/directory")
    assert alias.json() == d
    assert "Replay-Nonce" in alias.headers


def test_s7_2_new_nonce_head_200_and_get_204(server: AcmeServer, client: AcmeClient) -> None:
    with server.http() as http:
        head = http.head(client.directory["newNonce"])
        get = http.get(client.directory["newNonce"])
    assert head.status_code == 200 and get.status_code == 204
    assert head.headers["Cache-Control"] == "no-store"
    assert head.headers["Replay-Nonce"] != get.headers["Replay-Nonce"]
    index = f'<{client.directory_url}>;rel="index"'
    assert head.headers["Link"] == index and get.headers["Link"] == index


def test_s7_1_every_response_has_nonce_and_index_link_errors_included(
    server: AcmeServer, client: AcmeClient
) -> None:
    response = client.post(client.directory["newOrder"], {"identifiers": []}, use_jwk=True)
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["Replay-Nonce"]
    assert f'<{client.directory_url}>;rel="index"' in response.headers["Link"]
    with server.http() as http:
        missing = http.post(server.base_url + "/acme/default/nothing-here")
    assert missing.status_code == 404 and missing.headers["Replay-Nonce"]
    assert missing.json()["type"] == "urn:ietf:params:acme:error:malformed"


def test_s7_3_new_account_201_then_200_for_the_same_key(client: AcmeClient) -> None:
    created = client.new_account(contact=["mailto:a@example.com"])
    assert created.status_code == 201
    body = created.json()
    assert body["status"] == "valid" and body["contact"] == ["mailto:a@example.com"]
    assert body["orders"].endswith("/orders")
    again = client.new_account()
    assert again.status_code == 200
    assert again.headers["Location"] == created.headers["Location"]
    existing = client.post(
        client.directory["newAccount"], {"onlyReturnExisting": True}, use_jwk=True
    )
    assert (
        existing.status_code == 200 and existing.headers["Location"] == created.headers["Location"]
    )


def test_s7_3_1_only_return_existing_for_unknown_key(client: AcmeClient) -> None:
    response = client.post(
        client.directory["newAccount"], {"onlyReturnExisting": True}, use_jwk=True
    )
    assert response.status_code == 400
    assert response.json()["type"] == "urn:ietf:params:acme:error:accountDoesNotExist"


@pytest.mark.parametrize(
    ("contact", "kind"),
    [
        (["tel:+1555"], "unsupportedContact"),
        (["mailto:not-an-address"], "invalidContact"),
        (["mailto:a@example.com,b@example.com"], "invalidContact"),
        (["mailto:a@example.com?subject=x"], "invalidContact"),
        (["mailto:a@example.com\n"], "invalidContact"),
        ("mailto:a@example.com", "malformed"),
    ],
)
def test_s7_3_contact_is_validated(client: AcmeClient, contact: object, kind: str) -> None:
    response = client.new_account(contact=contact)
    assert response.status_code == 400
    assert response.json()["type"] == f"urn:ietf:params:acme:error:{kind}"


def test_s7_3_2_update_contact_and_s7_3_6_deactivate(account: AcmeClient) -> None:
    assert account.kid is not None
    updated = account.post(account.kid, {"contact": ["mailto:new@example.com"]})
    assert updated.status_code == 200 and updated.json()["contact"] == ["mailto:new@example.com"]
    assert account.get(account.kid).json()["contact"] == ["mailto:new@example.com"]
    gone = account.post(account.kid, {"status": "deactivated"})
    assert gone.json()["status"] == "deactivated"
    refused = account.new_order("after.test")
    assert refused.status_code == 403
    assert refused.json()["type"] == "urn:ietf:params:acme:error:unauthorized"


def test_s7_4_full_issuance_two_names(
    server: AcmeServer, account: AcmeClient, tmp_path: Path
) -> None:
    _, pem = issue(server, account, "one.test", "two.test")
    blocks = pem.count("-----BEGIN CERTIFICATE-----")
    assert 2 <= blocks <= 5 and pem.count("-----BEGIN") == blocks  # CERTIFICATE blocks only
    certs = x509.load_pem_x509_certificates(pem.encode())
    leaf = certs[0]
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sorted(san.get_values_for_type(x509.DNSName)) == ["one.test", "two.test"]
    leaf.verify_directly_issued_by(certs[1])
    chain = tmp_path / "chain.pem"
    chain.write_text(pem)
    root = tmp_path / "root.pem"
    services = server.services()
    try:
        cas = server.loop.run(services.store.list_cas())
    finally:
        server.loop.run(services.close())
    root.write_text(next(ca.certificate_pem for ca in cas if ca.kind == "root"))
    leaf_file = tmp_path / "leaf.pem"
    leaf_file.write_text(pem.split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n")
    verify = subprocess.run(
        ["openssl", "verify", "-CAfile", str(root), "-untrusted", str(chain), str(leaf_file)],
        capture_output=True,
        text=True,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_s7_4_2_chain_has_no_up_link_and_the_single_certificate_form_has_one(
    server: AcmeServer, account: AcmeClient
) -> None:
    """RFC 8555 7.4.2: "up" links are for formats that hold one certificate. The PEM chain
    carries its intermediates (a client following "up" would append them twice); the
    application/pkix-cert answer is the leaf in DER with "up" to the issuer's certificate."""
    order, pem = issue(server, account, "up.test")
    chain = account.get(order["certificate"])
    assert chain.headers["Content-Type"] == "application/pem-certificate-chain"
    assert 'rel="up"' not in chain.headers["Link"]
    leaf, issuer = x509.load_pem_x509_certificates(pem.encode())[:2]

    single = account.post(order["certificate"], accept="application/pkix-cert")
    assert single.status_code == 200
    assert single.headers["Content-Type"] == "application/pkix-cert"
    assert x509.load_der_x509_certificate(single.content) == leaf
    up = re.search(r'<([^>]+)>;rel="up"', single.headers["Link"])
    assert up is not None, single.headers["Link"]
    with server.http() as http:
        fetched = http.get(up.group(1))
    assert fetched.status_code == 200
    assert x509.load_der_x509_certificate(fetched.content) == issuer

    both = account.post(
        order["certificate"], accept="application/pkix-cert, application/pem-certificate-chain"
    )
    assert both.headers["Content-Type"] == "application/pem-certificate-chain"


def test_s7_4_ip_identifier_rfc8738(server: AcmeServer, account: AcmeClient) -> None:
    _, pem = issue(server, account, "127.0.0.1")
    leaf = x509.load_pem_x509_certificates(pem.encode())[0]
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]


def test_s7_1_6_order_ready_as_soon_as_authorizations_are_valid(
    server: AcmeServer, account: AcmeClient
) -> None:
    response = account.new_order("a.ready.test", "b.ready.test", "c.ready.test")
    order_url, order = response.headers["Location"], response.json()
    assert order["status"] == "pending"
    authorize(server, account, order)
    assert account.get(order_url).json()["status"] == "ready"  # no waiting: same transaction


def test_s7_5_1_challenge_post_returns_processing_with_up_link(
    server: AcmeServer, account: AcmeClient
) -> None:
    order = account.new_order("chall.test").json()
    authz_url = order["authorizations"][0]
    challenge = account.get(authz_url).json()["challenges"][0]
    assert challenge["type"] == "http-01" and challenge["status"] == "pending"
    server.dns.add("chall.test", "A", "127.0.0.1")
    server.responder.add_token(challenge["token"], account.key_authorization(challenge["token"]))
    response = account.post(challenge["url"], {})
    assert response.json()["status"] in ("processing", "valid")
    assert f'<{authz_url}>;rel="up"' in response.headers["Link"]
    assert poll(account, authz_url, ("valid",))["status"] == "valid"


def test_s7_5_1_authorization_poll_waits_for_the_validation_in_flight(
    server: AcmeServer, account: AcmeClient
) -> None:
    """The first poll after the challenge POST carries the outcome, success or failure:
    the poll waits (bounded by challenge_wait_ms) for this process's worker."""
    order = account.new_order("wait-ok.test", "wait-fail.test").json()
    outcomes = {}
    for authz_url in order["authorizations"]:
        authz = account.get(authz_url).json()
        name = authz["identifier"]["value"]
        challenge = authz["challenges"][0]
        server.dns.add(name, "A", "127.0.0.1")
        if name == "wait-ok.test":
            token = challenge["token"]
            server.responder.add_token(token, account.key_authorization(token))
        assert account.post(challenge["url"], {}).status_code == 200
        outcomes[name] = account.get(authz_url).json()["status"]
    assert outcomes == {"wait-ok.test": "valid", "wait-fail.test": "invalid"}


def test_s7_1_6_order_poll_waits_for_its_validations_in_flight(
    server: AcmeServer, account: AcmeClient
) -> None:
    """The first order poll after the challenge POSTs sees the outcome: `ready` once both
    validations succeed, `invalid` when one fails; the poll waits for this process's worker
    rather than answering `pending`."""
    for names, expected in (
        (("owait-a.test", "owait-b.test"), "ready"),
        (("owait-c.test", "owait-fail.test"), "invalid"),
    ):
        response = account.new_order(*names)
        order_url, order = response.headers["Location"], response.json()
        for authz_url in order["authorizations"]:
            authz = account.get(authz_url).json()
            name = authz["identifier"]["value"]
            challenge = authz["challenges"][0]
            server.dns.add(name, "A", "127.0.0.1")
            if name != "owait-fail.test":
                token = challenge["token"]
                server.responder.add_token(token, account.key_authorization(token))
        for authz_url in order["authorizations"]:
            challenge = account.get(authz_url).json()["challenges"][0]
            assert account.post(challenge["url"], {}).status_code == 200
        assert account.get(order_url).json()["status"] == expected


def test_s8_3_failed_validation_marks_challenge_and_authorization_invalid(
    server: AcmeServer, account: AcmeClient
) -> None:
    response = account.new_order("nobody-home.test")
    order_url, order = response.headers["Location"], response.json()
    authorize(server, account, order, serve=False)  # the responder answers 404
    authz = account.get(order["authorizations"][0]).json()
    assert authz["status"] == "invalid"
    error = authz["challenges"][0]["error"]
    assert error["type"] == "urn:ietf:params:acme:error:unauthorized"
    assert "404" in error["detail"]
    assert account.get(order_url).json()["status"] == "invalid"


def test_s7_4_finalize_before_ready_is_order_not_ready(account: AcmeClient) -> None:
    order = account.new_order("early.test").json()
    response = account.post(order["finalize"], {"csr": b64(make_csr("early.test"))})
    assert response.status_code == 403
    assert response.json()["type"] == "urn:ietf:params:acme:error:orderNotReady"


def test_s7_4_finalize_twice_issues_once(server: AcmeServer, account: AcmeClient) -> None:
    order, _ = issue(server, account, "twice.test")
    again = account.post(order["finalize"], {"csr": b64(make_csr("twice.test"))})
    assert again.status_code == 403
    assert again.json()["type"] == "urn:ietf:params:acme:error:orderNotReady"


def test_s7_4_authorizations_are_reused_for_the_same_account(
    server: AcmeServer, account: AcmeClient
) -> None:
    first, _ = issue(server, account, "reuse.test")
    second = account.new_order("reuse.test").json()
    assert second["authorizations"] == first["authorizations"]
    assert second["status"] == "ready"


def test_s7_1_2_1_orders_list_pages_with_link_next(server: AcmeServer, account: AcmeClient) -> None:
    created = [_created(account.new_order(f"page{i}.test")) for i in range(ORDERS_PAGE_SIZE + 2)]
    assert account.kid is not None
    seen: list[str] = []
    url: str | None = account.kid + "/orders"
    while url is not None:
        page = account.get(url)
        assert page.status_code == 200, page.text
        seen += page.json()["orders"]
        link = page.headers.get("Link", "")
        nexts = [part for part in link.split(",") if 'rel="next"' in part]
        url = nexts[0].split(";")[0].strip().strip("<>") if nexts else None
    assert set(created) <= set(seen)
    assert len(seen) == len(set(seen))


def test_s7_1_2_1_orders_list(server: AcmeServer, account: AcmeClient) -> None:
    created = [account.new_order(f"list{i}.test").headers["Location"] for i in range(3)]
    assert account.kid is not None
    listed = account.get(account.kid + "/orders")
    assert listed.status_code == 200
    assert set(created) <= set(listed.json()["orders"])


def _created(response: httpx.Response) -> str:
    assert response.status_code == 201, response.text
    return str(response.headers["Location"])
