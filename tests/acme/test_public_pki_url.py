"""public_pki_url: where the CRL distribution point and AIA caIssuers URLs of certificates
point. Plain http by default (the CA/B Forum Baseline Requirements want it), derived from the
external URL; checked at start with the setting's name; applied to the CAs of an existing
data directory when `kms serve` starts."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography import x509

from acme_server.services.bootstrap import initialise
from acme_server.services.cas.create import publish_pki_urls
from acme_server.services.certificates.enrollment import EnrollRequest, enroll
from acme_server.services.context import Services
from acme_server.settings import Settings, SettingsError, load_settings
from testkit.kms_process import kms, kms_json, running_server


@pytest.mark.parametrize(
    ("external_url", "public_pki_url", "expected"),
    [
        ("https://ca.example.com", "", "http://ca.example.com"),
        # A port that speaks TLS cannot answer plain HTTP: the derived URL uses port 80.
        ("https://ca.example.com:8443/", "", "http://ca.example.com"),
        ("https://[2001:db8::1]:8443", "", "http://[2001:db8::1]"),
        ("http://ca.example.com:8080", "", "http://ca.example.com:8080"),
        # No external URL: the server's own, as nothing else answers (set public_pki_url).
        ("", "", "https://localhost:8443"),
        ("https://ca.example.com", "http://crl.example.com:8080/", "http://crl.example.com:8080"),
        ("https://ca.example.com", "https://ca.example.com", "https://ca.example.com"),
    ],
)
def test_the_pki_base_url(external_url: str, public_pki_url: str, expected: str) -> None:
    overrides = {"external_url": external_url or None, "public_pki_url": public_pki_url or None}
    assert load_settings(overrides, env={}).pki_base_url == expected


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("ftp://pki.example.com", "must start with http:// or https://"),
        ("pki.example.com", "must start with http:// or https://"),
        ("http:/pki.example.com", "must start with http:// or https://"),
        ("http://", "must name a host"),
        ("http://pki.example.com\x00", "must name a host"),
        ("http://pki example.com", "must name a host"),
        ("http://pki.ex\u00e4mple.com", "must name a host, in ASCII"),
        ("http://user:pw@pki.example.com", "must not hold a user name or password"),
        ("http://pki.example.com/pki", "no path, query or fragment"),
        ("http://pki.example.com/?x=1", "no path, query or fragment"),
        ("http://pki.example.com?", "no path, query or fragment"),
        ("http://pki.example.com#top", "no path, query or fragment"),
        ("http://pki.example.com:0", "has an invalid port"),
        ("http://pki.example.com:70000", "has an invalid port"),
        ("http://pki.example.com:", "has an invalid port"),
        ("http://pki.example.com:http", "has an invalid port"),
    ],
)
def test_a_bad_public_pki_url_is_refused_by_name(value: str, problem: str) -> None:
    with pytest.raises(SettingsError, match=r"^setting 'public_pki_url': ") as raised:
        load_settings(env={"KMS_PUBLIC_PKI_URL": value})
    assert problem in str(raised.value)


def test_the_setting_is_read_from_the_config_file_and_passed_to_workers(tmp_path: Path) -> None:
    config = tmp_path / "kms.toml"
    config.write_text('public_pki_url = "http://pki.example.com"\n')
    settings = load_settings(env={}, config_file=config)
    assert settings.pki_base_url == "http://pki.example.com"
    assert load_settings(env=settings.to_env()).pki_base_url == "http://pki.example.com"


def test_kms_serve_refuses_a_bad_public_pki_url(tmp_path: Path) -> None:
    result = kms(
        "serve", "--data-dir", str(tmp_path / "data"), "--public-pki-url", "http://x/crl",
        check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "setting 'public_pki_url': must be scheme://host[:port] alone" in result.stderr


async def _publish_then_issue(first: Settings, second: Settings) -> list[str]:
    """Initialise under `first`; under `second`, publish (twice) and issue a leaf."""
    services = await Services.open(first)
    try:
        await initialise(services)
    finally:
        await services.close()
    services = await Services.open(second)
    try:
        changed = [ca.id for ca in await publish_pki_urls(services)]
        assert await publish_pki_urls(services) == []  # already there
        cas = {ca.id: ca for ca in await services.store.list_cas()}
        assert sorted(changed) == sorted(cas)
        for ca in cas.values():
            assert ca.crl_distribution_url == f"http://pki.example.net/pki/crl/{ca.id}.crl"
            assert ca.aia_issuer_url == f"http://pki.example.net/pki/ca/{ca.id}.crt"
        enrolled = await enroll(
            services,
            EnrollRequest(
                profile_ref="default", common_name="a.example.net", key_algorithm="EC_P256"
            ),
        )
        leaf = enrolled.issued.certificate
        points = leaf.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
        aia = leaf.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
        assert points[0].full_name is not None
        return [str(points[0].full_name[0].value), str(aia[0].access_location.value)]
    finally:
        await services.close()


def test_an_existing_data_directory_moves_to_the_new_urls(tmp_path: Path) -> None:
    """CAs made while the URLs were https (before the setting existed, external URL https)
    name the setting's URLs in what they sign once the server is started with it."""
    before = replace(Settings(), data_dir=tmp_path / "data", external_url="https://ca.example.net")
    before = replace(before, public_pki_url="https://ca.example.net")  # the old URLs
    after = replace(before, public_pki_url="http://pki.example.net")
    crl, aia = asyncio.run(_publish_then_issue(before, after))
    assert crl.startswith("http://pki.example.net/pki/crl/") and crl.endswith(".crl")
    assert aia.startswith("http://pki.example.net/pki/ca/") and aia.endswith(".crt")


def test_kms_serve_publishes_the_setting(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    kms("init", "--data-dir", str(data_dir))
    old = kms_json("ca", "list", "--data-dir", str(data_dir))
    assert all(ca["crlDistributionUrl"].startswith("https://localhost:8443/pki/") for ca in old)
    with running_server(data_dir, "--plain-http", "--public-pki-url", "http://pki.example.org"):
        pass
    log = (data_dir.parent).glob("server-*.log")
    text = "".join(path.read_text() for path in log)
    assert "CRLs and CA certificates: http://pki.example.org/pki/" in text
    cas = kms_json("ca", "list", "--data-dir", str(data_dir))
    assert len(cas) == len(old) == 2
    for ca in cas:
        assert f"now publishes http://pki.example.org/pki/crl/{ca['id']}.crl" in text
        assert ca["crlDistributionUrl"] == f"http://pki.example.org/pki/crl/{ca['id']}.crl"
        assert ca["aiaIssuerUrl"] == f"http://pki.example.org/pki/ca/{ca['id']}.crt"
