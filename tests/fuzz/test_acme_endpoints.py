"""RFC 8555 endpoints (newAccount, newOrder, finalize, revokeCert) under random and mutated
JWS envelopes and payloads: every answer is a 4xx problem document, never a 500, and no
table changes (tests/fuzz/world.py counts every row before and after each case)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st

from testkit.acme_client import AcmeClient, b64, flattened, jwk_of
from testkit.flows import make_csr
from tests.fuzz.strategies import JSON, KEYED_JSON, examples, mutated, mutated_jws
from tests.fuzz.world import World, assert_problem, fuzz_world

ENDPOINTS = ("newAccount", "newOrder", "finalize", "revokeCert")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with fuzz_world(tmp_path_factory.mktemp("fuzz") / "data") as made:
        yield made


def _url(world: World, endpoint: str) -> str:
    if endpoint == "finalize":
        return world.finalize_url
    return str(world.account.directory[endpoint])


def _used_nonce(client: AcmeClient) -> str:
    """A nonce the server has already accepted once: a mutated request that still verifies
    is refused as badNonce, never acted upon."""
    nonce = client.fresh_nonce()
    response = client.post(client.kid or "", header={"nonce": nonce})
    assert response.status_code == 200, response.text
    return nonce


def _valid_document(world: World, endpoint: str, nonce: str) -> dict[str, str]:
    client = world.account
    url = _url(world, endpoint)
    payloads: dict[str, Any] = {
        "newAccount": {"termsOfServiceAgreed": True},
        "newOrder": {"identifiers": [{"type": "dns", "value": "new.fuzz.example.com"}]},
        "finalize": {"csr": b64(make_csr(world.order_name))},
        "revokeCert": {"certificate": b64(world.certificate_der), "reason": 4},
    }
    protected: dict[str, Any] = {"alg": "ES256", "nonce": nonce, "url": url}
    if endpoint == "newAccount":
        protected["jwk"] = jwk_of(client.key)
    else:
        protected["kid"] = client.kid
    return flattened(protected, payloads[endpoint], client.key, "ES256")


def _post_raw(world: World, url: str, body: bytes) -> Any:
    http = world.account.http
    return http.post(url, content=body, headers={"Content-Type": "application/jose+json"})


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_s6_2_random_and_mutated_envelopes(world: World, endpoint: str) -> None:
    url = _url(world, endpoint)
    document = _valid_document(world, endpoint, _used_nonce(world.account))
    bodies = (
        st.binary(max_size=200)
        | st.builds(lambda v: json.dumps(v).encode(), KEYED_JSON)
        | mutated_jws(document)
    )

    @examples(150)
    @given(bodies)
    def check(body: bytes) -> None:
        before = world.counts()
        assert_problem(_post_raw(world, url, body))
        assert world.counts() == before

    check()


def _payloads(world: World, endpoint: str) -> st.SearchStrategy[Any]:
    if endpoint == "newAccount":  # an unknown key asking only for an existing account
        not_an_object = JSON.filter(lambda v: not isinstance(v, dict))  # {} would register
        members = st.sampled_from(["contact", "termsOfServiceAgreed", "externalAccountBinding"])
        existing_only = st.builds(
            lambda d: {**d, "onlyReturnExisting": True}, st.dictionaries(members, KEYED_JSON)
        )
        return not_an_object | existing_only
    if endpoint == "newOrder":
        bad_identifier = st.fixed_dictionaries(
            {"type": JSON, "value": JSON}
        ) | st.fixed_dictionaries({"type": st.just("dns"), "value": st.text(max_size=20).map(
            lambda t: t + " !"  # never a DNS name
        )})  # fmt: skip
        return JSON | st.fixed_dictionaries(
            {"identifiers": JSON | st.lists(bad_identifier, min_size=1, max_size=3)},
            optional={"notBefore": JSON, "notAfter": JSON},
        )
    if endpoint == "finalize":
        csr = make_csr(world.order_name)
        return JSON | st.fixed_dictionaries(
            {"csr": st.builds(b64, mutated(csr)) | st.text(max_size=60) | JSON}
        )
    return JSON | st.fixed_dictionaries(
        {
            "certificate": st.builds(b64, mutated(world.certificate_der)) | JSON,
            "reason": st.integers(0, 10) | JSON,
        }
    )


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_s7_payloads_of_a_verified_jws(world: World, endpoint: str) -> None:
    url = _url(world, endpoint)
    client = world.account

    @examples(100)
    @given(_payloads(world, endpoint))
    def check(payload: Any) -> None:
        before = world.counts()
        if endpoint == "newAccount":
            stranger = ec.generate_private_key(ec.SECP256R1())  # a key with no account
            response = client.post(url, payload, key=stranger, use_jwk=True)
        else:
            response = client.post(url, payload)
        assert_problem(response)
        assert world.counts() == before

    check()
