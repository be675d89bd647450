"""Entry point of the `kms` command."""

from __future__ import annotations

import click

from acme_server.cli.ca import ca_group
from acme_server.cli.cert import cert_group
from acme_server.cli.eab import eab_group
from acme_server.cli.identity import identity_group
from acme_server.cli.identity_certs import cert_bind_command  # noqa: F401 (registers)
from acme_server.cli.policy import policy_group
from acme_server.cli.profile import profile_group
from acme_server.cli.server import db_group, init_command, serve_command
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
cli.add_command(cert_manager_group)


def main() -> None:
    cli()
