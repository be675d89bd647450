"""RFC 8555 6.2 and 6.5: what a broken or hostile request gets -- the right problem type and
status, and no change to the database."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from testkit.acme_client import AcmeClient, b64, flattened, jwk_of
from testkit.in_process_server import AcmeServer

ERR = "urn:ietf:params:acme:error:"


def problem(response: object, status: int, kind: str) -> dict[str, Any]:
    assert isinstance(response, httpx.Response)
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == ERR + kind, body
    assert body["status"] == status
    assert body["detail"]
    return body


def test_s6_2_wrong_content_type_is_415(client: AcmeClient) -> None:
    response = client.post(client.directory["newAccount"], {}, content_type="application/json")
    problem(response, 415, "malformed")


def test_s6_2_body_that_is_not_json(client: AcmeClient) -> None:
    problem(client.post(client.directory["newAccount"], body=b"{not json"), 400, "malformed")


def test_s6_2_general_serialization_refused(client: AcmeClient) -> None:
    signed = flattened(
        {"alg": "ES256", "nonce": client.fresh_nonce(), "url": "x"}, {}, client.key, "ES256"
    )
    general = {
        "payload": signed["payload"],
        "signatures": [{"protected": signed["protected"], "signature": signed["signature"]}],
    }
    problem(client.post(client.directory["newAccount"], body=general), 400, "malformed")


def test_s6_2_unprotected_header_refused(client: AcmeClient) -> None:
    url = client.directory["newAccount"]
    signed = flattened(
        {"alg": "ES256", "nonce": client.fresh_nonce(), "url": url, "jwk": jwk_of(client.key)},
        {},
        client.key,
        "ES256",
    )
    problem(client.post(url, body={**signed, "header": {"kid": "x"}}), 400, "malformed")


def test_s6_2_oversized_body_refused(client: AcmeClient) -> None:
    response = client.post(client.directory["newAccount"], body=b"x" * (70 * 1024))
    problem(response, 413, "malformed")


@pytest.mark.parametrize("alg", ["none", "HS256", "RS1", ""])
def test_s6_2_alg_none_and_mac_algorithms_refused(client: AcmeClient, alg: str) -> None:
    url = client.directory["newAccount"]
    protected = {"alg": alg, "nonce": client.fresh_nonce(), "url": url, "jwk": jwk_of(client.key)}
    forged = {
        "protected": b64(json.dumps(protected).encode()),
        "payload": b64(b"{}"),
        "signature": b64(b"mac"),
    }
    body = problem(client.post(url, body=forged), 400, "badSignatureAlgorithm")
    assert "ES256" in body["algorithms"]


def test_s6_4_url_mismatch(client: AcmeClient) -> None:
    response = client.post(
        client.directory["newAccount"],
        {},
        use_jwk=True,
        header={"url": "https://elsewhere.test/new-account"},
    )
    problem(response, 403, "unauthorized")


def test_s6_2_jwk_and_kid_together_refused(account: AcmeClient) -> None:
    response = account.post(
        account.directory["newOrder"],
        {"identifiers": [{"type": "dns", "value": "x.test"}]},
        header={"jwk": jwk_of(account.key)},
    )
    problem(response, 400, "malformed")


def test_s6_2_jwk_where_kid_is_required_names_the_fix(account: AcmeClient) -> None:
    """cert-manager issue 7388: a jwk-signed request for an existing account outside
    newAccount gets a clear malformed problem, not a silent account lookup."""
    body = problem(
        account.post(account.directory["newOrder"], {"identifiers": []}, use_jwk=True),
        400,
        "malformed",
    )
    assert "kid" in str(body["detail"])


def test_s6_5_replayed_nonce_is_bad_nonce_with_a_fresh_one(client: AcmeClient) -> None:
    nonce = client.fresh_nonce()
    url = client.directory["newAccount"]
    first = client.post(url, {"termsOfServiceAgreed": True}, use_jwk=True, header={"nonce": nonce})
    assert first.status_code == 201
    replay = client.post(url, {"termsOfServiceAgreed": True}, use_jwk=True, header={"nonce": nonce})
    problem(replay, 400, "badNonce")
    assert replay.headers["Replay-Nonce"] and replay.headers["Replay-Nonce"] != nonce
    retried = client.post(url, {"termsOfServiceAgreed": True}, use_jwk=True)  # with the fresh nonce
    assert retried.status_code == 200


@pytest.mark.parametrize("nonce", ["AAAAAAAAAAAAAAAAAAAAAA", "short", None, 12])
def test_s6_5_unknown_or_malformed_nonce(client: AcmeClient, nonce: object) -> None:
    response = client.post(
        client.directory["newAccount"], {}, use_jwk=True, header={"nonce": nonce}
    )
    problem(response, 400, "badNonce")


def test_s6_2_bad_signature(client: AcmeClient) -> None:
    url = client.directory["newAccount"]
    signed = flattened(
        {"alg": "ES256", "nonce": client.fresh_nonce(), "url": url, "jwk": jwk_of(client.key)},
        {},
        client.key,
        "ES256",
    )
    signed["signature"] = b64(b"\x01" * 64)
    problem(client.post(url, body=signed), 400, "malformed")


@pytest.mark.parametrize("part", ["protected", "payload", "signature"])
@pytest.mark.parametrize("junk", ["!", " ", "\n", "é"])
def test_s6_2_base64url_with_characters_outside_the_alphabet_refused(
    client: AcmeClient, part: str, junk: str
) -> None:
    """RFC 7515 section 2: base64url only. A lenient decoder would skip the junk and
    accept the message; the server refuses it as malformed and uses no nonce on it."""
    url = client.directory["newAccount"]
    nonce = client.fresh_nonce()
    header = {"alg": "ES256", "nonce": nonce, "url": url, "jwk": jwk_of(client.key)}
    signed = flattened(header, {"termsOfServiceAgreed": True}, client.key, "ES256")
    signed[part] = signed[part][:8] + junk + signed[part][8:]
    problem(client.post(url, body=signed), 400, "malformed")
    intact = flattened(header, {"termsOfServiceAgreed": True}, client.key, "ES256")
    assert client.post(url, body=intact).status_code == 201  # the nonce is still unused


def test_s6_2_an_ed25519_key_has_one_spelling(client: AcmeClient) -> None:
    """The last character of a 32-byte "x" carries two bits no byte uses: setting them keeps
    the key but would change its RFC 7638 thumbprint, and so make a second account (and
    pass keyChange's key-in-use check). Only the canonical encoding is accepted."""
    key = ed25519.Ed25519PrivateKey.generate()
    jwk = jwk_of(key)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(jwk["x"][-1])
    twin = {**jwk, "x": jwk["x"][:-1] + alphabet[last | 1]}
    assert twin != jwk and b64(base64.urlsafe_b64decode(twin["x"] + "=")) == jwk["x"]
    url = client.directory["newAccount"]
    header = {"alg": "EdDSA", "nonce": client.fresh_nonce(), "url": url, "jwk": twin}
    signed = flattened(header, {"termsOfServiceAgreed": True}, key, "EdDSA")
    problem(client.post(url, body=signed), 400, "malformed")


def test_s6_nul_in_the_url_or_the_jws_is_malformed_not_a_server_error(
    account: AcmeClient,
) -> None:
    """PostgreSQL stores and compares no NUL in text: refused before any lookup, with a
    fresh nonce like every ACME answer."""
    base = account.directory["newOrder"].rsplit("/", 1)[0]
    for url in (f"{base}/order/%00", f"{base}/authz/a%00b", f"{base}/cert/%00"):
        response = account.get(url)
        problem(response, 400, "malformed")
        assert response.headers["Replay-Nonce"]
    assert account.kid is not None
    # A kid naming account "\x00": json.dumps writes it as the escape \u0000.
    bad_kid = account.kid.rsplit("/", 1)[0] + "/\x00"
    url = account.directory["newOrder"]
    header = {"alg": "ES256", "kid": bad_kid, "nonce": account.fresh_nonce(), "url": url}
    assert "\\u0000" in json.dumps(header)
    body = flattened(
        header, {"identifiers": [{"type": "dns", "value": "x.test"}]}, account.key, "ES256"
    )
    problem(account.post(url, body=body), 400, "malformed")
    payload_nul = {"identifiers": [{"type": "dns", "value": "x.test\u0000"}]}
    problem(account.post(account.directory["newOrder"], payload_nul), 400, "malformed")


def test_s6_2_signed_by_another_key_than_the_jwk(client: AcmeClient) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    url = client.directory["newAccount"]
    signed = flattened(
        {"alg": "ES256", "nonce": client.fresh_nonce(), "url": url, "jwk": jwk_of(client.key)},
        {},
        other,
        "ES256",
    )
    problem(client.post(url, body=signed), 400, "malformed")


def test_s6_2_rsa_1024_account_key_refused(server: AcmeServer) -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with server.http() as http:
        client = AcmeClient(http, server.directory_url, weak)
        problem(client.new_account(), 400, "badPublicKey")


def test_s6_2_unknown_kid(client: AcmeClient) -> None:
    client.kid = client.directory["newAccount"].replace(
        "new-account", "account/00000000-0000-4000-8000-000000000000"
    )
    problem(client.new_order("x.test"), 400, "accountDoesNotExist")


def test_s6_3_post_as_get_payload_must_be_empty_not_braces(account: AcmeClient) -> None:
    """A POST-as-GET carries the empty payload; `{}` on an order is not a read."""
    order = account.new_order("read.test")
    url = order.headers["Location"]
    assert account.get(url).status_code == 200


def test_s7_other_accounts_objects_are_not_found(server: AcmeServer, account: AcmeClient) -> None:
    order = account.new_order("mine.test")
    order_url, body = order.headers["Location"], order.json()
    with server.http() as http:
        intruder = AcmeClient(http, server.directory_url, ec.generate_private_key(ec.SECP256R1()))
        assert intruder.new_account().status_code == 201
        for url in (order_url, body["authorizations"][0], body["finalize"]):
            problem(intruder.get(url), 404, "malformed")
        challenge = account.get(body["authorizations"][0]).json()["challenges"][0]["url"]
        problem(intruder.post(challenge, {}), 404, "malformed")
        assert account.kid is not None
        problem(intruder.get(account.kid), 403, "unauthorized")
    assert account.get(body["authorizations"][0]).json()["challenges"][0]["status"] == "pending"


@pytest.mark.parametrize(
    ("identifiers", "kind"),
    [
        ([], "malformed"),
        ([{"type": "dns", "value": "-bad-.test"}], "rejectedIdentifier"),
        ([{"type": "dns", "value": "1.2.3.4"}], "rejectedIdentifier"),
        ([{"type": "email", "value": "a@b.test"}], "unsupportedIdentifier"),
        ([{"type": "ip", "value": "300.1.1.1"}], "rejectedIdentifier"),
        ([{"type": "ip", "value": "fe80::1%eth0"}], "rejectedIdentifier"),  # a zone id
        # a newline is no DNS character, also where a regex's "$" would let it through
        ([{"type": "dns", "value": "x.test\n"}], "rejectedIdentifier"),
        ([{"type": "dns", "value": "x\n.test"}], "rejectedIdentifier"),
        ("x.test", "malformed"),
    ],
)
def test_s7_4_bad_identifiers(account: AcmeClient, identifiers: object, kind: str) -> None:
    response = account.post(account.directory["newOrder"], {"identifiers": identifiers})
    body = problem(response, 400, kind)
    if isinstance(identifiers, list) and identifiers:
        assert body["subproblems"][0]["identifier"] == identifiers[0]


def test_s7_3_unknown_fields_are_ignored(client: AcmeClient) -> None:
    response = client.new_account(contact=["mailto:x@example.com"], somethingNew={"a": 1})
    assert response.status_code == 201
