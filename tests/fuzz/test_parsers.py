"""The parsers at the edge, fed random and mutated input: each refuses with its own error
type (an RFC 8555 problem with a 4xx status, a CAError, an ApiError 400), never anything
else. No server here: thousands of cases in a few seconds."""

from __future__ import annotations

import json
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given
from hypothesis import strategies as st

from acme_server.acme.jwk import account_key_from_jwk
from acme_server.acme.jws import decode_payload, parse_flattened
from acme_server.acme.problems import AcmeProblem
from acme_server.rest.certificates.bodies import enroll_request
from acme_server.rest.common import ApiError
from ca_core.csr import csr_facts, load_csr
from ca_core.errors import CAError
from testkit.acme_client import flattened, jwk_of
from tests.fuzz.strategies import JSON, KEYED_JSON, examples, mutated, mutated_jws

_EC = ec.generate_private_key(ec.SECP256R1())
_RSA = rsa.generate_private_key(65537, 2048)
_JWS = flattened(
    {"alg": "ES256", "nonce": "abc", "url": "http://x/acme/new-order", "jwk": jwk_of(_EC)},
    {"identifiers": [{"type": "dns", "value": "a.example.com"}]},
    _EC,
    "ES256",
)
_CSR = (
    x509.CertificateSigningRequestBuilder()
    .subject_name(x509.Name([]))
    .add_extension(x509.SubjectAlternativeName([x509.DNSName("a.example.com")]), critical=False)
    .sign(_EC, hashes.SHA256())
)
_CSR_DER = _CSR.public_bytes(serialization.Encoding.DER)
_CSR_PEM = _CSR.public_bytes(serialization.Encoding.PEM)


def _acme_refusal(exc: AcmeProblem) -> None:
    assert 400 <= exc.status < 500, (exc.status, exc.detail)
    assert exc.detail


@examples(400)
@given(st.binary(max_size=300) | st.builds(lambda v: json.dumps(v).encode(), KEYED_JSON))
def test_flattened_jws_parser_random_bodies(body: bytes) -> None:
    try:
        jws = parse_flattened(body)
        decode_payload(jws)
    except AcmeProblem as exc:
        _acme_refusal(exc)


@examples(400)
@given(mutated_jws(_JWS))
def test_flattened_jws_parser_mutated_bodies(body: bytes) -> None:
    try:
        jws = parse_flattened(body)
        decode_payload(jws)
        if "jwk" in jws.protected:
            account_key_from_jwk(jws.protected["jwk"])
    except AcmeProblem as exc:
        _acme_refusal(exc)


def _mutated_jwk(base: dict[str, str]) -> st.SearchStrategy[Any]:
    return st.builds(
        lambda extra, drop: {k: v for k, v in {**base, **extra}.items() if k not in drop},
        st.dictionaries(st.sampled_from(["kty", "crv", "x", "y", "n", "e", "d"]), JSON, max_size=3),
        st.sets(st.sampled_from(sorted(base)), max_size=2),
    )


@examples(400)
@given(KEYED_JSON | _mutated_jwk(jwk_of(_EC)) | _mutated_jwk(jwk_of(_RSA)))
def test_account_key_parser(jwk: Any) -> None:
    try:
        account_key_from_jwk(jwk)
    except AcmeProblem as exc:
        _acme_refusal(exc)


@examples(400)
@given(mutated(_CSR_DER) | mutated(_CSR_PEM) | st.binary(max_size=200) | st.text(max_size=200))
def test_csr_parser(data: bytes | str) -> None:
    try:
        csr_facts(load_csr(data))
    except CAError as exc:
        assert str(exc)


@examples(400)
@given(st.dictionaries(st.sampled_from(["profileId", "csr", "attributes", "metadata"]), KEYED_JSON))
def test_rest_enrollment_body_parser(body: dict[str, Any]) -> None:
    try:
        enroll_request(body)
    except ApiError as exc:
        assert exc.status == 400
