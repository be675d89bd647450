"""Entry point of the `kms` command."""

from __future__ import annotations

import os
import sys

import click
from click.exceptions import NoArgsIsHelpError

from acme_server.cli.ca import ca_group
from acme_server.cli.cert import cert_group
from acme_server.cli.eab import eab_group
from acme_server.cli.identity import identity_group
from acme_server.cli.identity_certs import cert_bind_command  # noqa: F401 (registers)
from acme_server.cli.policy import policy_group
from acme_server.cli.profile import profile_group
from acme_server.cli.server import db_group, init_command, serve_command
from acme_server.cli.user import user_group
from agent.cli import cert_manager_group


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="kms-ca")
def cli() -> None:
    """kms: an ACME-first private certificate authority."""


cli.add_command(init_command)
cli.add_command(serve_command)
cli.add_command(db_group)
cli.add_command(ca_group)
cli.add_command(cert_group)
cli.add_command(eab_group)
cli.add_command(policy_group)
cli.add_command(profile_group)
cli.add_command(identity_group)
cli.add_command(user_group)
cli.add_command(cert_manager_group)


def main() -> None:
    """Run `kms`. A usage error (an unknown option, a missing argument) is one line naming
    the command and its --help, exit code 2, like every other wrong input."""
    try:
        code = cli.main(prog_name="kms", standalone_mode=False)
    except NoArgsIsHelpError as exc:  # a bare group: its help, as click gives it
        click.echo(exc.format_message(), err=True)
        sys.exit(2)
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "kms"
        click.echo(f"Error: {where}: {exc.format_message()} (see '{where} --help')", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("Aborted!", err=True)
        sys.exit(1)
    except BrokenPipeError:  # `kms cert list | head -1`: stop quietly, as click would
        # Python's documented way (library/signal, "Note on SIGPIPE"): point stdout at
        # /dev/null so the flush at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
