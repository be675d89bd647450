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
    # Drivers of a running server: may use its code for setup, never the tests.
    "bench": frozenset({"pki_types", "policy", "ca_core", "store", "acme_server", "agent"}),
    "conformance": frozenset({"pki_types", "policy", "ca_core", "store", "acme_server", "agent"}),
    # Tests may import anything of ours, but nothing imports them (see PACKAGES).
    "tests": frozenset({"pki_types", "policy", "ca_core", "store", "acme_server", "agent"}),
}

# Imports the table refuses that are known and still to be removed (issue 14: the support
# bench/ and conformance/ take from tests/ is to move to a package all three may import).
# Each entry must still occur, so a fixed one has to leave this table.
PENDING: frozenset[tuple[str, str]] = frozenset(
    {
        ("bench", "tests"),
        ("conformance", "tests"),
    }
)

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
    refused = [(top, where) for top, where in _violations(package) if (package, top) not in PENDING]
    assert not refused, "\n".join(f"{where} imports {top}" for top, where in refused)


@pytest.mark.parametrize(("package", "imported"), sorted(PENDING))
def test_pending_exceptions_are_still_needed(package: str, imported: str) -> None:
    assert imported not in MAY_IMPORT[package] | {package}
    assert any(top == imported for top, _ in _violations(package)), (
        f"{package} no longer imports {imported}: remove the entry from PENDING"
    )


def test_the_checker_sees_lazy_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os\nfrom . import sibling\n\n\ndef f() -> None:\n"
        "    from store.db import use_wal\n    import acme_server.app\n",
        encoding="utf-8",
    )
    assert _imported_packages(sample) == {("store", 6), ("acme_server", 7)}
