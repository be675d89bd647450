"""Loaded first for every test path (tests/ and conformance/, together or alone).

hypothesis is imported here, before any test starts a thread: CPython 3.11.7's ast.parse can
fail ("AST constructor recursion depth mismatch") when pytest's assertion rewriting parses a
module while another thread runs, and hypothesis's pytest plugin imports the package late,
at the terminal summary, after the servers' threads have run.
"""

from __future__ import annotations

import hypothesis  # noqa: F401
