"""What `make bench` prints on stdout: the report (table, notes, targets, profile) and the JSON
document that ends it (also what --json-out writes)."""

from __future__ import annotations

import json
import os
import platform
from datetime import datetime
from typing import Any

from bench.options import Options
from bench.report import TARGETS, profile_text, run_name, table, target_checks
from bench.runner import Results


def document(options: Options, results: Results, started: datetime) -> dict[str, Any]:
    return {
        "benchmark": "kms ACME issuance (full flows, HTTP-01)",
        "started": started.isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "options": options.as_json(),
        "targets": TARGETS,
        "runs": [r.as_json() for r in results.runs],
        "target_checks": [c.as_json() for c in target_checks(results.runs)],
        "skipped": results.skipped,
        "failures": results.failures,
        "profile": (
            {
                "run": results.profile_run.as_json() if results.profile_run else None,
                **results.profile.as_json(),
                "sql": results.profile_sql or None,
            }
            if results.profile is not None
            else {"skipped": results.profile_skipped or "not requested (--profile)"}
        ),
    }


def print_report(options: Options, results: Results, doc: dict[str, Any]) -> None:
    shown = list(results.runs)
    if results.profile_run is not None:
        shown.append(results.profile_run)
    print()
    print(
        "ACME issuance benchmark: full flows (newOrder .. certificate download), "
        f"{'TLS' if options.tls else 'plain HTTP'}, poll every "
        f"{1000 * options.poll_interval:.0f} ms, {os.cpu_count()} CPUs"
    )
    print()
    if shown:
        print(table(shown))
    notes = [f"  {run_name(run)}: {note}" for run in shown for note in run.notes]
    if notes:
        print("\nNotes:")
        print("\n".join(notes))
    for message in results.skipped:
        print(f"\n{message}")
    for failure in results.failures:
        print(
            f"\n{failure['backend']} --workers {failure['workers']} failed at {failure['stage']}:"
            f"\n{failure['detail']}"
        )
    checks = target_checks(results.runs)
    if checks:
        print("\nTargets (reported against, never asserted):")
        for check in checks:
            print(check.line())
    if results.profile is not None:
        print()
        print(profile_text(results.profile, results.profile_run, results.profile_sql))
    elif options.profile != "off":
        print(f"\nProfile skipped: {results.profile_skipped}")
    print("\nJSON:")
    print(json.dumps(doc, indent=2))
