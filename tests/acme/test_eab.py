"""RFC 8555 7.3.4 External Account Binding against a profile that requires it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from testkit.acme_client import AcmeClient, eab_binding, jwk_of
from testkit.in_process_server import AcmeServer
from tests.acme.test_bad_input import problem


@pytest.fixture
def eab_client(server: AcmeServer) -> Iterator[AcmeClient]:
    with server.http() as http:
        yield AcmeClient(
            http, server.profile_directory("eab"), ec.generate_private_key(ec.SECP256R1())
        )


def _register(client: AcmeClient, kid: str, hmac_key: str, **override: object) -> object:
    url = client.directory["newAccount"]
    binding = eab_binding(kid, hmac_key, client.key, url)
    binding.update({k: v for k, v in override.items() if isinstance(v, str)})
    return client.new_account(externalAccountBinding=binding)


def test_s7_1_1_directory_says_eab_is_required(eab_client: AcmeClient) -> None:
    assert eab_client.directory["meta"]["externalAccountRequired"] is True


def test_s7_3_4_account_without_binding_is_refused(eab_client: AcmeClient) -> None:
    problem(eab_client.new_account(), 403, "externalAccountRequired")


def test_s7_3_4_binding_creates_the_account_and_is_single_use(
    server: AcmeServer, eab_client: AcmeClient
) -> None:
    kid, hmac_key = server.eab_credential()
    created = _register(eab_client, kid, hmac_key)
    assert getattr(created, "status_code", None) == 201
    again = _register(eab_client, kid, hmac_key)  # the same key again: the existing account
    assert getattr(again, "status_code", None) == 200
    with server.http() as http:
        other = AcmeClient(
            http, server.profile_directory("eab"), ec.generate_private_key(ec.SECP256R1())
        )
        problem(_register(other, kid, hmac_key), 403, "unauthorized")


def test_s7_3_4_reusable_credential_binds_many_accounts(server: AcmeServer) -> None:
    kid, hmac_key = server.eab_credential(reusable=True)
    with server.http() as http:
        for _ in range(3):
            client = AcmeClient(
                http, server.profile_directory("eab"), ec.generate_private_key(ec.SECP256R1())
            )
            assert getattr(_register(client, kid, hmac_key), "status_code", None) == 201


def test_s7_3_4_wrong_mac(server: AcmeServer, eab_client: AcmeClient) -> None:
    kid, _ = server.eab_credential()
    _, other_key = server.eab_credential()
    problem(_register(eab_client, kid, other_key), 403, "unauthorized")


def test_s7_3_4_unknown_kid(server: AcmeServer, eab_client: AcmeClient) -> None:
    _, hmac_key = server.eab_credential()
    problem(_register(eab_client, "kid-nope", hmac_key), 403, "unauthorized")


def test_s7_3_4_kid_of_another_profile(server: AcmeServer, eab_client: AcmeClient) -> None:
    kid, hmac_key = server.eab_credential(profile="default")
    problem(_register(eab_client, kid, hmac_key), 403, "unauthorized")


def test_s7_3_4_payload_must_be_the_outer_key(server: AcmeServer, eab_client: AcmeClient) -> None:
    kid, hmac_key = server.eab_credential()
    other = ec.generate_private_key(ec.SECP256R1())
    binding = eab_binding(kid, hmac_key, other, eab_client.directory["newAccount"])
    problem(eab_client.new_account(externalAccountBinding=binding), 400, "malformed")
    # The failed attempt did not burn the single-use key:
    assert getattr(_register(eab_client, kid, hmac_key), "status_code", None) == 201


def test_s7_3_4_binding_url_must_be_new_account(server: AcmeServer, eab_client: AcmeClient) -> None:
    kid, hmac_key = server.eab_credential()
    binding = eab_binding(kid, hmac_key, eab_client.key, "https://elsewhere.test/new-account")
    problem(eab_client.new_account(externalAccountBinding=binding), 403, "unauthorized")


@pytest.mark.parametrize("alg", ["HS384", "HS512"])
def test_s7_3_4_other_hmac_algorithms(server: AcmeServer, eab_client: AcmeClient, alg: str) -> None:
    """A credential made for HS384/HS512 binds with that algorithm and no other."""
    kid, hmac_key = server.eab_credential(hmac_alg=alg)
    url = eab_client.directory["newAccount"]
    wrong = eab_binding(kid, hmac_key, eab_client.key, url, alg="HS256")
    problem(eab_client.new_account(externalAccountBinding=wrong), 403, "unauthorized")
    binding = eab_binding(kid, hmac_key, eab_client.key, url, alg=alg)
    assert eab_client.new_account(externalAccountBinding=binding).status_code == 201


def test_s7_3_1_only_return_existing_needs_no_binding(
    server: AcmeServer, eab_client: AcmeClient
) -> None:
    """cert-manager (issue 7388) looks its account up by key, without EAB: answered by key."""
    kid, hmac_key = server.eab_credential()
    created = _register(eab_client, kid, hmac_key)
    lookup = eab_client.post(
        eab_client.directory["newAccount"], {"onlyReturnExisting": True}, use_jwk=True
    )
    assert lookup.status_code == 200
    assert lookup.headers["Location"] == getattr(created, "headers", {})["Location"]
    plain = eab_client.post(
        eab_client.directory["newAccount"], {"termsOfServiceAgreed": True}, use_jwk=True
    )
    assert plain.status_code == 200  # an existing key gets its account, binding or not


def test_s7_3_4_malformed_binding(eab_client: AcmeClient) -> None:
    problem(eab_client.new_account(externalAccountBinding="nope"), 400, "malformed")
    problem(
        eab_client.new_account(
            externalAccountBinding={"protected": "!", "payload": "", "signature": ""}
        ),
        400,
        "malformed",
    )
    assert jwk_of(eab_client.key)["kty"] == "EC"
