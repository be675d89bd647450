"""`kms cert-manager agent`: the agent daemon, `--once`, and `status`.

    kms cert-manager agent --config agent.yaml           # run, check periodically
    kms cert-manager agent --config agent.yaml --once    # one pass (cron, CI)
    kms cert-manager agent status --config agent.yaml [--json]

A bad configuration is one line on stderr and exit code 2; `--once` exits 1 when a
certificate could not be obtained or renewed.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import click

from agent import logs
from agent.config import AgentConfig, ConfigError
from agent.config_file import check_paths, load_config
from agent.daemon import Agent
from agent.state import state_lock
from agent.status import certificate_status, status_table

_CONFIG = click.Path(dir_okay=False, path_type=Path)


class AgentConfigError(click.ClickException):
    """One line on stderr, exit code 2."""

    exit_code = 2

    def show(self, file: object = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def _load(path: Path | None, *, read_secrets: bool = True) -> AgentConfig:
    if path is None:
        raise AgentConfigError("give the agent configuration with --config agent.yaml")
    try:
        return load_config(path, read_secrets=read_secrets)
    except ConfigError as exc:
        raise AgentConfigError(f"{path}: {exc}") from None


@click.group("cert-manager")
def cert_manager_group() -> None:
    """Keep certificates on this host's disk fresh."""


@cert_manager_group.group("agent", invoke_without_command=True)
@click.option("--config", "config_path", type=_CONFIG, default=None, help="The agent.yaml file.")
@click.option("--once", is_flag=True, help="One pass: obtain or renew what is due, then exit.")
@click.pass_context
def agent_group(ctx: click.Context, config_path: Path | None, once: bool) -> None:
    """Run the certificate agent (see `status` for what it has on disk)."""
    if ctx.invoked_subcommand is not None:
        return
    config = _load(config_path)
    logs.setup(config.log_format)
    agent = Agent(config)
    with contextlib.ExitStack() as stack:
        stack.callback(agent.close)
        try:
            check_paths(config)
            stack.enter_context(state_lock(config.state_dir))
            agent.preflight()
        except ConfigError as exc:
            raise AgentConfigError(f"{config.path}: {exc}") from None
        with agent.wakeup.installed():
            if once:
                ok = agent.run_once()
                sys.exit(0 if ok else 1)
            agent.run_forever()


@agent_group.command("status")
@click.option("--config", "config_path", type=_CONFIG, default=None, help="The agent.yaml file.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status_command(config_path: Path | None, as_json: bool) -> None:
    """Each certificate's state, expiry and next renewal (from the disk, not the server)."""
    # local state only: no client secret, client certificate or PKCS#12 password needed
    rows = certificate_status(_load(config_path, read_secrets=False))
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        click.echo(status_table(rows))
