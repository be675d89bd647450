"""RFC 8737 TLS-ALPN-01 and RFC 8738 IP identifiers through the whole ACME flow."""

from __future__ import annotations

import ipaddress
from typing import Any

from cryptography import x509

from testkit.acme_client import AcmeClient, b64
from testkit.flows import make_csr, poll
from testkit.in_process_server import AcmeServer
from testkit.tlsalpn_responder import challenge_certificate


def _order(client: AcmeClient, *names: str) -> tuple[str, dict[str, Any]]:
    response = client.new_order(*names)
    assert response.status_code == 201, response.text
    return response.headers["Location"], response.json()


def _authorize_tls_alpn(server: AcmeServer, client: AcmeClient, order: dict[str, Any]) -> None:
    assert server.tls is not None
    [authz_url] = order["authorizations"]
    authz = client.get(authz_url).json()
    identifier = authz["identifier"]
    challenge = next(c for c in authz["challenges"] if c["type"] == "tls-alpn-01")
    if identifier["type"] == "ip":
        san: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(identifier["value"]))
    else:
        san = x509.DNSName(identifier["value"])
        server.dns.add(identifier["value"], "A", "127.0.0.1")
    key_authorization = client.key_authorization(challenge["token"])
    server.tls.serve(challenge_certificate(san, key_authorization=key_authorization))
    response = client.post(challenge["url"], {})
    assert response.status_code == 200, response.text
    authz = poll(client, authz_url, ("valid", "invalid"))
    assert authz["status"] == "valid", authz
    assert [c["type"] for c in authz["challenges"]] == ["tls-alpn-01"]


def _finalize(client: AcmeClient, order_url: str, order: dict[str, Any], *names: str) -> str:
    order = poll(client, order_url, ("ready", "invalid"))
    assert order["status"] == "ready", order
    response = client.post(order["finalize"], {"csr": b64(make_csr(*names))})
    assert response.status_code == 200, response.text
    order = poll(client, order_url, ("valid", "invalid"))
    assert order["status"] == "valid", order
    chain = client.get(order["certificate"])
    assert chain.status_code == 200, chain.text
    return chain.text


def test_rfc8737_dns_identifier_offered_and_issued(server: AcmeServer, account: AcmeClient) -> None:
    order_url, order = _order(account, "alpn.test")
    authz = account.get(order["authorizations"][0]).json()
    assert {c["type"] for c in authz["challenges"]} >= {"http-01", "tls-alpn-01"}
    _authorize_tls_alpn(server, account, order)
    assert server.tls is not None and "alpn.test" in server.tls.server_names
    pem = _finalize(account, order_url, order, "alpn.test")
    leaf = x509.load_pem_x509_certificates(pem.encode())[0]
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["alpn.test"]


def test_rfc8738_s7_ip_identifier_offers_http01_and_tlsalpn01_only(
    server: AcmeServer, account: AcmeClient
) -> None:
    _, order = _order(account, "127.0.0.1")
    assert order["identifiers"] == [{"type": "ip", "value": "127.0.0.1"}]
    authz = account.get(order["authorizations"][0]).json()
    assert authz["identifier"] == {"type": "ip", "value": "127.0.0.1"}
    assert sorted(c["type"] for c in authz["challenges"]) == ["http-01", "tls-alpn-01"]


def test_rfc8738_s6_ip_identifier_issued_via_tlsalpn01(
    server: AcmeServer, account: AcmeClient
) -> None:
    order_url, order = _order(account, "127.0.0.1")
    _authorize_tls_alpn(server, account, order)
    assert server.tls is not None and "1.0.0.127.in-addr.arpa" in server.tls.server_names
    pem = _finalize(account, order_url, order, "127.0.0.1")
    leaf = x509.load_pem_x509_certificates(pem.encode())[0]
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert san.get_values_for_type(x509.DNSName) == []


def test_rfc8738_csr_ip_must_match_the_order(server: AcmeServer, account: AcmeClient) -> None:
    order_url, order = _order(account, "127.0.0.1")
    _authorize_tls_alpn(server, account, order)
    order = poll(account, order_url, ("ready", "invalid"))
    response = account.post(order["finalize"], {"csr": b64(make_csr("127.0.0.2"))})
    assert response.status_code == 400, response.text
    assert response.json()["type"] == "urn:ietf:params:acme:error:badCSR"
    assert "127.0.0.2" in response.json()["detail"]


def test_rfc8737_wrong_key_authorization_invalidates(
    server: AcmeServer, account: AcmeClient
) -> None:
    assert server.tls is not None
    _, order = _order(account, "wrong-alpn.test")
    authz_url = order["authorizations"][0]
    authz = account.get(authz_url).json()
    challenge = next(c for c in authz["challenges"] if c["type"] == "tls-alpn-01")
    server.dns.add("wrong-alpn.test", "A", "127.0.0.1")
    server.tls.serve(
        challenge_certificate(x509.DNSName("wrong-alpn.test"), key_authorization="x.y")
    )
    assert account.post(challenge["url"], {}).status_code == 200
    authz = poll(account, authz_url, ("valid", "invalid"))
    assert authz["status"] == "invalid"
    [failed] = [c for c in authz["challenges"] if c["type"] == "tls-alpn-01"]
    assert failed["error"]["type"] == "urn:ietf:params:acme:error:unauthorized"
