"""RFC 8555 7.3.5 keyChange and 7.6 revokeCert."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from testkit.acme_client import AcmeClient, b64, flattened, jwk_of
from testkit.flows import authorize, issue, make_csr, poll
from testkit.in_process_server import AcmeServer
from tests.acme.test_bad_input import problem


def _inner(
    client: AcmeClient,
    new_key: ec.EllipticCurvePrivateKey,
    *,
    old_jwk: object = None,
    url: str | None = None,
) -> dict[str, str]:
    target = url or client.directory["keyChange"]
    protected = {"alg": "ES256", "jwk": jwk_of(new_key), "url": target}
    payload = {
        "account": client.kid,
        "oldKey": old_jwk if old_jwk is not None else jwk_of(client.key),
    }
    return flattened(protected, payload, new_key, "ES256")


def test_s7_3_5_key_change_then_the_new_key_signs(account: AcmeClient) -> None:
    new_key = ec.generate_private_key(ec.SECP256R1())
    response = account.post(account.directory["keyChange"], _inner(account, new_key))
    assert response.status_code == 200, response.text
    old_key, account.key = account.key, new_key
    assert account.get(str(account.kid)).status_code == 200
    assert (
        account.post(
            account.directory["newAccount"], {"onlyReturnExisting": True}, use_jwk=True
        ).headers["Location"]
        == account.kid
    )
    account.key = old_key
    problem(account.get(str(account.kid)), 400, "malformed")  # the old key no longer verifies


def test_s7_3_5_key_in_use_is_409_with_its_account(server: AcmeServer, account: AcmeClient) -> None:
    with server.http() as http:
        other = AcmeClient(http, server.directory_url, ec.generate_private_key(ec.SECP256R1()))
        assert other.new_account().status_code == 201
        assert isinstance(other.key, ec.EllipticCurvePrivateKey)
        response = account.post(account.directory["keyChange"], _inner(account, other.key))
    assert response.status_code == 409
    assert response.headers["Location"] == other.kid


def test_s7_3_5_inner_checks(account: AcmeClient) -> None:
    new_key = ec.generate_private_key(ec.SECP256R1())
    url = account.directory["keyChange"]
    problem(
        account.post(url, _inner(account, new_key, url="https://other.test/key-change")),
        400,
        "malformed",
    )
    problem(
        account.post(url, _inner(account, new_key, old_jwk=jwk_of(new_key))), 403, "unauthorized"
    )
    with_nonce = flattened(
        {"alg": "ES256", "jwk": jwk_of(new_key), "url": url, "nonce": "x"},
        {"account": account.kid, "oldKey": jwk_of(account.key)},
        new_key,
        "ES256",
    )
    problem(account.post(url, with_nonce), 400, "malformed")


@pytest.mark.parametrize(
    "make_key",
    [
        lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
        lambda: ec.generate_private_key(ec.SECP384R1()),
        lambda: ed25519.Ed25519PrivateKey.generate(),
    ],
    ids=["RS256", "ES384", "EdDSA"],
)
def test_s6_2_account_key_algorithms(server: AcmeServer, make_key: object) -> None:
    with server.http() as http:
        client = AcmeClient(http, server.directory_url, make_key())  # type: ignore[operator]
        assert client.new_account().status_code == 201
        assert client.get(str(client.kid)).json()["status"] == "valid"


def _der(pem: str) -> str:
    return b64(x509.load_pem_x509_certificates(pem.encode())[0].public_bytes(Encoding.DER))


def test_s7_6_revoke_by_the_ordering_account_lands_on_the_crl(
    server: AcmeServer, account: AcmeClient, tmp_path: Path
) -> None:
    _, pem = issue(server, account, "revoke-me.test")
    response = account.post(
        account.directory["revokeCert"], {"certificate": _der(pem), "reason": 1}
    )
    assert response.status_code == 200, response.text
    problem(
        account.post(account.directory["revokeCert"], {"certificate": _der(pem)}),
        400,
        "alreadyRevoked",
    )
    leaf = x509.load_pem_x509_certificates(pem.encode())[0]
    cdp = leaf.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    names = cdp[0].full_name
    assert names is not None
    with server.http() as http:
        crl = x509.load_der_x509_crl(http.get(str(names[0].value)).content)
    entry = crl.get_revoked_certificate_by_serial_number(leaf.serial_number)
    assert entry is not None
    assert (
        entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
        == x509.ReasonFlags.key_compromise
    )
    crl_file = tmp_path / "crl.der"
    crl_file.write_bytes(crl.public_bytes(Encoding.DER))
    text = subprocess.run(
        ["openssl", "crl", "-inform", "DER", "-in", str(crl_file), "-noout", "-text"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Key Compromise" in text


def test_s7_6_revoke_with_the_certificate_key(server: AcmeServer, account: AcmeClient) -> None:
    cert_key = ec.generate_private_key(ec.SECP256R1())
    response = account.new_order("by-key.test")
    order_url, order = response.headers["Location"], response.json()
    authorize(server, account, order)
    poll(account, order_url, ("ready",))
    account.post(order["finalize"], {"csr": b64(make_csr("by-key.test", key=cert_key))})
    pem = account.get(poll(account, order_url, ("valid",))["certificate"]).text
    with server.http() as http:
        holder = AcmeClient(http, server.directory_url, cert_key)
        revoked = holder.post(
            holder.directory["revokeCert"], {"certificate": _der(pem)}, use_jwk=True
        )
    assert revoked.status_code == 200, revoked.text


def test_s7_6_strangers_cannot_revoke(server: AcmeServer, account: AcmeClient) -> None:
    _, pem = issue(server, account, "not-yours.test")
    with server.http() as http:
        stranger = AcmeClient(http, server.directory_url, ec.generate_private_key(ec.SECP256R1()))
        assert stranger.new_account().status_code == 201
        problem(
            stranger.post(stranger.directory["revokeCert"], {"certificate": _der(pem)}),
            403,
            "unauthorized",
        )
        problem(
            stranger.post(
                stranger.directory["revokeCert"], {"certificate": _der(pem)}, use_jwk=True
            ),
            403,
            "unauthorized",
        )


def test_s7_6_account_with_authorizations_for_every_name_may_revoke(
    server: AcmeServer, account: AcmeClient
) -> None:
    _, pem = issue(server, account, "shared.test")
    with server.http() as http:
        other = AcmeClient(http, server.directory_url, ec.generate_private_key(ec.SECP256R1()))
        assert other.new_account().status_code == 201
        issue(server, other, "shared.test")  # now holds a valid authorization for the name
        response = other.post(
            other.directory["revokeCert"], {"certificate": _der(pem), "reason": 4}
        )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("reason", [2, 7, 8, 11, "1", True, False, 1.0])
def test_s7_6_reason_codes_a_subscriber_may_not_use(
    server: AcmeServer, account: AcmeClient, reason: object
) -> None:
    _, pem = issue(server, account, f"reason-{reason}.test")
    problem(
        account.post(account.directory["revokeCert"], {"certificate": _der(pem), "reason": reason}),
        400,
        "badRevocationReason",
    )
