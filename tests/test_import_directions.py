"""The import directions of /work/shared/DESIGN.md, checked on every .py file of the project.

`MAY_IMPORT` is the one table: a package may import itself, the standard library, third-party
libraries and the packages of ours listed for it, nothing else. Every `import x` and
`from x import y` counts, at any depth (imports inside functions too); relative imports stay
inside their package.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

from tests.support.source import parse_module

ROOT = Path(__file__).resolve().parents[1]

# package -> the packages of ours it may import (besides itself), and why.
MAY_IMPORT: dict[str, frozenset[str]] = {
    # The closed sets (X.509 and inventory enums) and the TTL grammar: below everything.
    "pki_types": frozenset(),
    # Pure (request facts, policy) -> verdict; the stdlib and pki_types only.
    "policy": frozenset({"pki_types"}),
    # Keys, signing, CRLs: no HTTP, no SQL; `ca_core -> policy` (types) is allowed.
    "ca_core": frozenset({"pki_types", "policy"}),
    # Persistence: never the server; the enums it stores come from pki_types.
    "store": frozenset({"pki_types"}),
    # Wires policy + ca_core + store; the CLI mounts the agent's `kms cert-manager agent`.
    "acme_server": frozenset({"pki_types", "policy", "ca_core", "store", "agent"}),
    # Talks to the server over HTTP only: no server package at all.
    "agent": frozenset(),
    # Support shared by the three below (client, servers, databases): uses our code, never them.
    "testkit": frozenset({"pki_types", "policy", "ca_core", "store", "acme_server", "agent"}),
    # Drivers of a running server: may use its code for setup and testkit, never the tests.
    "bench": frozenset(
        {"pki_types", "policy", "ca_core", "store", "acme_server", "agent", "testkit"}
    ),
    "conformance": frozenset(
        {"pki_types", "policy", "ca_core", "store", "acme_server", "agent", "testkit"}
    ),
    # Tests may import anything of ours, but nothing imports them (see PACKAGES).
    "tests": frozenset(
        {"pki_types", "policy", "ca_core", "store", "acme_server", "agent", "testkit"}
    ),
}

PACKAGES = tuple(MAY_IMPORT)


@cache
def _files(package: str) -> tuple[Path, ...]:
    return tuple(sorted((ROOT / package).rglob("*.py")))


def _imported_packages(path: Path) -> set[tuple[str, int]]:
    """(top-level package of ours, line) for every absolute import in the file."""
    tree = parse_module(path)
    found: set[tuple[str, int]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top in MAY_IMPORT:
                found.add((top, node.lineno))
    return found


def _violations(package: str) -> list[tuple[str, str]]:
    """(imported package, "file:line") for each import the table refuses."""
    allowed = MAY_IMPORT[package] | {package}
    return [
        (top, f"{path.relative_to(ROOT)}:{line}")
        for path in _files(package)
        for top, line in sorted(_imported_packages(path))
        if top not in allowed
    ]


def test_every_package_of_the_project_is_in_the_table() -> None:
    on_disk = {
        child.name
        for child in ROOT.iterdir()
        if (child / "__init__.py").is_file() and not child.name.startswith(".")
    }
    assert on_disk == set(PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_package_imports_only_what_design_allows(package: str) -> None:
    assert _files(package), f"no .py files in {package}/"
    refused = _violations(package)
    assert not refused, "\n".join(f"{where} imports {top}" for top, where in refused)


def test_nothing_imports_the_tests() -> None:
    assert [package for package, allowed in MAY_IMPORT.items() if "tests" in allowed] == []


def test_the_checker_sees_lazy_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os\nfrom . import sibling\n\n\ndef f() -> None:\n"
        "    from store.db import use_wal\n    import acme_server.app\n",
        encoding="utf-8",
    )
    assert _imported_packages(sample) == {("store", 6), ("acme_server", 7)}
