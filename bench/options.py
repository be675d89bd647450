"""The command line of `make bench` (`python -m bench`): its options, their defaults (--quick
among them) and the `Options` the runs are made from."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from bench.server import PG_ADMIN_URLS, redact

BACKENDS: Final = ("sqlite", "postgresql")
PG_URL_ENV: Final = "KMS_BENCH_PG_URL"


@dataclass
class Options:
    backends: list[str]
    workers: list[int]
    concurrency: list[int]
    count: int
    count_serial: int
    warmup: int
    tls: bool
    poll_interval: float
    flow_timeout: float
    generator_procs: int
    pg_urls: list[str]
    server_env: dict[str, str]
    profile: str  # "off", "on" or "only"
    json_out: Path | None

    def count_for(self, concurrency: int) -> int:
        return self.count_serial if concurrency == 1 else self.count

    def as_json(self) -> dict[str, Any]:
        data = dict(vars(self))
        data["pg_urls"] = [redact(u) for u in self.pg_urls]
        data["json_out"] = str(self.json_out) if self.json_out else None
        return data


def _csv_ints(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected numbers like 1,8,32") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected positive numbers")
    return values


def _backends(text: str) -> list[str]:
    values = [v.strip() for v in text.split(",") if v.strip()]
    unknown = [v for v in values if v not in BACKENDS]
    if unknown or not values:
        raise argparse.ArgumentTypeError(f"backends are {', '.join(BACKENDS)}")
    return values


def _env_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r}: expected KEY=VALUE")
    return key, value


def parse_args(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="make bench BENCH_ARGS=...",
        description="Benchmark full ACME issuance flows against a kms server it starts.",
    )
    parser.add_argument("--quick", action="store_true", help="40 certs per run (10 at c1)")
    parser.add_argument("--count", type=int, help="certificates per run at concurrency > 1 (200)")
    parser.add_argument("--count-serial", type=int, help="certificates at concurrency 1 (50)")
    parser.add_argument("--concurrency", type=_csv_ints, default=[1, 8, 32], help="1,8,32")
    parser.add_argument("--workers", type=_csv_ints, default=[1, 2], help="server processes: 1,2")
    parser.add_argument(
        "--backends", type=_backends, default=list(BACKENDS), help="sqlite,postgresql"
    )
    parser.add_argument("--warmup", type=int, help="unmeasured flows after start (16)")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS (TLS in the figures)")
    parser.add_argument(
        "--poll-interval", type=float, default=0.01, help="seconds between polls (0.01)"
    )
    parser.add_argument(
        "--flow-timeout", type=float, default=60.0, help="seconds before a flow counts as failed"
    )
    parser.add_argument(
        "--generator-procs",
        type=int,
        default=1,
        help="load generator processes (1); more when one core cannot keep up with the server",
    )
    parser.add_argument(
        "--pg-url",
        action="append",
        default=None,
        help=f"admin URL to create the bench database with (also ${PG_URL_ENV}; default "
        "postgresql://postgres@127.0.0.1:5432/postgres, then .../test)",
    )
    parser.add_argument(
        "--server-env",
        type=_env_pair,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for kms serve, e.g. KMS_LOG_LEVEL=WARNING",
    )
    profile = parser.add_mutually_exclusive_group()
    profile.add_argument(
        "--profile", action="store_true", help="also profile a SQLite c8 run with py-spy"
    )
    profile.add_argument("--profile-only", action="store_true", help="only the profile run")
    parser.add_argument("--json-out", type=Path, help="also write the JSON document here")
    args = parser.parse_args(argv)
    count = args.count or (40 if args.quick else 200)
    count_serial = args.count_serial or (10 if args.quick else max(1, min(50, count // 4)))
    warmup = args.warmup if args.warmup is not None else (8 if args.quick else 16)
    pg_urls = args.pg_url or (
        [os.environ[PG_URL_ENV]] if os.environ.get(PG_URL_ENV) else list(PG_ADMIN_URLS)
    )
    return Options(
        backends=args.backends,
        workers=args.workers,
        concurrency=args.concurrency,
        count=count,
        count_serial=count_serial,
        warmup=warmup,
        tls=args.tls,
        poll_interval=args.poll_interval,
        flow_timeout=args.flow_timeout,
        generator_procs=max(1, args.generator_procs),
        pg_urls=pg_urls,
        server_env=dict(args.server_env),
        profile="only" if args.profile_only else ("on" if args.profile else "off"),
        json_out=args.json_out,
    )
