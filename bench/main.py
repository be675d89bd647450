"""`make bench`: full ACME issuance flows against a `kms serve` the bench starts, on SQLite and
PostgreSQL, with 1 and 2 server processes, at concurrency 1, 8 and 32.

For each (backend, workers): start the server on a fresh data directory (and a fresh
PostgreSQL database), warm it up, then per concurrency level create that many accounts
(unmeasured) and time `count` full flows. Around the timed flows the bench reads the
server's CPU time (its process and all descendants, /proc/<pid>/stat), its own CPU time,
and the machine's busy time (/proc/stat). See bench/README.md for how to read the figures.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from bench.loop import run_loop
from bench.options import parse_args
from bench.output import document, print_report
from bench.runner import run_all, say


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    started = datetime.now(UTC)
    results = run_loop(run_all(options))
    doc = document(options, results, started)
    print_report(options, results, doc)
    if options.json_out is not None:
        options.json_out.parent.mkdir(parents=True, exist_ok=True)
        options.json_out.write_text(json.dumps(doc, indent=2) + "\n")
        say(f"JSON written to {options.json_out}")
    return 0
