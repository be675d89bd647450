"""Every TLS server leaf the server issues passes pkilint's CA/Browser Forum Baseline
Requirements linter (DV subscriber certificate) with no error-level finding: issued through
ACME and through the REST API (CSR and managed key), RSA and ECDSA, from the default profile
exactly as `kms init` makes it (no certificate policy configured).

The server is published as behind a TLS-terminating proxy: external URL
https://pki.example.com:<port>, plain HTTP on loopback. The BRs want the CRL distribution
point and AIA URLs in plain http, so they come from public_pki_url, by default
http://pki.example.com, and the leaves carry the BR domain-validated policy 2.23.140.1.2.1.
Findings below error level are printed (`pytest -s`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID

from acme_server.services.context import Services
from testkit.acme_client import AcmeClient
from testkit.flows import issue
from testkit.in_process_server import AcmeServer, acme_server
from testkit.kms_process import kms, kms_json
from tests.rest.conftest import LOGIN_PATH, create_identity, with_services
from tests.rest.test_certificates_support import CERTS
from tests.support.loopback import loopback_client
from tests.support.pkilint_check import errors_of, lint_tls_server

PUBLIC_HOST = "pki.example.com"
PKI_BASE = f"http://{PUBLIC_HOST}"  # public_pki_url derived from the https external URL
BR_DOMAIN_VALIDATED = "2.23.140.1.2.1"
PROFILES = "/api/v1/cert-manager/certificate-profiles"
Key = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
KEYS: dict[str, Callable[[], Key]] = {
    "EC_P256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "EC_P384": lambda: ec.generate_private_key(ec.SECP384R1()),
    "RSA_2048": lambda: rsa.generate_private_key(65537, 2048),
}


async def _copy_of_default(services: Services) -> None:
    """`public`: the default profile's settings, for the tests that change a profile."""
    store = services.store
    default = await store.get_profile_by_slug("default")
    await store.create_profile(
        slug="public",
        name="public",
        policy_id=default.policy_id,
        issuer_type=default.issuer_type,
        ca_id=default.ca_id,
        enrollment=default.enrollment,
        defaults=dict(default.defaults),
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AcmeServer]:
    data_dir = tmp_path_factory.mktemp("lint") / "data"
    with acme_server(data_dir, public_host=PUBLIC_HOST, external_scheme="https") as running:
        assert running.base_url.startswith(f"https://{PUBLIC_HOST}:")
        assert (
            "certificate_policies"
            not in with_services(running, lambda s: s.store.get_profile_by_slug("default")).defaults
        )
        with_services(running, _copy_of_default)
        yield running


@pytest.fixture(scope="module")
def http(server: AcmeServer) -> Iterator[httpx.Client]:
    record, secret = create_identity(server, role="admin")  # manages profiles
    with loopback_client(tls_terminated=True, base_url=server.base_url) as client:
        login = {"clientId": record.client_id, "clientSecret": secret}
        response = client.post(LOGIN_PATH, json=login)
        assert response.status_code == 200, response.text
        client.headers["Authorization"] = f"Bearer {response.json()['accessToken']}"
        yield client


def _crl_url(cert: x509.Certificate) -> str:
    points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert len(points) == 1 and points[0].full_name is not None
    return str(points[0].full_name[0].value)


def _ca_issuers_url(cert: x509.Certificate) -> str:
    aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    (issuers,) = [d for d in aia if d.access_method == AuthorityInformationAccessOID.CA_ISSUERS]
    return str(issuers.access_location.value)


def _policies(cert: x509.Certificate) -> list[str]:
    try:
        policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    except x509.ExtensionNotFound:
        return []
    return [p.policy_identifier.dotted_string for p in policies]


def _ca_id(server: AcmeServer) -> str:
    profile = with_services(server, lambda s: s.store.get_profile_by_slug("default"))
    assert profile.ca_id is not None
    return profile.ca_id


def _assert_lints_clean(server: AcmeServer, cert: x509.Certificate) -> None:
    findings = lint_tls_server(cert)
    for finding in findings:
        print(finding)
    assert errors_of(findings) == [], "\n".join(map(str, errors_of(findings)))
    assert _policies(cert) == [BR_DOMAIN_VALIDATED]
    ca_id = _ca_id(server)
    assert _crl_url(cert) == f"{PKI_BASE}/pki/crl/{ca_id}.crl"
    assert _ca_issuers_url(cert) == f"{PKI_BASE}/pki/ca/{ca_id}.crt"


@pytest.mark.parametrize("account_key", ["EC_P256", "RSA_2048"])
def test_acme_leaf_passes_the_br_linter(server: AcmeServer, account_key: str) -> None:
    with loopback_client(tls_terminated=True) as client_http:
        client = AcmeClient(client_http, server.directory_url, KEYS[account_key]())
        assert client.new_account().status_code == 201
        _, chain = issue(server, client, "www.lint.example.com", "lint.example.com")
    leaf, intermediate = x509.load_pem_x509_certificates(chain.encode())[:2]
    _assert_lints_clean(server, leaf)
    # The intermediate, made by `kms init`, names its root's CRL and certificate over http too.
    ca_id = _ca_id(server)
    root_id = with_services(server, lambda s: s.store.get_ca(ca_id)).parent_id
    assert _crl_url(intermediate) == f"{PKI_BASE}/pki/crl/{root_id}.crl"
    assert _ca_issuers_url(intermediate) == f"{PKI_BASE}/pki/ca/{root_id}.crt"


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


