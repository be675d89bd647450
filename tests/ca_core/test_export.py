"""Exports: PEM bundles and PKCS#12 read back by cryptography and the openssl binary."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from ca_core.errors import CAError
from ca_core.export import pem_bundle, to_pkcs12
from ca_core.issuer import issue_leaf
from ca_core.keys import PrivateKey, private_key_to_pem
from pki_types.model import KeyAlgorithm
from tests.ca_core.helpers import cached_key, default_hierarchy, leaf_request, openssl

PASSWORD = "correct horse battery staple"


def _leaf(alg: KeyAlgorithm = KeyAlgorithm.EC_P256) -> tuple[x509.Certificate, PrivateKey]:
    _, inter = default_hierarchy()
    key = cached_key(alg, "export")
    return issue_leaf(leaf_request(key), inter), key


def _chain() -> list[x509.Certificate]:
    _, inter = default_hierarchy()
    return [inter.certificate, *inter.chain]


def test_pem_bundle_is_leaf_then_chain_then_key() -> None:
    cert, key = _leaf()
    bundle = pem_bundle(cert, _chain(), key)
    certs = x509.load_pem_x509_certificates(bundle.encode())
    assert certs == [cert, *_chain()]
    assert bundle.endswith(private_key_to_pem(key).decode())
    assert bundle.index("BEGIN PRIVATE KEY") > bundle.rindex("END CERTIFICATE")


def test_pem_bundle_without_key() -> None:
    cert, _ = _leaf()
    bundle = pem_bundle(cert, [], None)
    assert "PRIVATE KEY" not in bundle
    assert x509.load_pem_x509_certificates(bundle.encode()) == [cert]


@pytest.mark.parametrize("alg", [KeyAlgorithm.EC_P256, KeyAlgorithm.RSA_2048])
def test_pkcs12_opens_in_openssl_with_alias_and_key(alg: KeyAlgorithm, tmp_path: Path) -> None:
    cert, key = _leaf(alg)
    p12 = tmp_path / "f.p12"
    p12.write_bytes(
        to_pkcs12(
            certificate=cert, chain=_chain(), private_key=key, password=PASSWORD, alias="web-1"
        )
    )
    passin = f"pass:{PASSWORD}"
    certs = openssl("pkcs12", "-in", p12, "-nokeys", "-clcerts", "-passin", passin)
    assert certs.returncode == 0, certs.stdout
    assert "friendlyName: web-1" in certs.stdout
    assert x509.load_pem_x509_certificates(certs.stdout.encode()) == [cert]
    cas = openssl("pkcs12", "-in", p12, "-nokeys", "-cacerts", "-passin", passin)
    assert set(x509.load_pem_x509_certificates(cas.stdout.encode())) == set(_chain())
    keys = openssl("pkcs12", "-in", p12, "-nocerts", "-nodes", "-passin", passin)
    assert keys.returncode == 0, keys.stdout
    start = keys.stdout.index("-----BEGIN PRIVATE KEY-----")
    loaded = serialization.load_pem_private_key(keys.stdout[start:].encode(), password=None)
    assert loaded.public_key() == key.public_key()
    wrong = openssl("pkcs12", "-in", p12, "-nokeys", "-passin", "pass:wrong")
    assert wrong.returncode != 0


def test_pkcs12_uses_modern_encryption(tmp_path: Path) -> None:
    cert, key = _leaf()
    p12 = tmp_path / "f.p12"
    p12.write_bytes(
        to_pkcs12(certificate=cert, chain=[], private_key=key, password=PASSWORD, alias="a")
    )
    info = openssl("pkcs12", "-in", p12, "-info", "-noout", "-passin", f"pass:{PASSWORD}")
    assert info.returncode == 0, info.stdout
    assert "MAC: sha256" in info.stdout
    assert "PBES2, PBKDF2, AES-256-CBC" in info.stdout
    assert "3DES" not in info.stdout and "RC2" not in info.stdout


def test_pkcs12_round_trips_through_cryptography() -> None:
    cert, key = _leaf()
    data = to_pkcs12(
        certificate=cert, chain=_chain(), private_key=key, password=PASSWORD, alias="ünï"
    )
    loaded = pkcs12.load_pkcs12(data, PASSWORD.encode())
    assert loaded.cert is not None and loaded.cert.certificate == cert
    assert loaded.cert.friendly_name == "ünï".encode()
    assert loaded.key is not None and loaded.key.public_key() == key.public_key()
    assert [c.certificate for c in loaded.additional_certs] == _chain()


def test_pkcs12_without_a_key_holds_the_certificate_alone(tmp_path: Path) -> None:
    cert, _ = _leaf()
    data = to_pkcs12(certificate=cert, chain=[], private_key=None, password=PASSWORD, alias="c")
    loaded = pkcs12.load_pkcs12(data, PASSWORD.encode())
    # Without a key there is no localKeyId, so readers list the certificate as a bare one.
    assert loaded.key is None
    assert [(c.certificate, c.friendly_name) for c in loaded.additional_certs] == [(cert, b"c")]
    p12 = tmp_path / "c.p12"
    p12.write_bytes(data)
    out = openssl("pkcs12", "-in", p12, "-nokeys", "-passin", f"pass:{PASSWORD}")
    assert out.returncode == 0, out.stdout
    assert x509.load_pem_x509_certificates(out.stdout.encode()) == [cert]
    assert "PRIVATE KEY" not in out.stdout


def test_pkcs12_refuses_an_empty_password() -> None:
    cert, key = _leaf()
    with pytest.raises(CAError, match=r"^a PKCS#12 export needs a non-empty password$"):
        to_pkcs12(certificate=cert, chain=[], private_key=key, password="", alias="a")


def test_exports_refuse_a_key_that_does_not_match() -> None:
    cert, _ = _leaf()
    other = cached_key(KeyAlgorithm.EC_P256, "other")
    with pytest.raises(CAError, match="the private key does not belong to the certificate"):
        to_pkcs12(certificate=cert, chain=[], private_key=other, password="p", alias="a")
    with pytest.raises(CAError, match="the private key does not belong to the certificate"):
        pem_bundle(cert, [], other)
