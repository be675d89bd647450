"""Baseline Requirements 6.1.1.3: weak keys are refused as ACME account keys (badPublicKey on
newAccount and keyChange), in finalize CSRs (badPublicKey) and in REST CSR enrollment (400
JSON error), with the operator's blocklist loaded from the `key_blocklist_file` setting."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ca_core import goodkey
from ca_core.goodkey import spki_sha256
from testkit.acme_client import AcmeClient, b64, flattened
from testkit.flows import authorize, make_csr, poll
from testkit.in_process_server import AcmeServer, acme_server
from tests.acme.test_bad_input import problem
from tests.rest.conftest import bearer_client
from tests.rest.test_certificates_support import CERTS, count_certificates, count_requests
from tests.support import weak_keys

BLOCKED = ec.generate_private_key(ec.SECP256R1())
BLOCKED_RSA = rsa.generate_private_key(65537, 2048)

WEAK: dict[str, tuple[Callable[[], rsa.RSAPrivateKey], str]] = {
    "small-factor": (
        weak_keys.small_factor_key,
        "RSA key is weak: its modulus has a prime factor below 3000",
    ),
    "close-primes": (
        weak_keys.close_primes_key,
        "RSA key is weak: Fermat's method factors its modulus (its two primes are too close)",
    ),
    "roca": (
        weak_keys.roca_key,
        "RSA key is weak: it has the ROCA fingerprint (CVE-2017-15361, an Infineon RSALib "
        "key); generate a new key",
    ),
    "exponent-3": (weak_keys.exponent_3_key, "unsupported RSA public exponent 3: use 65537"),
    "blocklisted": (lambda: BLOCKED_RSA, goodkey.BLOCKLISTED),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AcmeServer]:
    """SQLite only: the checks run before any storage work."""
    root = tmp_path_factory.mktemp("weak")
    blocklist = root / "blocklist.txt"
    blocklist.write_text(
        "# keys known to be compromised\n"
        f"{spki_sha256(BLOCKED.public_key())}\n{spki_sha256(BLOCKED_RSA.public_key())}\n"
    )
    with acme_server(root / "data", key_blocklist_file=blocklist) as running:
        yield running


@pytest.fixture
def account(server: AcmeServer) -> Iterator[AcmeClient]:
    with server.http() as http:
        client = AcmeClient(http, server.directory_url, ec.generate_private_key(ec.SECP256R1()))
        assert client.new_account().status_code == 201
        yield client


def _detail(response: httpx.Response) -> str:
    return str(problem(response, 400, "badPublicKey")["detail"])


@pytest.mark.parametrize("kind", sorted(WEAK))
def test_s6_2_weak_rsa_account_key_is_bad_public_key(server: AcmeServer, kind: str) -> None:
    make, message = WEAK[kind]
    with server.http() as http:
        client = AcmeClient(http, server.directory_url, make())
        assert _detail(client.new_account()) == message


def test_s6_2_blocklisted_ec_account_key_is_bad_public_key(server: AcmeServer) -> None:
    with server.http() as http:
        client = AcmeClient(http, server.directory_url, BLOCKED)
        assert _detail(client.new_account()) == goodkey.BLOCKLISTED


def test_s6_2_off_curve_account_key_is_bad_public_key(server: AcmeServer) -> None:
    with server.http() as http:
        client = AcmeClient(http, server.directory_url, ec.generate_private_key(ec.SECP256R1()))
        url = client.directory["newAccount"]
        protected = {
            "alg": "ES256",
            "nonce": client.fresh_nonce(),
            "url": url,
            "jwk": weak_keys.off_curve_jwk(),
        }
        body = flattened(protected, {"termsOfServiceAgreed": True}, client.key, "ES256")
        response = client.post(url, body=body)
        assert _detail(response) == "EC key is invalid: its point is not on the curve"


def test_s7_3_5_key_change_to_a_weak_key_is_refused(account: AcmeClient) -> None:
    new_key = weak_keys.roca_key()
    url = account.directory["keyChange"]
    from testkit.acme_client import jwk_of

    inner = flattened(
        {"alg": "RS256", "jwk": jwk_of(new_key), "url": url},
        {"account": account.kid, "oldKey": jwk_of(account.key)},
        new_key,
        "RS256",
    )
    assert "ROCA fingerprint" in _detail(account.post(url, inner))


def _ready_order(server: AcmeServer, client: AcmeClient, name: str) -> dict[str, Any]:
    response = client.new_order(name)
    assert response.status_code == 201, response.text
    order_url = response.headers["Location"]
    authorize(server, client, response.json())
    order = poll(client, order_url, ("ready", "invalid"))
    assert order["status"] == "ready", order
    return order


@pytest.mark.parametrize("kind", sorted(WEAK))
def test_s7_4_finalize_with_a_weak_csr_key_is_bad_public_key(
    server: AcmeServer, account: AcmeClient, kind: str
) -> None:
    make, message = WEAK[kind]
    name = f"{kind}.weak.test"
    order = _ready_order(server, account, name)
    csr = weak_keys.csr_for(make(), name)
    assert _detail(account.post(order["finalize"], {"csr": b64(csr)})) == message
    good = account.post(order["finalize"], {"csr": b64(make_csr(name))})
    assert good.status_code == 200, good.text  # the order stayed ready


def test_s7_4_finalize_with_an_off_curve_csr_key_is_bad_public_key(
    server: AcmeServer, account: AcmeClient
) -> None:
    order = _ready_order(server, account, "offcurve.weak.test")
    csr = weak_keys.off_curve_csr("offcurve.weak.test")
    detail = _detail(account.post(order["finalize"], {"csr": b64(csr)}))
    assert detail == "EC key is invalid: its point is not on the curve"


def test_s7_4_finalize_with_a_blocklisted_ec_csr_key(
    server: AcmeServer, account: AcmeClient
) -> None:
    order = _ready_order(server, account, "blocked.weak.test")
    csr = make_csr("blocked.weak.test", key=BLOCKED)
    assert _detail(account.post(order["finalize"], {"csr": b64(csr)})) == goodkey.BLOCKLISTED


@pytest.mark.parametrize("kind", sorted(WEAK))
def test_rest_csr_enrollment_refuses_weak_keys(server: AcmeServer, kind: str) -> None:
    make, message = WEAK[kind]
    from cryptography import x509

    pem = (
        x509.load_der_x509_csr(weak_keys.csr_for(make(), f"{kind}.example.com"))
        .public_bytes(serialization.Encoding.PEM)
        .decode()
    )
    before = (count_certificates(server), count_requests(server))
    with bearer_client(server) as http:
        response = http.post(CERTS, json={"profileId": "default", "csr": pem})
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["message"] == message
    assert (count_certificates(server), count_requests(server)) == before


def test_blocklist_file_is_read_once_at_start(server: AcmeServer, tmp_path: Path) -> None:
    """The running server keeps the list it loaded: a key appended later is not refused."""
    path = server.settings.key_blocklist_file
    assert path is not None
    late = ec.generate_private_key(ec.SECP256R1())
    original = path.read_text()
    path.write_text(original + spki_sha256(late.public_key()) + "\n")
    try:
        with server.http() as http:
            client = AcmeClient(http, server.directory_url, late)
            assert client.new_account().status_code == 201
    finally:
        path.write_text(original)
