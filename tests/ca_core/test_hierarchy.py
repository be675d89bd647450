"""Root and intermediate CAs: extensions (RFC 5280 4.2.1), signatures, chains."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.x509.oid import AuthorityInformationAccessOID, SignatureAlgorithmOID

from ca_core.errors import CAError
from ca_core.hierarchy import BACKDATE, CAMaterial, create_intermediate_ca, create_root_ca
from ca_core.issuer import issue_leaf
from ca_core.keys import PrivateKey
from pki_types.model import HashAlgorithm, KeyAlgorithm, SubjectAttributes
from tests.ca_core.helpers import (
    AIA_URL,
    CRL_URL,
    INTERMEDIATE_SUBJECT,
    ROOT_SUBJECT,
    cached_key,
    default_hierarchy,
    leaf_request,
    make_intermediate,
    make_root,
    now,
    openssl,
    openssl_verify,
    write_pem,
)

_SIGNATURE_OIDS = {
    (True, HashAlgorithm.SHA256): SignatureAlgorithmOID.RSA_WITH_SHA256,
    (True, HashAlgorithm.SHA384): SignatureAlgorithmOID.RSA_WITH_SHA384,
    (True, HashAlgorithm.SHA512): SignatureAlgorithmOID.RSA_WITH_SHA512,
    (False, HashAlgorithm.SHA256): SignatureAlgorithmOID.ECDSA_WITH_SHA256,
    (False, HashAlgorithm.SHA384): SignatureAlgorithmOID.ECDSA_WITH_SHA384,
    (False, HashAlgorithm.SHA512): SignatureAlgorithmOID.ECDSA_WITH_SHA512,
}


def _ext(
    cert: x509.Certificate, kind: type[x509.ExtensionType]
) -> x509.Extension[x509.ExtensionType]:
    return cert.extensions.get_extension_for_class(kind)


def _check_signature(cert: x509.Certificate, alg: KeyAlgorithm, hash_alg: HashAlgorithm) -> None:
    assert cert.signature_algorithm_oid == _SIGNATURE_OIDS[(alg.is_rsa, hash_alg)]
    params = cert.signature_algorithm_parameters
    assert isinstance(params, padding.PKCS1v15 if alg.is_rsa else ec.ECDSA)


def _check_ca_extensions(cert: x509.Certificate, key: PrivateKey, path_length: int | None) -> None:
    bc = _ext(cert, x509.BasicConstraints)
    assert bc.critical and bc.value == x509.BasicConstraints(ca=True, path_length=path_length)
    ku = _ext(cert, x509.KeyUsage)
    assert ku.critical
    assert isinstance(ku.value, x509.KeyUsage)
    assert ku.value.key_cert_sign and ku.value.crl_sign and ku.value.digital_signature
    assert not ku.value.key_encipherment
    assert _ext(cert, x509.SubjectKeyIdentifier).value == (
        x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    )


@pytest.mark.parametrize("hash_alg", list(HashAlgorithm))
@pytest.mark.parametrize("alg", list(KeyAlgorithm))
def test_root_and_intermediate_for_every_key_and_hash(
    alg: KeyAlgorithm, hash_alg: HashAlgorithm, tmp_path: Path
) -> None:
    root = make_root(alg, hash_alg)
    root_cert = root.certificate
    assert root.chain == ()
    assert root_cert.subject == root_cert.issuer
    root_cert.verify_directly_issued_by(root_cert)
    _check_signature(root_cert, alg, hash_alg)
    _check_ca_extensions(root_cert, root.private_key, path_length=None)

    inter = make_intermediate(root, alg, hash_alg)
    cert = inter.certificate
    assert inter.chain == (root_cert,)
    cert.verify_directly_issued_by(root_cert)
    _check_signature(cert, alg, hash_alg)
    _check_ca_extensions(cert, inter.private_key, path_length=0)
    aki = _ext(cert, x509.AuthorityKeyIdentifier).value
    assert isinstance(aki, x509.AuthorityKeyIdentifier)
    assert aki.key_identifier == _ext(root_cert, x509.SubjectKeyIdentifier).value.digest  # type: ignore[attr-defined]

    leaf = issue_leaf(leaf_request(hash_alg=hash_alg), inter)
    leaf.verify_directly_issued_by(cert)
    result = openssl_verify(tmp_path, leaf, root_cert, cert)
    assert result.returncode == 0, result.stdout
    assert result.stdout.strip().endswith(": OK")


def test_s4_2_1_9_openssl_reads_the_ca_extensions(tmp_path: Path) -> None:
    root, inter = default_hierarchy()
    text = openssl(
        "x509", "-noout", "-text", "-in", write_pem(tmp_path / "i.pem", inter.certificate)
    )
    assert "X509v3 Basic Constraints: critical\n                CA:TRUE, pathlen:0" in text.stdout
    assert (
        "X509v3 Key Usage: critical\n                Digital Signature, Certificate Sign, CRL Sign"
        in text.stdout
    )
    assert f"URI:{CRL_URL}" in text.stdout and f"CA Issuers - URI:{AIA_URL}" in text.stdout
    root_text = openssl(
        "x509", "-noout", "-text", "-in", write_pem(tmp_path / "r.pem", root.certificate)
    )
    assert "CA:TRUE\n" in root_text.stdout and "pathlen" not in root_text.stdout


def test_s4_2_1_13_intermediate_points_at_the_parents_crl_and_certificate() -> None:
    _, inter = default_hierarchy()
    dps = _ext(inter.certificate, x509.CRLDistributionPoints).value
    assert isinstance(dps, x509.CRLDistributionPoints)
    assert [dp.full_name for dp in dps] == [[x509.UniformResourceIdentifier(CRL_URL)]]
    aia = _ext(inter.certificate, x509.AuthorityInformationAccess).value
    assert isinstance(aia, x509.AuthorityInformationAccess)
    assert [(d.access_method, d.access_location.value) for d in aia] == [
        (AuthorityInformationAccessOID.CA_ISSUERS, AIA_URL)
    ]


def test_root_has_no_distribution_urls_and_no_aki() -> None:
    root, _ = default_hierarchy()
    kinds = {type(e.value) for e in root.certificate.extensions}
    assert kinds == {x509.BasicConstraints, x509.KeyUsage, x509.SubjectKeyIdentifier}


def test_not_before_is_backdated_by_one_minute() -> None:
    moment = now()
    root = create_root_ca(
        key=cached_key(KeyAlgorithm.EC_P256, "root"),
        subject=ROOT_SUBJECT,
        hash_alg=HashAlgorithm.SHA256,
        validity=timedelta(days=10),
        now=moment,
    )
    assert root.certificate.not_valid_before_utc == moment - BACKDATE
    assert root.certificate.not_valid_after_utc == moment + timedelta(days=10)


def test_intermediate_never_outlives_its_parent() -> None:
    root, _ = default_hierarchy()
    inter = make_intermediate(root, validity=timedelta(days=100_000))
    assert inter.certificate.not_valid_after_utc == root.certificate.not_valid_after_utc


def test_s4_2_1_9_three_levels_respect_path_length(tmp_path: Path) -> None:
    root, _ = default_hierarchy()
    mid = create_intermediate_ca(
        key=cached_key(KeyAlgorithm.EC_P384, "mid"),
        subject=SubjectAttributes(common_name="Policy CA"),
        hash_alg=HashAlgorithm.SHA384,
        validity=timedelta(days=365),
        parent=root,
        now=now(),
        path_length=1,
    )
    issuing = create_intermediate_ca(
        key=cached_key(KeyAlgorithm.EC_P256, "issuing"),
        subject=SubjectAttributes(common_name="Issuing CA"),
        hash_alg=HashAlgorithm.SHA256,
        validity=timedelta(days=365),
        parent=mid,
        now=now(),
    )
    assert issuing.chain == (mid.certificate, root.certificate)
    issuing.certificate.verify_directly_issued_by(mid.certificate)
    leaf = issue_leaf(leaf_request(), issuing)
    result = openssl_verify(tmp_path, leaf, root.certificate, issuing.certificate, mid.certificate)
    assert result.returncode == 0, result.stdout
    with pytest.raises(CAError, match=r"^the parent CA has path length 0, so it cannot issue"):
        create_intermediate_ca(
            key=cached_key(KeyAlgorithm.EC_P256, "x"),
            subject=SubjectAttributes(common_name="Too deep"),
            hash_alg=HashAlgorithm.SHA256,
            validity=timedelta(days=1),
            parent=issuing,
            now=now(),
        )
    with pytest.raises(CAError, match="allows at most 0 CAs below the new one"):
        create_intermediate_ca(
            key=cached_key(KeyAlgorithm.EC_P256, "x"),
            subject=SubjectAttributes(common_name="Too long"),
            hash_alg=HashAlgorithm.SHA256,
            validity=timedelta(days=1),
            parent=mid,
            now=now(),
            path_length=None,
        )


def test_openssl_needs_the_intermediate_to_build_the_chain(tmp_path: Path) -> None:
    root, inter = default_hierarchy()
    leaf = issue_leaf(leaf_request(), inter)
    result = openssl_verify(tmp_path, leaf, root.certificate)
    assert result.returncode != 0
    assert "unable to get local issuer certificate" in result.stdout


def test_a_leaf_cannot_be_a_parent() -> None:
    _, inter = default_hierarchy()
    leaf_key = cached_key(KeyAlgorithm.EC_P256, "leaf")
    leaf = issue_leaf(leaf_request(leaf_key), inter)
    fake = CAMaterial(certificate=leaf, private_key=leaf_key, chain=inter.chain)
    with pytest.raises(CAError, match="is not a CA"):
        make_intermediate(fake)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"subject": SubjectAttributes()}, "a CA needs a subject: give at least a common name"),
        ({"validity": timedelta(0)}, "validity must be positive"),
        ({"crl_urls": ("ftp://x/crl",)}, 'invalid URL "ftp://x/crl": expected an absolute http'),
        ({"aia_issuer_urls": ("pki/ca.crt",)}, 'invalid URL "pki/ca.crt"'),
        ({"path_length": -1}, "path length must be zero or more"),
    ],
)
def test_bad_intermediate_parameters_are_refused(changes: dict[str, object], message: str) -> None:
    root, _ = default_hierarchy()
    arguments: dict[str, object] = {
        "key": cached_key(KeyAlgorithm.EC_P256, "intermediate"),
        "subject": INTERMEDIATE_SUBJECT,
        "hash_alg": HashAlgorithm.SHA256,
        "validity": timedelta(days=1),
        "parent": root,
        "now": now(),
        **changes,
    }
    with pytest.raises(CAError, match=message.replace("(", r"\(")):
        create_intermediate_ca(**arguments)  # type: ignore[arg-type]


def test_an_expired_parent_cannot_issue() -> None:
    root, _ = default_hierarchy()
    later = root.certificate.not_valid_after_utc + timedelta(days=1)
    with pytest.raises(CAError, match="the parent CA expired at"):
        create_intermediate_ca(
            key=cached_key(KeyAlgorithm.EC_P256, "intermediate"),
            subject=INTERMEDIATE_SUBJECT,
            hash_alg=HashAlgorithm.SHA256,
            validity=timedelta(days=1),
            parent=root,
            now=later,
        )


def test_ca_material_is_frozen() -> None:
    root, _ = default_hierarchy()
    with pytest.raises(dataclasses.FrozenInstanceError):
        root.chain = ()  # type: ignore[misc]
