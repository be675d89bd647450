"""Requests an attacker would send (found in review): each gets a 4xx problem, never a 500,
and never an action it is not entitled to."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from acme_server.services.certificates.enrollment import EnrollRequest, enroll
from testkit.acme_client import AcmeClient, b64, flattened, jwk_of
from testkit.in_process_server import AcmeServer
from tests.acme.test_bad_input import problem


def test_s7_6_nobody_revokes_a_certificate_without_names_by_authorizations(
    server: AcmeServer, account: AcmeClient
) -> None:
    """A certificate with no SANs must not count as 'authorized for all its names'."""
    services = server.services()
    try:
        issued = server.loop.run(
            enroll(services, EnrollRequest(profile_ref="default", common_name="device-7"))
        )
    finally:
        server.loop.run(services.close())
    der = b64(issued.issued.certificate.public_bytes(Encoding.DER))
    problem(
        account.post(account.directory["revokeCert"], {"certificate": der}), 403, "unauthorized"
    )


def test_s7_3_1_one_account_per_key_however_the_jwk_is_padded(server: AcmeServer) -> None:
    """RFC 7638 thumbprints over the parsed key: a zero-padded exponent is the same key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with server.http() as http:
        client = AcmeClient(http, server.directory_url, key)
        first = client.new_account()
        assert first.status_code == 201
        client.kid = None
        padded = {**jwk_of(key), "e": b64(b"\x00\x01\x00\x01")}
        again = client.post(
            client.directory["newAccount"],
            {"termsOfServiceAgreed": True},
            use_jwk=True,
            header={"jwk": padded},
        )
    assert again.status_code == 200
    assert again.headers["Location"] == first.headers["Location"]


def test_s6_2_deeply_nested_json_is_malformed(client: AcmeClient) -> None:
    problem(client.post(client.directory["newAccount"], body=b"[" * 50_000), 400, "malformed")


def test_s6_2_jwk_with_non_string_members_is_malformed(client: AcmeClient) -> None:
    bad = {"kty": "EC", "crv": "P-256", "x": 1, "y": 2}
    url = client.directory["newAccount"]
    protected = {"alg": "ES256", "nonce": client.fresh_nonce(), "url": url, "jwk": bad}
    problem(client.post(url, body=flattened(protected, {}, client.key, "ES256")), 400, "malformed")


def test_s7_4_dates_out_of_range_are_malformed(account: AcmeClient) -> None:
    for field, value in (
        ("notBefore", "0001-01-01T00:00:00+01:00"),
        ("notAfter", "9999-12-31T23:59:59-01:00"),
    ):
        problem(account.new_order("range.test", **{field: value}), 400, "malformed")


def test_s7_1_2_1_unknown_orders_cursor_is_malformed(account: AcmeClient) -> None:
    assert account.kid is not None
    problem(account.get(account.kid + "/orders?cursor=bogus"), 400, "malformed")


def test_s7_6_revoking_a_serial_this_ca_never_issues_is_not_found(server: AcmeServer) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(datetime.now(UTC))
        .not_valid_after(datetime.now(UTC) + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("x.test")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    der = bytearray(cert.public_bytes(Encoding.DER))
    # Rewrite serial 1 (02 01 01) as serial 0 (02 01 00): a serial no CA issues.
    index = der.index(bytes([0x02, 0x01, 0x01]))
    der[index + 2] = 0
    with server.http() as http:
        holder = AcmeClient(http, server.directory_url, key)
        response = holder.post(
            holder.directory["revokeCert"], {"certificate": b64(bytes(der))}, use_jwk=True
        )
    problem(response, 400, "malformed")
    assert "not positive" in json.loads(response.text)["detail"]


HOSTILE_SEGMENTS = ("%13", "%7F", "%00", "%F2%BB%B1%9B", "%C3%A9", "%FF", "Default", "a%0Ab")


def test_s6_5_a_hostile_profile_segment_is_a_404_problem_with_a_nonce(server: AcmeServer) -> None:
    """The Link rel="index" is built from known slugs only (RFC 8555 7.1): a control
    character, NUL, DEL or non-Latin-1 text in the first segment once broke the header."""
    with server.http() as http:
        for segment in HOSTILE_SEGMENTS:
            for method in ("GET", "HEAD", "POST"):
                response = http.request(method, f"{server.base_url}/acme/{segment}/new-nonce")
                assert response.status_code == 404, (segment, method, response.text)
                assert response.headers["Replay-Nonce"], (segment, method)
                assert response.headers["Link"] == (
                    f'<{server.base_url}/acme/directory>;rel="index"'
                ), (segment, method)
                if method != "HEAD":
                    problem(response, 404, "malformed")


def test_s7_1_an_unknown_profile_links_to_the_default_directory(server: AcmeServer) -> None:
    with server.http() as http:
        response = http.head(f"{server.base_url}/acme/no-such-profile/new-nonce")
        known = http.head(f"{server.base_url}/acme/default/new-nonce")
    assert response.status_code == 404
    assert response.headers["Replay-Nonce"]
    assert response.headers["Link"] == f'<{server.base_url}/acme/directory>;rel="index"'
    assert known.status_code == 200
    assert known.headers["Link"] == f'<{server.base_url}/acme/default/directory>;rel="index"'


def test_public_pki_paths_are_checked_before_any_query(server: AcmeServer) -> None:
    """A NUL once reached PostgreSQL from /pki/crl/%00.crl (a 500): not a CA id, so 404."""
    with server.http() as http:
        for path in (
            "/pki/crl/%00.crl",
            "/pki/ca/%00.crt",
            "/pki/ca/%00.pem",
            "/pki/crl/%C3%A9%13.crl",
            "/pki/crl/not-a-uuid.crl",
            "/pki/ca/00000000-0000-4000-8000-000000000000.crt",
        ):
            response = http.get(f"{server.base_url}{path}")
            assert response.status_code == 404, (path, response.text)
