"""SignatureAlgorithm (pki_types/model.py) and the purity of policy and of the pki_types it
imports (stdlib + policy + pki_types; pki_types itself stdlib only)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from pki_types.model import HashAlgorithm, KeyAlgorithm, SignatureAlgorithm
from tests.support.source import parse_module

ROOT = Path(__file__).resolve().parents[2]
POLICY_DIR = ROOT / "policy"
PKI_TYPES_DIR = ROOT / "pki_types"
PURE_FILES = sorted(POLICY_DIR.glob("*.py")) + sorted(PKI_TYPES_DIR.glob("*.py"))


@pytest.mark.parametrize(
    ("key", "digest", "expected"),
    [
        (KeyAlgorithm.RSA_2048, HashAlgorithm.SHA256, "RSA-SHA256"),
        (KeyAlgorithm.RSA_3072, HashAlgorithm.SHA384, "RSA-SHA384"),
        (KeyAlgorithm.RSA_4096, HashAlgorithm.SHA512, "RSA-SHA512"),
        (KeyAlgorithm.EC_P256, HashAlgorithm.SHA256, "ECDSA-SHA256"),
        (KeyAlgorithm.EC_P384, HashAlgorithm.SHA384, "ECDSA-SHA384"),
        (KeyAlgorithm.EC_P521, HashAlgorithm.SHA512, "ECDSA-SHA512"),
    ],
)
def test_signature_algorithm_from_the_signing_key_and_hash(
    key: KeyAlgorithm, digest: HashAlgorithm, expected: str
) -> None:
    algorithm = SignatureAlgorithm.for_signing_key(key, digest)
    assert algorithm == SignatureAlgorithm(expected)
    assert algorithm.hash_algorithm is digest
    assert algorithm.is_rsa is key.is_rsa


def test_every_key_and_hash_pair_has_a_signature_algorithm() -> None:
    pairs = {SignatureAlgorithm.for_signing_key(k, h) for k in KeyAlgorithm for h in HashAlgorithm}
    assert pairs == set(SignatureAlgorithm)


def _imports(path: Path) -> set[str]:
    tree = parse_module(path)
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(POLICY_DIR.glob("*.py")), ids=lambda p: p.name)
def test_policy_imports_only_the_standard_library_and_itself(path: Path) -> None:
    for name in _imports(path):
        top = name.split(".")[0]
        assert top in {"policy", "pki_types"} or top in sys.stdlib_module_names, (
            f"{path.name} imports {name}"
        )


@pytest.mark.parametrize("path", sorted(PKI_TYPES_DIR.glob("*.py")), ids=lambda p: p.name)
def test_pki_types_imports_only_the_standard_library_and_itself(path: Path) -> None:
    for name in _imports(path):
        top = name.split(".")[0]
        assert top == "pki_types" or top in sys.stdlib_module_names, f"{path.name} imports {name}"


@pytest.mark.parametrize("path", PURE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_policy_has_no_clock_randomness_or_io(path: Path) -> None:
    forbidden = {"datetime", "time", "random", "secrets", "os", "pathlib", "socket", "io"}
    assert not {n.split(".")[0] for n in _imports(path)} & forbidden, path.name
