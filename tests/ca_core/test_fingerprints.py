"""Fingerprints match what `openssl x509 -fingerprint` prints."""

from __future__ import annotations

from pathlib import Path

import pytest

from ca_core.fingerprints import sha1_fingerprint, sha256_fingerprint
from tests.ca_core.helpers import default_hierarchy, openssl, write_pem


@pytest.mark.parametrize(
    ("digest", "function"), [("-sha256", sha256_fingerprint), ("-sha1", sha1_fingerprint)]
)
def test_fingerprints_match_openssl(digest: str, function: object, tmp_path: Path) -> None:
    root, _ = default_hierarchy()
    pem = write_pem(tmp_path / "c.pem", root.certificate)
    out = openssl("x509", "-noout", "-fingerprint", digest, "-in", pem).stdout.strip()
    fingerprint = function(root.certificate)  # type: ignore[operator]
    assert out.split("=", 1)[1] == fingerprint
    assert fingerprint == fingerprint.upper()
    assert len(fingerprint.split(":")) == (32 if digest == "-sha256" else 20)
