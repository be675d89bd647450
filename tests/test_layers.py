"""The layers inside acme_server, checked on every .py file of it (the package-level rules are
tests/test_import_directions.py).

Interfaces (acme/, rest/, public/, cli/) sit on the services; the services and the
validation worker never reach back up into an interface, and no interface reaches into
another's handlers. `MAY_NOT_IMPORT` is the one table: for each layer, the modules of
acme_server it must not import (a prefix covers its submodules), and the written exceptions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.source import parse_module

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "acme_server"

INTERFACES = (
    "acme_server.acme",
    "acme_server.rest",
    "acme_server.public",
    "acme_server.cli",
    "acme_server.console",
    "acme_server.app",
    "acme_server.routes",
    "acme_server.errors",
)
# layer -> (what it must not import, the exceptions and why)
MAY_NOT_IMPORT: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    "acme_server.services": (
        (*INTERFACES, "acme_server.jobs"),
        # The ACME URL scheme is pure string building; a profile shows its directory URL.
        frozenset({"acme_server.acme.urls"}),
    ),
    "acme_server.validation": ((*INTERFACES, "acme_server.jobs"), frozenset()),
    "acme_server.jobs": (INTERFACES, frozenset()),
    # The JSON documents REST and the CLI both print: no web framework, no interface.
    "acme_server.render": ((*INTERFACES, "acme_server.jobs"), frozenset()),
    "acme_server.acme": (
        ("acme_server.rest", "acme_server.public", "acme_server.cli", "acme_server.jobs"),
        frozenset(),
    ),
    "acme_server.rest": (
        (
            "acme_server.acme.handlers",
            "acme_server.public",
            "acme_server.cli",
            "acme_server.console",
            "acme_server.jobs",
        ),
        frozenset(),
    ),
    # The console calls the services REST calls; from REST it takes only the shared pieces
    # (services_of, the PUBLIC marker, the JSON shapes its pages show), never a handler.
    "acme_server.console": (
        (
            "acme_server.acme.handlers",
            "acme_server.public",
            "acme_server.cli",
            "acme_server.jobs",
            "acme_server.rest",
        ),
        frozenset(
            {
                "acme_server.rest.common",
                "acme_server.rest.guard",  # PUBLIC, the marker of a route with no check
                "acme_server.errors",  # the one table of service error -> status
                "acme_server.rest.certificates.render",
            }
        ),
    ),
    "acme_server.public": (
        ("acme_server.acme.handlers", "acme_server.rest", "acme_server.cli", "acme_server.jobs"),
        frozenset(),
    ),
}


def _module_of(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    for node in ast.walk(parse_module(path)):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, node.lineno))
            # `from acme_server.acme import handlers` names a module too
            found += [(f"{node.module}.{alias.name}", node.lineno) for alias in node.names]
    return found


def _covers(prefix: str, module: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _refused(layer: str) -> list[str]:
    banned, allowed = MAY_NOT_IMPORT[layer]
    files = [p for p in sorted(PACKAGE.rglob("*.py")) if _covers(layer, _module_of(p))]
    assert files, f"no module in layer {layer}"
    return [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in files
        for module, line in _imports(path)
        if any(_covers(b, module) for b in banned) and not any(_covers(a, module) for a in allowed)
    ]


@pytest.mark.parametrize("layer", MAY_NOT_IMPORT)
def test_layer_never_reaches_up_or_across(layer: str) -> None:
    refused = _refused(layer)
    assert not refused, "\n".join(refused)


def test_each_exception_is_still_needed() -> None:
    """A written exception nothing uses any more has to leave the table."""
    for layer, (_, allowed) in MAY_NOT_IMPORT.items():
        files = [p for p in PACKAGE.rglob("*.py") if _covers(layer, _module_of(p))]
        used = {m for p in files for m, _ in _imports(p)}
        for exception in allowed:
            assert any(_covers(exception, m) for m in used), f"{layer}: {exception} is unused"


def test_the_checker_sees_from_package_import_module(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f() -> None:\n    from acme_server.acme import handlers\n")
    assert ("acme_server.acme.handlers", 2) in _imports(sample)
