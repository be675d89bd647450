"""Hash choices for signatures: RSA PKCS#1 v1.5 or ECDSA over SHA-256/384/512."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes

from ca_core.hierarchy import signing_hash
from ca_core.signing import hash_algorithm_of
from pki_types.model import HashAlgorithm


@pytest.mark.parametrize(
    ("alg", "kind"),
    [
        (HashAlgorithm.SHA256, hashes.SHA256),
        (HashAlgorithm.SHA384, hashes.SHA384),
        (HashAlgorithm.SHA512, hashes.SHA512),
    ],
)
def test_signing_hash_and_back(alg: HashAlgorithm, kind: type[hashes.HashAlgorithm]) -> None:
    assert isinstance(signing_hash(alg), kind)
    assert hash_algorithm_of(kind()) is alg


@pytest.mark.parametrize(
    "other",
    [hashes.SHA1(), hashes.SHA224(), hashes.SHA3_256(), None],  # noqa: S303 (only its name)
)
def test_other_hashes_have_no_policy_name(other: hashes.HashAlgorithm | None) -> None:
    assert hash_algorithm_of(other) is None
