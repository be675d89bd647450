"""CRLs (RFC 5280 section 5) checked by cryptography and by `openssl verify -crl_check`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ca_core.crl import RevokedEntry, build_crl
from ca_core.errors import CAError
from ca_core.hierarchy import CAMaterial
from ca_core.issuer import issue_leaf
from pki_types.model import HashAlgorithm, KeyAlgorithm, RevocationReason
from tests.ca_core.helpers import (
    CRL_URL,
    default_hierarchy,
    leaf_request,
    make_intermediate,
    make_root,
    now,
    openssl,
    write_pem,
)


def _crl(
    issuer: CAMaterial,
    revoked: list[RevokedEntry],
    number: int = 1,
    hash_alg: HashAlgorithm = HashAlgorithm.SHA256,
) -> x509.CertificateRevocationList:
    start = now()
    return build_crl(
        issuer=issuer,
        number=number,
        revoked=revoked,
        this_update=start,
        next_update=start + timedelta(days=7),
        hash_alg=hash_alg,
    )


def _write_crl(path: Path, *crls: x509.CertificateRevocationList) -> Path:
    path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in crls))
    return path


@pytest.mark.parametrize(
    ("alg", "hash_alg"),
    [(KeyAlgorithm.EC_P256, HashAlgorithm.SHA256), (KeyAlgorithm.RSA_2048, HashAlgorithm.SHA512)],
)
def test_s5_openssl_crl_check_finds_the_revoked_leaf(
    alg: KeyAlgorithm, hash_alg: HashAlgorithm, tmp_path: Path
) -> None:
    root = make_root(alg, hash_alg)
    inter = make_intermediate(root, alg, hash_alg)
    revoked_leaf = issue_leaf(leaf_request(crl_urls=(CRL_URL,)), inter)
    good_leaf = issue_leaf(leaf_request(crl_urls=(CRL_URL,)), inter)
    entry = RevokedEntry(revoked_leaf.serial_number, now(), RevocationReason.KEY_COMPROMISE)
    crl = _crl(inter, [entry], hash_alg=hash_alg)
    assert crl.is_signature_valid(inter.private_key.public_key())
    assert crl.get_revoked_certificate_by_serial_number(revoked_leaf.serial_number) is not None
    assert crl.get_revoked_certificate_by_serial_number(good_leaf.serial_number) is None

    chain = write_pem(tmp_path / "chain.pem", inter.certificate, root.certificate)
    crl_file = _write_crl(tmp_path / "crl.pem", crl)
    for name, leaf, ok in (("revoked", revoked_leaf, False), ("good", good_leaf, True)):
        cert = write_pem(tmp_path / f"{name}.pem", leaf)
        result = openssl("verify", "-crl_check", "-CAfile", chain, "-CRLfile", crl_file, cert)
        if ok:
            assert result.returncode == 0, result.stdout
            assert result.stdout.strip() == f"{cert}: OK"
        else:
            assert result.returncode != 0
            assert "certificate revoked" in result.stdout


def test_s5_crl_check_all_sees_a_revoked_intermediate(tmp_path: Path) -> None:
    root = make_root()
    inter = make_intermediate(root)
    leaf = issue_leaf(leaf_request(), inter)
    root_crl = _crl(
        root,
        [RevokedEntry(inter.certificate.serial_number, now(), RevocationReason.CA_COMPROMISE)],
    )
    inter_crl = _crl(inter, [])
    chain = write_pem(tmp_path / "chain.pem", inter.certificate, root.certificate)
    crls = _write_crl(tmp_path / "crls.pem", root_crl, inter_crl)
    cert = write_pem(tmp_path / "cert.pem", leaf)
    leaf_only = openssl("verify", "-crl_check", "-CAfile", chain, "-CRLfile", crls, cert)
    assert leaf_only.returncode == 0, leaf_only.stdout
    whole = openssl("verify", "-crl_check_all", "-CAfile", chain, "-CRLfile", crls, cert)
    assert whole.returncode != 0 and "certificate revoked" in whole.stdout


def test_s5_2_3_crl_number_increases_and_openssl_reads_the_der(tmp_path: Path) -> None:
    _, inter = default_hierarchy()
    numbers = []
    for number in (1, 2):
        crl = _crl(inter, [], number=number)
        numbers.append(crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number)
        der = tmp_path / f"crl{number}.der"
        der.write_bytes(crl.public_bytes(serialization.Encoding.DER))
        text = openssl("crl", "-inform", "DER", "-noout", "-text", "-in", der)
        assert text.returncode == 0, text.stdout
        assert f"X509v3 CRL Number: \n                {number}\n" in text.stdout
        assert "No Revoked Certificates." in text.stdout
    assert numbers == [1, 2]


def test_s5_2_1_crl_carries_the_issuers_key_identifier_and_name() -> None:
    _, inter = default_hierarchy()
    crl = _crl(inter, [])
    aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = inter.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    assert crl.issuer == inter.certificate.subject
    assert crl.next_update_utc is not None and crl.next_update_utc > crl.last_update_utc


@pytest.mark.parametrize("reason", list(RevocationReason))
def test_s5_3_1_reason_codes_omit_unspecified(reason: RevocationReason, tmp_path: Path) -> None:
    _, inter = default_hierarchy()
    crl = _crl(inter, [RevokedEntry(0x1234, now(), reason)])
    entry = crl.get_revoked_certificate_by_serial_number(0x1234)
    assert entry is not None
    reasons = [e for e in entry.extensions if isinstance(e.value, x509.CRLReason)]
    text = openssl("crl", "-noout", "-text", "-in", _write_crl(tmp_path / "c.pem", crl)).stdout
    if reason is RevocationReason.UNSPECIFIED:
        assert reasons == [] and "Reason Code" not in text
    else:
        (ext,) = reasons
        assert isinstance(ext.value, x509.CRLReason)
        assert not ext.critical
        assert _REASON_CODE[ext.value.reason] == reason.code
        assert "CRL Reason Code:" in text


_REASON_CODE = {
    x509.ReasonFlags.unspecified: 0,
    x509.ReasonFlags.key_compromise: 1,
    x509.ReasonFlags.ca_compromise: 2,
    x509.ReasonFlags.affiliation_changed: 3,
    x509.ReasonFlags.superseded: 4,
    x509.ReasonFlags.cessation_of_operation: 5,
    x509.ReasonFlags.certificate_hold: 6,
    x509.ReasonFlags.privilege_withdrawn: 9,
    x509.ReasonFlags.aa_compromise: 10,
}


def test_revocation_times_are_kept() -> None:
    _, inter = default_hierarchy()
    at = now() - timedelta(hours=3)
    crl = _crl(inter, [RevokedEntry(7, at, RevocationReason.SUPERSEDED)])
    entry = crl.get_revoked_certificate_by_serial_number(7)
    assert entry is not None and entry.revocation_date_utc == at


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"number": -1}, "the CRL number must be zero or more"),
        ({"number": 2**159}, "at most 20 octets"),
        ({"next_update": "before"}, "next update must come after its this update"),
        ({"revoked": "twice"}, "serial 5 is listed twice"),
    ],
)
def test_bad_crl_parameters_are_refused(kwargs: dict[str, object], message: str) -> None:
    _, inter = default_hierarchy()
    start = now()
    entry = RevokedEntry(5, start, RevocationReason.UNSPECIFIED)
    arguments: dict[str, object] = {
        "issuer": inter,
        "number": 1,
        "revoked": [],
        "this_update": start,
        "next_update": start + timedelta(days=1),
        "hash_alg": HashAlgorithm.SHA256,
    }
    arguments.update(kwargs)
    if arguments["next_update"] == "before":
        arguments["next_update"] = start
    if arguments["revoked"] == "twice":
        arguments["revoked"] = [entry, entry]
    with pytest.raises(CAError, match=message):
        build_crl(**arguments)  # type: ignore[arg-type]
