"""Leaf issuance (RFC 5280 4.2.1.x) by a CA and self-signed."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID

from ca_core.errors import BadKey, CAError
from ca_core.issuer import compute_not_after, issue_leaf, issue_self_signed, leaf_validity
from ca_core.keys import PrivateKey
from pki_types.model import (
    ExtendedKeyUsage,
    KeyAlgorithm,
    KeyUsage,
    SanType,
    SubjectAltName,
    SubjectAttributes,
)
from tests.ca_core.helpers import (
    AIA_URL,
    CRL_URL,
    cached_key,
    default_hierarchy,
    leaf_request,
    make_intermediate,
    make_root,
    openssl,
    openssl_verify,
    write_pem,
)


def _value(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.ExtensionType:
    return cert.extensions.get_extension_for_class(kind).value


def _critical(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> bool:
    return cert.extensions.get_extension_for_class(kind).critical


def test_leaf_extensions() -> None:
    _, inter = default_hierarchy()
    request = leaf_request(
        key_usages=frozenset({KeyUsage.DIGITAL_SIGNATURE, KeyUsage.KEY_ENCIPHERMENT}),
        extended_key_usages=frozenset({ExtendedKeyUsage.SERVER_AUTH, ExtendedKeyUsage.CLIENT_AUTH}),
        crl_urls=(CRL_URL,),
        aia_issuer_urls=(AIA_URL,),
    )
    cert = issue_leaf(request, inter)
    cert.verify_directly_issued_by(inter.certificate)
    assert cert.serial_number == request.serial
    assert cert.public_key() == request.public_key
    assert cert.subject.rfc4514_string() == "CN=www.example.test"
    assert cert.issuer == inter.certificate.subject
    assert _value(cert, x509.BasicConstraints) == x509.BasicConstraints(ca=False, path_length=None)
    assert _critical(cert, x509.BasicConstraints)
    ku = _value(cert, x509.KeyUsage)
    assert isinstance(ku, x509.KeyUsage) and _critical(cert, x509.KeyUsage)
    assert ku.digital_signature and ku.key_encipherment and not ku.key_cert_sign
    assert list(_value(cert, x509.ExtendedKeyUsage)) == [  # type: ignore[call-overload]
        ExtendedKeyUsageOID.CLIENT_AUTH,
        ExtendedKeyUsageOID.SERVER_AUTH,
    ]
    san = _value(cert, x509.SubjectAlternativeName)
    assert isinstance(san, x509.SubjectAlternativeName)
    assert san.get_values_for_type(x509.DNSName) == ["www.example.test"]
    assert not _critical(cert, x509.SubjectAlternativeName)
    aki = _value(cert, x509.AuthorityKeyIdentifier)
    ski = _value(inter.certificate, x509.SubjectKeyIdentifier)
    assert isinstance(aki, x509.AuthorityKeyIdentifier)
    assert isinstance(ski, x509.SubjectKeyIdentifier)
    assert aki.key_identifier == ski.digest
    assert _value(cert, x509.SubjectKeyIdentifier) == x509.SubjectKeyIdentifier.from_public_key(
        request.public_key
    )
    assert isinstance(_value(cert, x509.CRLDistributionPoints), x509.CRLDistributionPoints)
    assert isinstance(
        _value(cert, x509.AuthorityInformationAccess), x509.AuthorityInformationAccess
    )
    assert cert.not_valid_before_utc == request.not_before
    assert cert.not_valid_after_utc == request.not_before + request.validity


def test_leaf_without_usages_or_urls_has_no_such_extensions() -> None:
    _, inter = default_hierarchy()
    cert = issue_leaf(leaf_request(key_usages=frozenset(), extended_key_usages=frozenset()), inter)
    kinds = {type(e.value) for e in cert.extensions}
    assert kinds == {
        x509.BasicConstraints,
        x509.SubjectKeyIdentifier,
        x509.AuthorityKeyIdentifier,
        x509.SubjectAlternativeName,
    }


def test_s4_2_1_6_san_is_critical_when_the_subject_is_empty(tmp_path: Path) -> None:
    root, inter = default_hierarchy()
    cert = issue_leaf(leaf_request(subject=SubjectAttributes()), inter)
    assert list(cert.subject) == []
    assert _critical(cert, x509.SubjectAlternativeName)
    result = openssl_verify(tmp_path, cert, root.certificate, inter.certificate)
    assert result.returncode == 0, result.stdout


def test_no_subject_and_no_sans_is_refused() -> None:
    _, inter = default_hierarchy()
    with pytest.raises(CAError, match=r"^a certificate needs a subject or at least one"):
        issue_leaf(leaf_request(subject=SubjectAttributes(), sans=()), inter)


def test_not_after_is_clamped_to_the_issuer() -> None:
    root = make_root()
    inter = make_intermediate(root, validity=timedelta(days=30))
    request = leaf_request(validity=timedelta(days=90))
    expected = inter.certificate.not_valid_after_utc
    assert compute_not_after(request, inter.certificate) == expected
    assert compute_not_after(request, None) == request.not_before + timedelta(days=90)
    assert issue_leaf(request, inter).not_valid_after_utc == expected


def test_validity_counts_from_validity_start_when_not_before_is_backdated() -> None:
    """notAfter = issuance + TTL; the backdated notBefore adds to the lifetime."""
    _, inter = default_hierarchy()
    issued_at = leaf_request().not_before.replace(microsecond=0)
    request = leaf_request(
        not_before=issued_at - timedelta(minutes=1),
        validity_start=issued_at,
        validity=timedelta(minutes=3),
    )
    window = leaf_validity(request, inter.certificate)
    assert (window.not_after, window.cut) == (issued_at + timedelta(minutes=3), False)
    cert = issue_leaf(request, inter)
    assert cert.not_valid_before_utc == issued_at - timedelta(minutes=1)
    assert cert.not_valid_after_utc == issued_at + timedelta(minutes=3)


def test_leaf_validity_says_when_it_was_cut_to_the_issuer() -> None:
    root = make_root()
    inter = make_intermediate(root, validity=timedelta(days=30))
    request = leaf_request(validity=timedelta(days=90))
    window = leaf_validity(request, inter.certificate)
    assert window.cut
    assert window.not_after == inter.certificate.not_valid_after_utc
    assert window.requested_not_after == request.not_before + timedelta(days=90)
    assert not leaf_validity(request, None).cut  # self-signed: never cut


def test_an_issuer_expiring_before_not_before_is_refused() -> None:
    _, inter = default_hierarchy()
    late = inter.certificate.not_valid_after_utc + timedelta(days=1)
    with pytest.raises(CAError, match="before the certificate would become valid"):
        issue_leaf(leaf_request(not_before=late), inter)


def test_openssl_verifies_purpose_and_hostname(tmp_path: Path) -> None:
    root, inter = default_hierarchy()
    cert = issue_leaf(leaf_request(), inter)
    good = openssl_verify(
        tmp_path,
        cert,
        root.certificate,
        inter.certificate,
        extra=("-purpose", "sslserver", "-verify_hostname", "www.example.test"),
    )
    assert good.returncode == 0, good.stdout
    wrong = openssl_verify(
        tmp_path,
        cert,
        root.certificate,
        inter.certificate,
        extra=("-verify_hostname", "other.example.test"),
    )
    assert wrong.returncode != 0 and "hostname mismatch" in wrong.stdout
    client = openssl_verify(
        tmp_path, cert, root.certificate, inter.certificate, extra=("-purpose", "sslclient")
    )
    assert client.returncode != 0 and "unsuitable certificate purpose" in client.stdout


@pytest.mark.parametrize("alg", [KeyAlgorithm.EC_P256, KeyAlgorithm.RSA_2048])
def test_cryptography_web_pki_verifier_accepts_the_chain(alg: KeyAlgorithm) -> None:
    root = make_root(alg)
    inter = make_intermediate(root, alg)
    cert = issue_leaf(leaf_request(cached_key(alg, "leaf")), inter)
    verifier = (
        verification.PolicyBuilder()
        .store(verification.Store([root.certificate]))
        .build_server_verifier(x509.DNSName("www.example.test"))
    )
    chain = verifier.verify(cert, [inter.certificate])
    assert chain == [cert, inter.certificate, root.certificate]


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        (
            {"key_usages": frozenset({KeyUsage.KEY_CERT_SIGN})},
            CAError,
            "key_cert_sign is only for CA certificates",
        ),
        (
            {"key_usages": frozenset({KeyUsage.ENCIPHER_ONLY})},
            CAError,
            "encipher_only requires key_agreement",
        ),
        ({"validity": timedelta(seconds=-1)}, CAError, "validity must be positive"),
        ({"serial": 0}, CAError, "serial number must be positive"),
        ({"serial": 2**159}, CAError, "at most 20 octets"),
        ({"crl_urls": ("not a url",)}, CAError, 'invalid URL "not a url"'),
        ({"sans": (SubjectAltName(SanType.DNS, "bad_name"),)}, CAError, "bad_name"),
    ],
)
def test_bad_leaf_requests_are_refused(
    changes: dict[str, object], error: type[Exception], message: str
) -> None:
    _, inter = default_hierarchy()
    with pytest.raises(error, match=message):
        issue_leaf(leaf_request(**changes), inter)


def test_an_unsupported_leaf_key_is_refused() -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    _, inter = default_hierarchy()
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(BadKey, match="unsupported RSA key size 1024"):
        issue_leaf(leaf_request(weak), inter)


def test_key_agreement_with_encipher_only_is_allowed() -> None:
    _, inter = default_hierarchy()
    usages = frozenset({KeyUsage.KEY_AGREEMENT, KeyUsage.ENCIPHER_ONLY})
    ku = _value(issue_leaf(leaf_request(key_usages=usages), inter), x509.KeyUsage)
    assert isinstance(ku, x509.KeyUsage) and ku.encipher_only and not ku.decipher_only


def test_a_leaf_cannot_issue(tmp_path: Path) -> None:
    from ca_core.hierarchy import CAMaterial

    _, inter = default_hierarchy()
    key = cached_key(KeyAlgorithm.EC_P256, "leaf")
    leaf = issue_leaf(leaf_request(key), inter)
    with pytest.raises(CAError, match="not a CA"):
        issue_leaf(leaf_request(), CAMaterial(leaf, key, inter.chain))


@pytest.mark.parametrize("alg", [KeyAlgorithm.EC_P384, KeyAlgorithm.RSA_3072])
def test_self_signed_leaf(alg: KeyAlgorithm, tmp_path: Path) -> None:
    key: PrivateKey = cached_key(alg, "self")
    request = leaf_request(key, crl_urls=(CRL_URL,), aia_issuer_urls=(AIA_URL,))
    cert = issue_self_signed(request, key)
    assert cert.issuer == cert.subject
    cert.verify_directly_issued_by(cert)
    aki = _value(cert, x509.AuthorityKeyIdentifier)
    ski = _value(cert, x509.SubjectKeyIdentifier)
    assert isinstance(aki, x509.AuthorityKeyIdentifier)
    assert isinstance(ski, x509.SubjectKeyIdentifier)
    assert aki.key_identifier == ski.digest
    kinds = {type(e.value) for e in cert.extensions}
    assert x509.CRLDistributionPoints not in kinds
    assert x509.AuthorityInformationAccess not in kinds
    assert _value(cert, x509.BasicConstraints) == x509.BasicConstraints(ca=False, path_length=None)
    assert cert.not_valid_after_utc == request.not_before + request.validity
    result = openssl_verify(tmp_path, cert, cert, extra=("-purpose", "sslserver"))
    assert result.returncode == 0, result.stdout
    text = openssl(
        "x509", "-noout", "-subject", "-issuer", "-in", write_pem(tmp_path / "s.pem", cert)
    )
    assert "subject=CN = www.example.test\nissuer=CN = www.example.test" in text.stdout


def test_self_signed_needs_a_subject_and_the_matching_key() -> None:
    key = cached_key(KeyAlgorithm.EC_P256, "self")
    with pytest.raises(CAError, match="a self-signed certificate needs a subject"):
        issue_self_signed(leaf_request(key, subject=SubjectAttributes()), key)
    with pytest.raises(CAError, match="does not match the request's public key"):
        issue_self_signed(leaf_request(key), cached_key(KeyAlgorithm.EC_P256, "other"))


def test_leaf_request_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        leaf_request().serial = 1  # type: ignore[misc]


def test_the_issuing_cas_own_key_is_refused() -> None:
    _, inter = default_hierarchy()
    with pytest.raises(CAError, match="refusing to certify the issuing CA's own key"):
        issue_leaf(leaf_request(inter.private_key), inter)
