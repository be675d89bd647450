"""Every leaf the server issues for a publicly-shaped TLS profile passes pkilint's CA/Browser
Forum Baseline Requirements linter (DV subscriber certificate) with no error-level finding:
issued through ACME and through the REST API (CSR and managed key), RSA and ECDSA.

Publicly shaped: the server's external URL (so the CRL distribution point and AIA URLs) has
a public domain name, and the profile asserts the BR DV policy 2.23.140.1.2.1 with serverAuth
as its only extended key usage. Findings below error level are printed (`pytest -s`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from acme_server.services.context import Services
from tests.acme.client import AcmeClient
from tests.acme.flows import issue
from tests.acme.harness import AcmeServer, acme_server
from tests.rest.conftest import LOGIN_PATH, create_identity, with_services
from tests.rest.test_certificates_support import CERTS
from tests.support.loopback import loopback_client
from tests.support.pkilint_check import errors_of, lint_tls_server

PUBLIC_HOST = "pki.example.com"
BR_DOMAIN_VALIDATED = "2.23.140.1.2.1"
Key = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
KEYS: dict[str, Callable[[], Key]] = {
    "EC_P256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "EC_P384": lambda: ec.generate_private_key(ec.SECP384R1()),
    "RSA_2048": lambda: rsa.generate_private_key(65537, 2048),
}


async def _public_profile(services: Services) -> None:
    store = services.store
    default = await store.get_profile_by_slug("default")
    defaults = dict(default.defaults)
    defaults["extended_key_usages"] = ["server_auth"]
    defaults["certificate_policies"] = [BR_DOMAIN_VALIDATED]
    await store.create_profile(
        slug="public",
        name="public",
        policy_id=default.policy_id,
        issuer_type=default.issuer_type,
        ca_id=default.ca_id,
        enrollment=default.enrollment,
        defaults=defaults,
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AcmeServer]:
    data_dir = tmp_path_factory.mktemp("lint") / "data"
    with acme_server(data_dir, public_host=PUBLIC_HOST) as running:
        with_services(running, _public_profile)
        yield running


@pytest.fixture(scope="module")
def http(server: AcmeServer) -> Iterator[httpx.Client]:
    record, secret = create_identity(server)
    with loopback_client(base_url=server.base_url) as client:
        login = {"clientId": record.client_id, "clientSecret": secret}
        response = client.post(LOGIN_PATH, json=login)
        assert response.status_code == 200, response.text
        client.headers["Authorization"] = f"Bearer {response.json()['accessToken']}"
        yield client


def _assert_lints_clean(cert: x509.Certificate) -> None:
    policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert [p.policy_identifier.dotted_string for p in policies] == [BR_DOMAIN_VALIDATED]
    findings = lint_tls_server(cert)
    for finding in findings:
        print(finding)
    assert errors_of(findings) == [], "\n".join(map(str, errors_of(findings)))


@pytest.mark.parametrize("account_key", ["EC_P256", "RSA_2048"])
def test_acme_leaf_passes_the_br_linter(server: AcmeServer, account_key: str) -> None:
    with loopback_client() as client_http:
        directory = server.profile_directory("public")
        client = AcmeClient(client_http, directory, KEYS[account_key]())
        assert client.new_account().status_code == 201
        _, chain = issue(server, client, "www.lint.example.com", "lint.example.com")
    _assert_lints_clean(x509.load_pem_x509_certificates(chain.encode())[0])


def _csr_pem(key: Key, *names: str) -> str:
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([]))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
        )
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
        .decode()
    )


@pytest.mark.parametrize("key", sorted(KEYS))
def test_rest_csr_leaf_passes_the_br_linter(http: httpx.Client, key: str) -> None:
    csr = _csr_pem(KEYS[key](), "api.lint.example.com", "api2.lint.example.com")
    response = http.post(CERTS, json={"profileId": "public", "csr": csr})
    assert response.status_code == 200, response.text
    pem = response.json()["certificate"]["certificate"]
    _assert_lints_clean(x509.load_pem_x509_certificate(pem.encode()))


@pytest.mark.parametrize("key", ["EC_P256", "RSA_2048"])
def test_rest_managed_leaf_passes_the_br_linter(http: httpx.Client, key: str) -> None:
    body = {
        "profileId": "public",
        "attributes": {
            "commonName": "managed.lint.example.com",
            "altNames": "managed.lint.example.com",
            "keyAlgorithm": key,
        },
    }
    response = http.post(CERTS, json=body)
    assert response.status_code == 200, response.text
    pem = response.json()["certificate"]["certificate"]
    _assert_lints_clean(x509.load_pem_x509_certificate(pem.encode()))


PROFILES = "/api/v1/cert-manager/certificate-profiles"


def test_certificate_policies_are_a_profile_default_over_rest(
    server: AcmeServer, http: httpx.Client
) -> None:
    public = next(p for p in http.get(PROFILES).json()["profiles"] if p["slug"] == "public")
    assert public["defaults"]["certificatePolicies"] == [BR_DOMAIN_VALIDATED]
    url = f"{PROFILES}/{public['id']}"
    bad = http.patch(url, json={"defaults": {"certificatePolicies": ["2.23.x"]}})
    assert bad.status_code == 400, bad.text
    assert bad.json()["message"] == (
        "defaults.certificatePolicies[0]: invalid certificate policy OID '2.23.x': "
        "expected a dotted OID"
    )
    both = [BR_DOMAIN_VALIDATED, "1.3.6.1.4.1.44947.1.1.1"]
    changed = http.patch(url, json={"defaults": {"certificatePolicies": both}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["profile"]["defaults"]["certificatePolicies"] == both
    reset = http.patch(url, json={"defaults": {"certificatePolicies": [BR_DOMAIN_VALIDATED]}})
    assert reset.status_code == 200, reset.text
