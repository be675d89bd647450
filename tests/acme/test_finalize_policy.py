"""RFC 8555 7.4: newOrder refuses what the profile's policy forbids; finalize checks the CSR."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from testkit.acme_client import AcmeClient, b64
from testkit.flows import authorize, make_csr, poll
from testkit.in_process_server import AcmeServer
from tests.acme.test_bad_input import problem


@pytest.fixture
def strict(server: AcmeServer) -> Iterator[AcmeClient]:
    with server.http() as http:
        client = AcmeClient(
            http, server.profile_directory("strict"), ec.generate_private_key(ec.SECP256R1())
        )
        assert client.new_account().status_code == 201
        yield client


def test_s7_4_new_order_rejects_identifiers_the_policy_forbids(strict: AcmeClient) -> None:
    response = strict.new_order("www.allowed.test", "bad.allowed.test", "other.test")
    body = problem(response, 400, "rejectedIdentifier")
    subs = {s["identifier"]["value"]: s for s in body["subproblems"]}
    assert set(subs) == {"bad.allowed.test", "other.test"}
    assert subs["other.test"]["detail"].startswith("DNS SAN is not allowed by template policy")


def test_s7_4_ip_identifier_refused_by_policy(strict: AcmeClient) -> None:
    body = problem(strict.new_order("127.0.0.1"), 400, "rejectedIdentifier")
    assert "IP SAN is not allowed by template policy" in str(body["detail"])


def test_s7_4_not_after_beyond_the_policy_ttl_is_refused(strict: AcmeClient) -> None:
    now = datetime.now(UTC)
    late = (now + timedelta(days=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = problem(strict.new_order("a.allowed.test", notAfter=late), 400, "malformed")
    assert "TTL exceeds the maximum allowed by the policy" in str(body["detail"])


def test_s7_4_not_before_and_not_after_are_honoured(
    server: AcmeServer, account: AcmeClient
) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    end = start + timedelta(days=10)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    response = account.new_order(
        "window.test", notBefore=start.strftime(fmt), notAfter=end.strftime(fmt)
    )
    assert response.status_code == 201
    order_url, order = response.headers["Location"], response.json()
    assert order["notBefore"] == start.strftime(fmt)
    authorize(server, account, order)
    poll(account, order_url, ("ready",))
    account.post(order["finalize"], {"csr": b64(make_csr("window.test"))})
    done = poll(account, order_url, ("valid",))
    leaf = x509.load_pem_x509_certificates(account.get(done["certificate"]).text.encode())[0]
    assert leaf.not_valid_before_utc == start
    assert leaf.not_valid_after_utc == end


def _issued_leaf(
    server: AcmeServer, account: AcmeClient, name: str, **window: str
) -> tuple[x509.Certificate, datetime, datetime]:
    response = account.new_order(name, **window)
    assert response.status_code == 201, response.text
    order_url, order = response.headers["Location"], response.json()
    authorize(server, account, order)
    poll(account, order_url, ("ready",))
    before = datetime.now(UTC)
    account.post(order["finalize"], {"csr": b64(make_csr(name))})
    done = poll(account, order_url, ("valid",))
    after = datetime.now(UTC)
    pem = account.get(done["certificate"]).text.encode()
    return x509.load_pem_x509_certificates(pem)[0], before, after


def test_only_not_after_is_honoured_exactly(server: AcmeServer, account: AcmeClient) -> None:
    end = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    leaf, before, after = _issued_leaf(
        server, account, "end.test", notAfter=end.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    assert leaf.not_valid_after_utc == end
    second = timedelta(seconds=1)
    assert before - timedelta(minutes=1) - second <= leaf.not_valid_before_utc
    assert leaf.not_valid_before_utc <= after - timedelta(minutes=1)


def test_the_profile_ttl_counts_from_issuance(server: AcmeServer, account: AcmeClient) -> None:
    """The default profile's 90d from the moment of issuance; notBefore a minute earlier."""
    leaf, before, after = _issued_leaf(server, account, "ttl.test")
    ttl, second = timedelta(days=90), timedelta(seconds=1)
    assert before + ttl - second <= leaf.not_valid_after_utc <= after + ttl
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc == ttl + timedelta(minutes=1)


