"""Parsing the project's own source for the tests that check what it imports.

CPython 3.11 (up to 3.11.8) keeps the AST constructor's recursion depth in interpreter-wide
state that two threads building ASTs at once corrupt (python/cpython#106905): `ast.parse`
then raises `SystemError: AST constructor recursion depth mismatch` on valid source. Test
servers run threads beside the test, so the parse is retried a few times before giving up.
"""

from __future__ import annotations

import ast
from pathlib import Path

_ATTEMPTS = 5


def parse_module(path: Path) -> ast.Module:
    source = path.read_text(encoding="utf-8")
    for _ in range(_ATTEMPTS - 1):
        try:
            return ast.parse(source, filename=str(path))
        except SystemError:  # the CPython race above, never a fault of the source
            continue
    return ast.parse(source, filename=str(path))
