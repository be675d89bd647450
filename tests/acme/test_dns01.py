"""DNS-01 (RFC 8555 section 8.4), wildcards (section 7.1.3) and per-profile challenge types,
through the real server and the loopback DNS server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from acme_server.services.context import Services
from acme_server.services.profiles.settings import EnrollmentConfig
from testkit.acme_client import AcmeClient, b64
from testkit.flows import authorize, dns01_value, issue, make_csr, poll
from testkit.in_process_server import AcmeServer
from tests.acme.test_bad_input import problem


def make_profile(
    server: AcmeServer, slug: str, *, rules: dict[str, Any] | None = None, **enrollment: Any
) -> None:
    """A profile like the default one, with these EnrollmentConfig fields (and a policy of
    these rules, if given)."""

    async def create() -> None:
        services = await Services.open(server.settings, migrate=False)
        try:
            default = await services.store.get_profile_by_slug("default")
            config = EnrollmentConfig(**enrollment)
            policy_id = default.policy_id
            if rules is not None:
                policy_id = (await services.store.create_policy(name=slug, rules=rules)).id
            await services.store.create_profile(
                slug=slug,
                name=slug,
                policy_id=policy_id,
                issuer_type=default.issuer_type,
                ca_id=default.ca_id,
                enrollment=config.to_store(),
                defaults=default.defaults,
            )
        finally:
            await services.close()

    server.loop.run(create())


@pytest.fixture(scope="module")
def profiles(server: AcmeServer) -> AcmeServer:
    make_profile(server, "http-only", challenge_types=("http-01",))
    make_profile(server, "dns-only", challenge_types=("dns-01",))
    make_profile(server, "no-wildcards", rules={"allowWildcards": False})
    return server


def client_for(server: AcmeServer, slug: str) -> Iterator[AcmeClient]:
    with server.http() as http:
        client = AcmeClient(
            http, server.profile_directory(slug), ec.generate_private_key(ec.SECP256R1())
        )
        assert client.new_account().status_code == 201
        yield client


@pytest.fixture
def http_only(profiles: AcmeServer) -> Iterator[AcmeClient]:
    yield from client_for(profiles, "http-only")


@pytest.fixture
def dns_only(profiles: AcmeServer) -> Iterator[AcmeClient]:
    yield from client_for(profiles, "dns-only")


def sans_of(chain: str) -> list[str]:
    leaf = x509.load_pem_x509_certificates(chain.encode())[0]
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return sorted(san.get_values_for_type(x509.DNSName))


def authorizations(client: AcmeClient, order: dict[str, Any]) -> list[dict[str, Any]]:
    return [client.get(url).json() for url in order["authorizations"]]


def test_s8_4_dns01_issues(server: AcmeServer, account: AcmeClient) -> None:
    order, chain = issue(server, account, "txt.dns01.test", challenge_type="dns-01")
    assert sans_of(chain) == ["txt.dns01.test"]
    (authz,) = authorizations(account, order)
    assert authz["status"] == "valid"
    assert [c["type"] for c in authz["challenges"]] == ["dns-01"]  # the one validated
    assert ("_acme-challenge.txt.dns01.test", "TXT") in server.dns.queries


def test_s8_4_wrong_txt_value_is_an_incorrect_response(
    server: AcmeServer, account: AcmeClient
) -> None:
    response = account.new_order("wrong.dns01.test")
    order = response.json()
    (authz_url,) = order["authorizations"]
    authz = account.get(authz_url).json()
    challenge = next(c for c in authz["challenges"] if c["type"] == "dns-01")
    server.dns.add("_acme-challenge.wrong.dns01.test", "TXT", "not-the-digest")
    assert account.post(challenge["url"], {}).status_code == 200
    assert poll(account, authz_url, ("valid", "invalid"))["status"] == "invalid"
    error = account.get(challenge["url"]).json()["error"]
    assert error["type"] == "urn:ietf:params:acme:error:incorrectResponse"
    assert "not-the-digest" in error["detail"]


def test_s7_1_3_wildcard_offers_only_dns01_and_issues(
    server: AcmeServer, account: AcmeClient
) -> None:
    response = account.new_order("*.wild.dns01.test", "wild.dns01.test")
    assert response.status_code == 201, response.text
    order_url, order = response.headers["Location"], response.json()
    by_wildcard = {bool(a.get("wildcard")): a for a in authorizations(account, order)}
    wild, base = by_wildcard[True], by_wildcard[False]
    assert wild["identifier"] == {"type": "dns", "value": "wild.dns01.test"}
    assert [c["type"] for c in wild["challenges"]] == ["dns-01"]
    assert {c["type"] for c in base["challenges"]} == {"http-01", "dns-01", "tls-alpn-01"}
    assert "wildcard" not in base
    # Both authorizations are answered at the same name: two TXT values there at once.
    authorize(server, account, order, challenge_type="dns-01")
    values = [
        dns01_value(account, c["token"])
        for a in (wild, base)
        for c in a["challenges"]
        if c["type"] == "dns-01"
    ]
    assert len(set(values)) == 2
    order = poll(account, order_url, ("ready", "invalid"))
    assert order["status"] == "ready", order
    csr = make_csr("*.wild.dns01.test", "wild.dns01.test")
    assert account.post(order["finalize"], {"csr": b64(csr)}).status_code == 200
    order = poll(account, order_url, ("valid", "invalid"))
    chain = account.get(order["certificate"]).text
    assert sans_of(chain) == ["*.wild.dns01.test", "wild.dns01.test"]


def test_wildcard_refused_where_the_profile_disallows_dns01(http_only: AcmeClient) -> None:
    body = problem(http_only.new_order("*.nodns.test"), 400, "rejectedIdentifier")
    assert "wildcards need dns-01" in body["detail"]
    (sub,) = body["subproblems"]
    assert sub["identifier"] == {"type": "dns", "value": "*.nodns.test"}


def test_profile_challenge_types_shape_authorizations_and_directory(
    profiles: AcmeServer, http_only: AcmeClient, dns_only: AcmeClient
) -> None:
    for client, types in ((http_only, ["http-01"]), (dns_only, ["dns-01"])):
        assert client.directory["meta"]["challengeTypes"] == types
        order = client.new_order("types.dns01.test").json()
        (authz,) = authorizations(client, order)
        assert [c["type"] for c in authz["challenges"]] == types


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        # *.allowed.test covers the denied bad.allowed.test
        ("strict", "DNS SAN is not allowed by template policy: *.allowed.test"),
        ("no-wildcards", "Wildcard names are not allowed by template policy"),
    ],
)
def test_the_policy_still_checks_wildcard_names(
    profiles: AcmeServer, slug: str, message: str
) -> None:
    for client in client_for(profiles, slug):
        body = problem(client.new_order("*.allowed.test"), 400, "rejectedIdentifier")
        assert message in body["detail"]
        assert body["subproblems"][0]["identifier"] == {"type": "dns", "value": "*.allowed.test"}


def test_dns_only_profile_refuses_ip_identifiers(dns_only: AcmeClient) -> None:
    body = problem(dns_only.new_order("127.0.0.1"), 400, "rejectedIdentifier")
    assert "no challenge type" in body["subproblems"][0]["detail"]


def test_a_reused_pending_authorization_keeps_the_profile_types(profiles: AcmeServer) -> None:
    with profiles.http() as http:
        key = ec.generate_private_key(ec.SECP256R1())
        client = AcmeClient(http, profiles.profile_directory("dns-only"), key)
        assert client.new_account().status_code == 201
        first = client.new_order("reuse.dns01.test").json()
        second = client.new_order("reuse.dns01.test").json()
        assert first["authorizations"] == second["authorizations"]
        (authz,) = authorizations(client, second)
        assert [c["type"] for c in authz["challenges"]] == ["dns-01"]


def test_reuse_only_what_the_profile_could_have_created() -> None:
    from datetime import UTC, datetime

    from acme_server.services.orders import reusable as _reusable
    from store import AuthorizationRecord, ChallengeRecord

    now = datetime.now(UTC)

    def authz(status: str, *challenges: tuple[str, str]) -> AuthorizationRecord:
        return AuthorizationRecord(
            id="a",
            account_id="acct",
            identifier_type="dns",
            identifier_value="x.test",
            wildcard=False,
            status=status,  # type: ignore[arg-type]
            expires=now,
            challenges=tuple(
                ChallengeRecord(
                    id=t,
                    authorization_id="a",
                    type=t,
                    token="t",
                    status=s,  # type: ignore[arg-type]
                    validated_at=None,
                    error=None,
                    created_at=now,
                    updated_at=now,
                )
                for t, s in challenges
            ),
            created_at=now,
            updated_at=now,
        )

    pending = authz("pending", ("dns-01", "pending"), ("http-01", "pending"))
    assert _reusable(pending, ("http-01", "dns-01"))
    assert not _reusable(pending, ("dns-01",))  # it would offer http-01 too
    valid = authz("valid", ("dns-01", "pending"), ("http-01", "valid"))
    assert _reusable(valid, ("http-01",))
    assert not _reusable(valid, ("dns-01",))  # validated by a type no longer allowed