def _ready_order(
    server: AcmeServer, client: AcmeClient, *names: str
) -> tuple[str, dict[str, object]]:
    response = client.new_order(*names)
    order_url, order = response.headers["Location"], response.json()
    authorize(server, client, order)
    return order_url, poll(client, order_url, ("ready",))


@pytest.mark.parametrize(
    ("csr_names", "detail"),
    [
        (("csr.test", "extra.test"), "not in the order: extra.test"),
        ((), "missing csr.test"),
    ],
)
def test_s7_4_csr_names_must_equal_the_order(
    server: AcmeServer, account: AcmeClient, csr_names: tuple[str, ...], detail: str
) -> None:
    order_url, order = _ready_order(server, account, "csr.test")
    csr = make_csr(*(csr_names or ("nothing-matching.test",)))
    body = problem(account.post(str(order["finalize"]), {"csr": b64(csr)}), 400, "badCSR")
    assert detail in str(body["detail"])
    assert account.get(order_url).json()["status"] == "ready"  # nothing changed; fix and retry


def test_s7_4_garbage_and_unsigned_csrs(server: AcmeServer, account: AcmeClient) -> None:
    _, order = _ready_order(server, account, "garbage.test")
    finalize = str(order["finalize"])
    problem(account.post(finalize, {"csr": b64(b"not a csr")}), 400, "badCSR")
    problem(account.post(finalize, {"csr": "***"}), 400, "badCSR")
    tampered = bytearray(make_csr("garbage.test"))
    tampered[-5] ^= 0xFF  # inside the signature
    problem(account.post(finalize, {"csr": b64(bytes(tampered))}), 400, "badCSR")
    problem(account.post(finalize, {}), 400, "malformed")


def test_s7_4_csr_with_the_account_key_is_refused(server: AcmeServer, account: AcmeClient) -> None:
    _, order = _ready_order(server, account, "samekey.test")
    assert isinstance(account.key, ec.EllipticCurvePrivateKey)
    csr = make_csr("samekey.test", key=account.key)
    body = problem(account.post(str(order["finalize"]), {"csr": b64(csr)}), 400, "badCSR")
    assert "account key" in str(body["detail"])


def test_s7_4_weak_csr_key_is_bad_public_key(server: AcmeServer, account: AcmeClient) -> None:
    _, order = _ready_order(server, account, "weak.test")
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("weak.test")]), critical=False)
        .sign(weak, hashes.SHA256())
        .public_bytes(serialization.Encoding.DER)
    )
    problem(account.post(str(order["finalize"]), {"csr": b64(csr)}), 400, "badPublicKey")


def test_s7_4_finalize_applies_the_whole_policy_to_the_csr(
    server: AcmeServer, strict: AcmeClient
) -> None:
    """The strict profile allows EC keys only: an RSA CSR gets badCSR with the policy's text."""
    response = strict.new_order("www.allowed.test")
    order_url, order = response.headers["Location"], response.json()
    authorize(server, strict, order)
    poll(strict, order_url, ("ready",))
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([]))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("www.allowed.test")]), critical=False
        )
        .sign(rsa_key, hashes.SHA256())
        .public_bytes(serialization.Encoding.DER)
    )
    body = problem(strict.post(order["finalize"], {"csr": b64(csr)}), 400, "badCSR")
    assert "Key algorithm is not allowed by template policy" in str(body["detail"])
    ok = strict.post(order["finalize"], {"csr": b64(make_csr("www.allowed.test"))})
    assert ok.status_code == 200, ok.text
    assert poll(strict, order_url, ("valid",))["status"] == "valid"
