"""What every `kms` command shares: settings options, running services, errors, output."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click
from rich.console import Console
from rich.table import Table

from acme_server.private_files import write_private
from acme_server.services.context import Services
from acme_server.services.errors import ServiceError
from acme_server.settings import Settings, SettingsError, load_settings
from ca_core.errors import CAError
from store import StoreError

P = ParamSpec("P")
T = TypeVar("T")

USER_ERRORS = (ServiceError, SettingsError, CAError, StoreError, OSError)


class CLIError(click.ClickException):
    """A one-line error on stderr and exit code 2 (wrong input), never a traceback."""

    exit_code = 2


def settings_options(func: Callable[P, T]) -> Callable[P, T]:
    """--data-dir, --database and --config, which every command that opens the store takes."""
    func = click.option(
        "--config",
        "config_file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="TOML config file (also KMS_CONFIG).",
    )(func)
    func = click.option(
        "--database",
        "database_url",
        default=None,
        help="sqlite:///path.db or postgresql://user@host:port/db (also KMS_DATABASE_URL).",
    )(func)
    func = click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Directory for the SQLite database, the key-encryption key and TLS files "
        "(also KMS_DATA_DIR; default ./data).",
    )(func)
    return func


def build_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    try:
        return load_settings(overrides, config_file=config_file)
    except SettingsError as exc:
        raise CLIError(str(exc)) from None


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine, turning the errors a user can fix into a one-line message and exit 2."""
    try:
        return asyncio.run(coro)
    except USER_ERRORS as exc:
        message = str(exc) or type(exc).__name__
        if isinstance(exc, OSError) and exc.strerror:
            message = f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
        raise CLIError(message) from None


async def with_services(settings: Settings, action: Callable[[Services], Awaitable[T]]) -> T:
    services = await Services.open(settings)
    try:
        return await action(services)
    finally:
        await services.close()


def write_out(path: Path, data: str | bytes) -> None:
    """Write an --out file that may hold a private key: 0600 and atomic (private_files)."""
    try:
        write_private(path, data.encode() if isinstance(data, str) else data)
    except OSError as exc:
        raise CLIError(f"cannot write {path}: {exc.strerror}") from None


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def emit_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    table = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    Console(file=sys.stdout, soft_wrap=False).print(table)


def emit_fields(title: str, pairs: Sequence[tuple[str, Any]]) -> None:
    table = Table(title=title, title_justify="left", show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in pairs:
        table.add_row(key, "" if value is None else str(value))
    Console(file=sys.stdout, soft_wrap=False).print(table)


def json_option(func: Callable[P, T]) -> Callable[P, T]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(func)