def _rest_leaf(http: httpx.Client, body: Mapping[str, object]) -> x509.Certificate:
    response = http.post(CERTS, json=body)
    assert response.status_code == 200, response.text
    return x509.load_pem_x509_certificate(response.json()["certificate"]["certificate"].encode())


@pytest.mark.parametrize("key", sorted(KEYS))
def test_rest_csr_leaf_passes_the_br_linter(
    server: AcmeServer, http: httpx.Client, key: str
) -> None:
    csr = _csr_pem(KEYS[key](), "api.lint.example.com", "api2.lint.example.com")
    _assert_lints_clean(server, _rest_leaf(http, {"profileId": "default", "csr": csr}))


@pytest.mark.parametrize("key", ["EC_P256", "RSA_2048"])
def test_rest_managed_leaf_passes_the_br_linter(
    server: AcmeServer, http: httpx.Client, key: str
) -> None:
    attributes = {
        "commonName": "managed.lint.example.com",
        "altNames": "managed.lint.example.com",
        "keyAlgorithm": key,
    }
    leaf = _rest_leaf(http, {"profileId": "default", "attributes": attributes})
    _assert_lints_clean(server, leaf)


def test_the_published_urls_answer_at_their_paths(server: AcmeServer, http: httpx.Client) -> None:
    """What the leaves name is served: the CRL (signed by the issuer) and the issuer's
    certificate, at the URL paths (port 80 of the public host is the proxy's, not here)."""
    csr = _csr_pem(KEYS["EC_P256"](), "u.lint.example.com")
    leaf = _rest_leaf(http, {"profileId": "default", "csr": csr})
    issuer = x509.load_der_x509_certificate(http.get(urlsplit(_ca_issuers_url(leaf)).path).content)
    assert issuer.subject == leaf.issuer
    crl = x509.load_der_x509_crl(http.get(urlsplit(_crl_url(leaf)).path).content)
    assert crl.issuer == leaf.issuer
    assert crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]


def test_leaves_without_server_auth_get_no_automatic_policy(http: httpx.Client) -> None:
    """The DV policy is for TLS server certificates: a clientAuth-only leaf of a profile that
    never set its policies (as identities' client certificates are) carries none."""
    attributes = {
        "commonName": "client.lint.example.com",
        "keyAlgorithm": "EC_P256",
        "extendedKeyUsages": ["client_auth"],
    }
    leaf = _rest_leaf(http, {"profileId": "default", "attributes": attributes})
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert _policies(leaf) == []


def test_certificate_policies_are_a_profile_default_over_rest(http: httpx.Client) -> None:
    public = next(p for p in http.get(PROFILES).json()["profiles"] if p["slug"] == "public")
    assert public["defaults"]["certificatePolicies"] == [BR_DOMAIN_VALIDATED]  # automatic
    url = f"{PROFILES}/{public['id']}"
    bad = http.patch(url, json={"defaults": {"certificatePolicies": ["2.23.x"]}})
    assert bad.status_code == 400, bad.text
    assert bad.json()["message"] == (
        "defaults.certificatePolicies[0]: invalid certificate policy OID '2.23.x': "
        "expected a dotted OID"
    )
    csr = {"profileId": "public", "csr": _csr_pem(KEYS["EC_P256"](), "p.lint.example.com")}
    both = [BR_DOMAIN_VALIDATED, "1.3.6.1.4.1.44947.1.1.1"]
    changed = http.patch(url, json={"defaults": {"certificatePolicies": both}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["profile"]["defaults"]["certificatePolicies"] == both
    assert _policies(_rest_leaf(http, csr)) == both
    # Set, they go on every leaf of the profile, client certificates too.
    client = {"commonName": "c.lint.example.com", "extendedKeyUsages": ["client_auth"]}
    assert _policies(_rest_leaf(http, {"profileId": "public", "attributes": client})) == both
    none = http.patch(url, json={"defaults": {"certificatePolicies": []}})
    assert none.status_code == 200, none.text
    assert none.json()["profile"]["defaults"]["certificatePolicies"] == []
    assert _policies(_rest_leaf(http, csr)) == []
    client_only = http.patch(url, json={"defaults": {"extendedKeyUsages": ["client_auth"]}})
    assert client_only.json()["profile"]["defaults"]["certificatePolicies"] == []


def test_certificate_policies_from_the_cli(tmp_path: Path) -> None:
    d = ["--data-dir", str(tmp_path / "data")]
    kms("init", *d)
    shown = kms_json("profile", "show", "default", *d)
    assert shown["defaults"]["certificatePolicies"] == [BR_DOMAIN_VALIDATED]  # automatic
    private = "1.3.6.1.4.1.44947.1.1.1"
    both = ["profile", "update", "default", "--certificate-policy", BR_DOMAIN_VALIDATED]
    updated = kms_json(*both, "--certificate-policy", private, *d)
    assert updated["defaults"]["certificatePolicies"] == [BR_DOMAIN_VALIDATED, private]
    none = kms_json("profile", "update", "default", "--certificate-policy", "none", *d)
    assert none["defaults"]["certificatePolicies"] == []
    bad = kms("profile", "update", "default", "--certificate-policy", "2.23.x", *d, check=False)
    assert bad.returncode == 2, bad.stderr
    assert "--certificate-policy[0]: invalid certificate policy OID '2.23.x'" in bad.stderr
