"""Where `kms cert issue|renew` put what they issued, each part in its own file:

- `--out FILE`: the certificate alone (the leaf, PEM), mode 0644;
- `--chain-out FILE`: the issuing CAs above it, nearest first (empty when self-signed);
- `--fullchain-out FILE`: the certificate followed by that chain (what nginx wants);
- `--key-out FILE`: the server-generated private key (PKCS#8 PEM), created 0600 (never
  chmod'ed afterwards); `--key-out -` prints it on stdout, the one way a key gets there.

Without `--key-out` the key is never printed or written: the server keeps it (encrypted
under its KEK) and `kms cert export` hands it out later. Files are replaced atomically.
Notes and warnings go to stderr, so that stdout holds only what was asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from acme_server.cli.common import CLIError
from acme_server.private_files import write_private, write_public
from acme_server.services.certificates.bundles import Bundle

F = TypeVar("F", bound=Callable[..., Any])
STDOUT = Path("-")


@dataclass(frozen=True, slots=True)
class OutputFiles:
    """The four output options; key_out STDOUT ("-") means stdout."""

    out: Path | None = None
    chain_out: Path | None = None
    fullchain_out: Path | None = None
    key_out: Path | None = None

    def named(self) -> list[tuple[str, Path]]:
        """The files given, with their option names (`--key-out -` left out)."""
        pairs = [
            ("--out", self.out),
            ("--chain-out", self.chain_out),
            ("--fullchain-out", self.fullchain_out),
            ("--key-out", None if self.key_out == STDOUT else self.key_out),
        ]
        return [(name, path) for name, path in pairs if path is not None]


def output_options(command: F) -> F:
    """Add --out, --chain-out, --fullchain-out and --key-out to a command (in that order)."""
    file = click.Path(dir_okay=False, path_type=Path)
    options = [
        click.option(
            "--key-out",
            type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
            default=None,
            help="Write the private key here, mode 0600 ('-': stdout). Without it the key "
            "stays on the server (kms cert export).",
        ),
        click.option(
            "--fullchain-out",
            type=file,
            default=None,
            help="Write the certificate followed by its chain here.",
        ),
        click.option(
            "--chain-out",
            type=file,
            default=None,
            help="Write the issuing CA chain (nearest first) here.",
        ),
        click.option(
            "--out",
            type=file,
            default=None,
            help="Write the certificate (PEM, without chain or key) here.",
        ),
    ]
    for option in options:
        command = option(command)
    return command


def check_outputs(files: OutputFiles, *, csr: bool, as_json: bool) -> None:
    """Refuse, before anything is issued, outputs that cannot be honoured."""
    if files.key_out is not None and csr:
        raise CLIError("--key-out: with --csr the private key is yours; the server never had it")
    if files.key_out == STDOUT and as_json:
        raise CLIError("--key-out -: stdout carries the --json output; give a file")
    seen: dict[Path, str] = {}
    for name, path in files.named():
        resolved = path.expanduser().resolve()
        if resolved in seen:
            raise CLIError(f"{seen[resolved]} and {name} name the same file {path}")
        seen[resolved] = name


def write_outputs(files: OutputFiles, bundle: Bundle, *, certificate_to_stdout: bool) -> None:
    """Write the files asked for (notes on stderr); print the certificate on stdout when
    `certificate_to_stdout`, then the key when --key-out is "-"."""
    if files.out is not None:
        _write(files.out, bundle.certificate, "certificate", private=False)
    if files.chain_out is not None:
        if not bundle.chain:
            click.echo(
                f"note: the certificate is self-signed: {files.chain_out} is empty", err=True
            )
        _write(files.chain_out, bundle.chain, "chain", private=False)
    if files.fullchain_out is not None:
        full = bundle.certificate + bundle.chain
        _write(files.fullchain_out, full, "certificate and chain", private=False)
    if files.key_out is not None and bundle.key_withheld is not None:
        raise CLIError(f"--key-out: {bundle.key_withheld}")
    if files.key_out is not None and bundle.private_key is None:
        raise CLIError("--key-out: the server holds no private key for this certificate")
    if files.key_out is not None and files.key_out != STDOUT:
        assert bundle.private_key is not None
        _write(files.key_out, bundle.private_key, "private key, 0600", private=True)
    if certificate_to_stdout:
        click.echo(bundle.certificate, nl=False)
    if files.key_out == STDOUT:
        assert bundle.private_key is not None
        click.echo(bundle.private_key, nl=False)
    elif bundle.private_key is not None and files.key_out is None:
        click.echo(
            "note: the private key was not printed; the server keeps it: give --key-out FILE, "
            f"or later `kms cert export {bundle.certificate_id} --out FILE`",
            err=True,
        )


def echo_warnings(warnings: tuple[str, ...]) -> None:
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)


def _write(path: Path, text: str, what: str, *, private: bool) -> None:
    data = text.encode("ascii")
    try:
        (write_private if private else write_public)(path, data)
    except OSError as exc:
        raise CLIError(f"cannot write {path}: {exc.strerror}") from None
    click.echo(f"Wrote {path} ({what})", err=True)
