"""What every `kms` command shares: kms_command (the settings options, the services, the
errors a user can fix as one line and exit code 2, --json), and the output helpers."""

from __future__ import annotations

import asyncio
import inspect
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from acme_server.private_files import write_private
from acme_server.served import served_settings
from acme_server.services.context import Services
from acme_server.services.errors import ServiceError
from acme_server.settings import Settings, SettingsError, load_settings
from ca_core.errors import CAError
from store import StoreError

T = TypeVar("T")

USER_ERRORS = (ServiceError, SettingsError, CAError, StoreError, OSError)


class CLIError(click.ClickException):
    """A one-line error on stderr and exit code 2 (wrong input), never a traceback."""

    exit_code = 2


Action = Callable[[Services], Awaitable[None]]
"""What a command does with the open services: look up, change, print."""


def _settings_params() -> list[click.Parameter]:
    """--data-dir, --database and --config (their environment variables are read by
    load_settings: KMS_DATA_DIR, KMS_DATABASE_URL, KMS_CONFIG)."""
    return [
        click.Option(
            ["--data-dir"],
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            help="Directory for the SQLite database, the key-encryption key and TLS files "
            "(also KMS_DATA_DIR; default ./data).",
        ),
        click.Option(
            ["--database", "database_url"],
            default=None,
            help="sqlite:///path.db or postgresql://user@host:port/db (also KMS_DATABASE_URL).",
        ),
        click.Option(
            ["--config", "config_file"],
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="TOML config file (also KMS_CONFIG).",
        ),
    ]


def _json_param() -> click.Parameter:
    return click.Option(["--json", "as_json"], is_flag=True, help="Print JSON for scripts.")


def user_message(exc: BaseException) -> str:
    """The one line a user sees for an error they can fix."""
    message = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        message = f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return message


def command_settings(
    overrides: dict[str, Any], config_file: Path | None, *, served: bool = True
) -> Settings:
    """load_settings for a command; with `served`, over what the last `kms serve` on the
    data directory recorded of its URL settings (acme_server/served.py), so the URLs the
    command prints are the server's, whatever host and port it was told."""
    settings = load_settings(overrides, config_file=config_file)
    recorded = served_settings(settings.data_dir) if served else {}
    if not recorded:
        return settings
    try:
        return load_settings(overrides, config_file=config_file, fallback=recorded)
    except SettingsError:  # a damaged record: the command's own settings alone
        return settings


async def _with_services(settings: Settings, action: Callable[[Services], Awaitable[T]]) -> T:
    services = await Services.open(settings)
    try:
        return await action(services)
    finally:
        await services.close()


def run_with_services(settings: Settings, action: Callable[[Services], Awaitable[T]]) -> T:
    """Open the services, await the action, close them: for `kms serve`, which must hand
    over to uvicorn after its event loop has ended. Other commands let kms_command do it."""
    return asyncio.run(_with_services(settings, action))


def kms_command(
    group: click.Group | None,
    name: str,
    *,
    json: bool = False,
    settings_first: bool = False,
    settings_from: Sequence[str] = (),
    pass_settings: bool = False,
    served: bool = True,
) -> Callable[[Callable[..., Any]], click.Command]:
    """Make a `kms` command of a body: the settings options, the services, the errors.

    The command takes --data-dir, --database and --config (after the body's own options,
    or before them with settings_first) and, with json=True, --json (as the body's
    `as_json`). Its settings are load_settings of those (and of the body's options named
    in settings_from, which the body does not receive), over the URL settings the last
    `kms serve` recorded unless served=False (command_settings). It is added to group (None: a
    command to add elsewhere). The body's docstring is its help.

    An `async def` body is awaited as body(services, **options) with the services open.
    A plain `def` body runs first, before the data directory or the database is touched
    (input checks, prompts), as body(**options), or body(settings, **options) with
    pass_settings; it returns the Action to await with the open services, or None.

    The errors a user can fix (USER_ERRORS) end the command with their one-line message
    and exit code 2, as CLIError does.
    """

    def decorate(body: Callable[..., Any]) -> click.Command:
        own = list(reversed(getattr(body, "__click_params__", [])))
        params = _settings_params() + own if settings_first else own + _settings_params()
        if json:
            params.append(_json_param())

        def callback(
            data_dir: Path | None,
            database_url: str | None,
            config_file: Path | None,
            **options: Any,
        ) -> None:
            overrides = {"data_dir": data_dir, "database_url": database_url}
            overrides.update({key: options.pop(key) for key in settings_from})
            try:
                if inspect.iscoroutinefunction(body):
                    settings = command_settings(overrides, config_file, served=served)
                    run_with_services(settings, lambda services: body(services, **options))
                    return
                if pass_settings:
                    settings = command_settings(overrides, config_file, served=served)
                    action: Action | None = body(settings, **options)
                else:
                    action = body(**options)
                    if action is not None:
                        settings = command_settings(overrides, config_file, served=served)
                if action is not None:
                    run_with_services(settings, action)
            except BrokenPipeError:
                raise  # the reader went away (`| head`): not the user's input (cli/main.py)
            except USER_ERRORS as exc:
                raise CLIError(user_message(exc)) from None

        callback.__name__ = body.__name__
        callback.__doc__ = body.__doc__
        make = click.command if group is None else group.command
        return make(name, params=params, help=body.__doc__)(callback)

    return decorate


def write_out(path: Path, data: str | bytes) -> None:
    """Write an --out file that may hold a private key: 0600 and atomic (private_files)."""
    try:
        write_private(path, data.encode() if isinstance(data, str) else data)
    except OSError as exc:
        raise CLIError(f"cannot write {path}: {exc.strerror}") from None


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def emit_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A table for a person at a terminal; piped or redirected, tab-separated lines (a
    header, then one line a row, never wrapped) for cut, awk and sort."""
    if not sys.stdout.isatty():
        for line in (columns, *rows):
            cells = ("" if v is None else " ".join(str(v).split()) for v in line)
            sys.stdout.write("\t".join(cells) + "\n")
        return
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
