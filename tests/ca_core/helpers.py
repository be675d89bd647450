"""Shared test material: cached keys, a small hierarchy, PEM files and the openssl binary."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from cryptography import x509

from ca_core.export import certificates_pem
from ca_core.hierarchy import CAMaterial, create_intermediate_ca, create_root_ca
from ca_core.issuer import LeafRequest
from ca_core.keys import PrivateKey, generate_private_key
from ca_core.serials import new_serial
from pki_types.model import (
    ExtendedKeyUsage,
    HashAlgorithm,
    KeyAlgorithm,
    KeyUsage,
    SanType,
    SubjectAltName,
    SubjectAttributes,
)

ROOT_SUBJECT = SubjectAttributes(common_name="Test Root CA", organization="Example", country="US")
INTERMEDIATE_SUBJECT = SubjectAttributes(common_name="Test Issuing CA", organization="Example")
CRL_URL = "http://pki.example.test/root.crl"
AIA_URL = "http://pki.example.test/root.crt"


@cache
def cached_key(alg: KeyAlgorithm, slot: str = "a") -> PrivateKey:
    """One key per (algorithm, slot) for the whole session: RSA-4096 is slow to make."""
    return generate_private_key(alg)


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def make_root(
    alg: KeyAlgorithm = KeyAlgorithm.EC_P256, hash_alg: HashAlgorithm = HashAlgorithm.SHA256
) -> CAMaterial:
    return create_root_ca(
        key=cached_key(alg, "root"),
        subject=ROOT_SUBJECT,
        hash_alg=hash_alg,
        validity=timedelta(days=3650),
        now=now(),
    )


def make_intermediate(
    root: CAMaterial,
    alg: KeyAlgorithm = KeyAlgorithm.EC_P256,
    hash_alg: HashAlgorithm = HashAlgorithm.SHA256,
    validity: timedelta = timedelta(days=1825),
) -> CAMaterial:
    return create_intermediate_ca(
        key=cached_key(alg, "intermediate"),
        subject=INTERMEDIATE_SUBJECT,
        hash_alg=hash_alg,
        validity=validity,
        parent=root,
        now=now(),
        crl_urls=(CRL_URL,),
        aia_issuer_urls=(AIA_URL,),
    )


@cache
def default_hierarchy() -> tuple[CAMaterial, CAMaterial]:
    root = make_root()
    return root, make_intermediate(root)


def leaf_request(private_key: PrivateKey | None = None, /, **changes: object) -> LeafRequest:
    """A typical TLS server request; keyword arguments replace fields."""
    key = private_key or cached_key(KeyAlgorithm.EC_P256, "leaf")
    request = LeafRequest(
        subject=SubjectAttributes(common_name="www.example.test"),
        sans=(
            SubjectAltName(SanType.DNS, "www.example.test"),
            SubjectAltName(SanType.IP, "192.0.2.7"),
        ),
        public_key=key.public_key(),
        key_usages=frozenset({KeyUsage.DIGITAL_SIGNATURE}),
        extended_key_usages=frozenset({ExtendedKeyUsage.SERVER_AUTH}),
        validity=timedelta(days=90),
        hash_alg=HashAlgorithm.SHA256,
        serial=new_serial(),
        not_before=now(),
    )
    return replace(request, **changes)  # type: ignore[arg-type]


def write_pem(path: Path, *certs: x509.Certificate) -> Path:
    path.write_text(certificates_pem(certs))
    return path


def openssl(*args: str | Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """Run the openssl binary; stdout and stderr are merged into .stdout."""
    result = subprocess.run(
        ["openssl", *map(str, args)],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    result.stdout += result.stderr
    return result


def openssl_verify(
    tmp_path: Path,
    leaf: x509.Certificate,
    root: x509.Certificate,
    *untrusted: x509.Certificate,
    extra: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    """`openssl verify -CAfile root [-untrusted intermediates] leaf`."""
    args: list[str | Path] = ["verify", "-CAfile", write_pem(tmp_path / "root.pem", root)]
    if untrusted:
        args += ["-untrusted", write_pem(tmp_path / "untrusted.pem", *untrusted)]
    return openssl(*args, *extra, write_pem(tmp_path / "leaf.pem", leaf))
