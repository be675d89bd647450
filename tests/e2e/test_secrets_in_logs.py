"""Secrets never reach the logs (DESIGN.md, security posture): `kms serve` runs as a real
process at DEBUG level through a full flow -- an identity logs in with its client secret,
EAB credentials are made (CLI and REST), a managed key is enrolled (its private key comes
back), an ACME account binds with EAB and gets a certificate, a login fails -- and every
line the server and the CLI wrote is searched for each secret, in each encoding."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from testkit.acme_client import AcmeClient, b64, eab_binding
from testkit.dns_server import DNSServer
from testkit.event_loop import BackgroundLoop
from testkit.flows import make_csr
from testkit.http01_responder import HTTP01Responder
from testkit.kms_process import kms, running_server

LOGIN = "/api/v1/auth/universal-auth/login"
CERTS = "/api/v1/cert-manager/certificates"
PROFILES = "/api/v1/cert-manager/certificate-profiles"


def _b64url_raw(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _forms(raw: bytes) -> list[bytes]:
    """A binary secret as it could appear in a log line: raw, hex, base64 and base64url."""
    return [
        raw,
        raw.hex().encode(),
        raw.hex().upper().encode(),
        base64.b64encode(raw),
        base64.b64encode(raw).rstrip(b"="),
        base64.urlsafe_b64encode(raw).rstrip(b"="),
        repr(raw).encode(),
    ]


def _pem_body_lines(pem: str) -> list[bytes]:
    lines = [line for line in pem.splitlines() if line and not line.startswith("-----")]
    assert lines
    return [line.encode() for line in lines]


@pytest.fixture
def validation() -> Iterator[tuple[HTTP01Responder, DNSServer, BackgroundLoop]]:
    loop = BackgroundLoop()
    responder = loop.run(HTTP01Responder().__aenter__())
    dns = loop.run(DNSServer().__aenter__())
    try:
        yield responder, dns, loop
    finally:
        loop.run(responder.__aexit__(None, None, None))
        loop.run(dns.__aexit__(None, None, None))
        loop.close()


def _acme_issue(
    http: httpx.Client,
    directory: str,
    kid: str,
    hmac_key: str,
    responder: HTTP01Responder,
    dns: DNSServer,
    refusals: list[bytes],
) -> tuple[str, str]:
    """(the PEM chain, the account URL); a binding with a wrong MAC is refused first."""
    client = AcmeClient(http, directory, ec.generate_private_key(ec.SECP256R1()))
    url = client.directory["newAccount"]
    forged = eab_binding(kid, b64(secrets.token_bytes(32)), client.key, url)
    response = client.new_account(externalAccountBinding=forged)
    assert response.status_code == 403, response.text  # unauthorized: the MAC does not verify
    refusals.append(response.content)
    binding = eab_binding(kid, hmac_key, client.key, url)
    response = client.new_account(externalAccountBinding=binding)
    assert response.status_code == 201, response.text
    name = "secret-flow.example.com"
    response = client.new_order(name)
    assert response.status_code == 201, response.text
    order_url, order = response.headers["Location"], response.json()
    dns.add(name, "A", "127.0.0.1")
    for authz_url in order["authorizations"]:
        authz = client.get(authz_url).json()
        challenge = next(c for c in authz["challenges"] if c["type"] == "http-01")
        responder.add_token(challenge["token"], client.key_authorization(challenge["token"]))
        assert client.post(challenge["url"], {}).status_code == 200
    deadline = time.monotonic() + 30
    while (order := client.get(order_url).json())["status"] != "ready":
        assert order["status"] == "pending" and time.monotonic() < deadline, order
        time.sleep(0.1)
    response = client.post(order["finalize"], {"csr": b64(make_csr(name))})
    assert response.status_code == 200, response.text
    while (order := client.get(order_url).json())["status"] != "valid":
        assert time.monotonic() < deadline, order
        time.sleep(0.1)
    chain = client.get(order["certificate"])
    assert chain.status_code == 200
    assert client.kid is not None
    return chain.text, client.kid


def test_secrets_never_appear_in_the_logs_of_a_full_run(
    tmp_path: Path, validation: tuple[HTTP01Responder, DNSServer, BackgroundLoop]
) -> None:
    responder, dns, _ = validation
    kek = secrets.token_bytes(32)
    env = {
        "KMS_KEK": base64.b64encode(kek).decode(),
        "KMS_LOG_LEVEL": "DEBUG",
        "KMS_HTTP01_PORT": str(responder.port),
        "KMS_DNS_RESOLVER": f"{dns.nameserver[0]}:{dns.nameserver[1]}",
        "KMS_ALLOW_PRIVATE_VALIDATION": "true",
    }
    data_dir = tmp_path / "data"
    common = ["--data-dir", str(data_dir)]
    cli_logs: list[str] = []
    found: dict[str, list[bytes]] = {"KEK": _forms(kek)}
    refusals: list[bytes] = []  # bodies of refused requests: error messages must not leak

    with running_server(data_dir, "--plain-http", env=env) as server:
        made = kms(
            "identity", "create", "--name", "logs", "--role", "admin", "--json", *common, env=env
        )
        cli_logs.append(made.stderr)
        identity: dict[str, Any] = json.loads(made.stdout)
        found["client secret"] = [identity["clientSecret"].encode()]
        made = kms("eab", "create", "--json", *common, env=env)
        cli_logs.append(made.stderr)
        cli_eab: dict[str, Any] = json.loads(made.stdout)
        found["CLI EAB HMAC key"] = _forms(_b64url_raw(cli_eab["hmacKey"]))

        with httpx.Client(base_url=server.base_url, timeout=30) as http:
            wrong = "wrong-" + secrets.token_urlsafe(24)
            refused = http.post(
                LOGIN, json={"clientId": identity["clientId"], "clientSecret": wrong}
            )
            assert refused.status_code == 401, refused.text
            refusals.append(refused.content)
            found["wrong client secret"] = [wrong.encode()]
            login = http.post(
                LOGIN,
                json={"clientId": identity["clientId"], "clientSecret": identity["clientSecret"]},
            )
            assert login.status_code == 200, login.text
            token = login.json()["accessToken"]
            found["access token"] = [token.encode()]
            http.headers["Authorization"] = f"Bearer {token}"

            profile = next(p for p in http.get(PROFILES).json()["profiles"] if p["isDefault"])
            response = http.post(f"{PROFILES}/{profile['id']}/eab-credentials", json={})
            assert response.status_code in (200, 201), response.text
            rest_eab = response.json()
            found["REST EAB HMAC key"] = _forms(_b64url_raw(rest_eab["hmacKey"]))

            response = http.post(
                CERTS,
                json={
                    "profileId": profile["id"],
                    "attributes": {"commonName": "managed.example.com", "keyAlgorithm": "RSA_2048"},
                },
            )
            assert response.status_code == 200, response.text
            private_key = response.json()["certificate"]["privateKey"]
            assert "PRIVATE KEY" in private_key
            found["managed private key"] = _pem_body_lines(private_key)

        with httpx.Client(timeout=30) as acme_http:
            directory = f"{server.base_url}/acme/{profile['slug']}/directory"
            chain, account_url = _acme_issue(
                acme_http, directory, rest_eab["kid"], rest_eab["hmacKey"], responder, dns, refusals
            )
            assert "BEGIN CERTIFICATE" in chain
        time.sleep(0.5)  # let the last lines reach the log file

    server_log = server.log_path.read_bytes()
    assert b'"level":"debug"' in server_log  # DEBUG logging was on: there is a lot to search
    assert b"/api/v1/auth/universal-auth/login" in server_log  # requests were logged
    # The search finds what is there: the account id is logged with the issuance.
    assert account_url.rsplit("/", 1)[-1].encode() in server_log
    everything = server_log + "\n".join(cli_logs).encode() + b"\n".join(refusals)
    leaks = [
        f"{what}: {form[:12]!r}..."
        for what, forms in found.items()
        for form in forms
        if len(form) >= 8 and form in everything
    ]
    assert leaks == [], "secrets found in logs or error messages:\n" + "\n".join(leaks)
