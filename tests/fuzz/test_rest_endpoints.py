"""POST /api/v1/cert-manager/certificates under random bodies and mutated CSRs: every answer
is a 4xx JSON error, never a 500, and no table changes."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given
from hypothesis import strategies as st

from ca_core.csr import load_csr
from ca_core.errors import CAError
from tests.fuzz.strategies import JSON, KEYED_JSON, examples, mutated
from tests.fuzz.world import World, fuzz_world
from tests.rest.conftest import bearer_client
from tests.rest.test_certificates_support import CERTS


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with fuzz_world(tmp_path_factory.mktemp("fuzz-rest") / "data") as made:
        yield made


@pytest.fixture(scope="module")
def http(world: World) -> Iterator[httpx.Client]:
    with bearer_client(world.server, role="admin") as client:
        yield client


def _pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "f.example.com")]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("f.example.com")]), False)
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
    )


EC_PEM = _pem(ec.generate_private_key(ec.SECP256R1()))
RSA_PEM = _pem(rsa.generate_private_key(65537, 2048))


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _armored(der: bytes) -> str:
    body = base64.encodebytes(der).decode()
    return f"-----BEGIN CERTIFICATE REQUEST-----\n{body}-----END CERTIFICATE REQUEST-----\n"


def _still_a_valid_csr(text: object) -> bool:
    """PEM readers skip text around the armor and whitespace inside it: such a mutation is
    still the valid request, which the server rightly issues. Those are not hostile input
    (the server's own reader decides; tests/fuzz/test_parsers.py fuzzes that reader)."""
    if not isinstance(text, str):
        return False
    try:
        load_csr(text)
    except CAError:
        return False
    return True


def _der(pem: bytes) -> bytes:
    return x509.load_pem_x509_csr(pem).public_bytes(serialization.Encoding.DER)


CSR_FIELD = (
    st.builds(_armored, mutated(_der(EC_PEM)) | mutated(_der(RSA_PEM)))
    | st.builds(_text, mutated(EC_PEM) | mutated(RSA_PEM))
    | st.builds(lambda t: t.replace("\n", "\\n"), st.builds(_text, mutated(EC_PEM)))
    | st.text(max_size=100)
    | JSON
).filter(lambda csr: not _still_a_valid_csr(csr))
BODIES = (
    KEYED_JSON
    | st.fixed_dictionaries(
        {"profileId": st.just("default"), "csr": CSR_FIELD},
        optional={"metadata": KEYED_JSON, "attributes": KEYED_JSON},
    )
    | st.fixed_dictionaries(  # a profile that does not exist: the body is parsed first
        {"profileId": st.text(max_size=12).map(lambda t: "no-such-" + t), "attributes": KEYED_JSON}
    )
)


def _assert_json_error(response: httpx.Response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.headers["Content-Type"].startswith("application/json"), response.text
    body: dict[str, Any] = response.json()
    assert isinstance(body.get("message"), str) and body["message"], body


def test_rest_enrollment_bodies(world: World, http: httpx.Client) -> None:
    @examples(250)
    @given(BODIES)
    def check(body: Any) -> None:
        before = world.counts()
        content = json.dumps(body).encode()  # NaN and Infinity too, which JSON does not have
        response = http.post(CERTS, content=content, headers={"Content-Type": "application/json"})
        _assert_json_error(response)
        assert world.counts() == before

    check()


def test_rest_enrollment_raw_bytes(world: World, http: httpx.Client) -> None:
    raw = st.binary(max_size=200) | mutated(
        json.dumps({"profileId": "default", "csr": "x"}).encode()
    )

    @examples(150)
    @given(raw)
    def check(body: bytes) -> None:
        before = world.counts()
        response = http.post(CERTS, content=body, headers={"Content-Type": "application/json"})
        _assert_json_error(response)
        assert world.counts() == before

    check()
