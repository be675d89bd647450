"""`kms serve --trial`: the server and, beside it, the DNS answerer of acme_server/trial_dns.py,
so ACME clients on this machine get certificates for names under the trial zones.

The answerer runs in the `kms serve` process (threads; with --workers, in the supervisor
that starts the workers) for as long as the server does; the settings the server runs with
point the validator's resolver at it, let validation reach loopback (trial: only loopback,
see app.allowed_networks) and move HTTP-01 to TRIAL_HTTP01_PORT unless http01_port was set
to another port than 80. All of it is printed at start, loudly.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import click

from acme_server.cli.common import CLIError
from acme_server.settings import Settings
from acme_server.trial_dns import TrialDNS, parse_zones

log = logging.getLogger(__name__)

TRIAL_HTTP01_PORT = 5002  # where ACME clients' standalone HTTP-01 listeners go in a trial


@contextmanager
def trial_mode(settings: Settings) -> Iterator[Settings]:
    """The settings to serve with: unchanged unless settings.trial, else the trial's, with
    the answerer listening until the block ends."""
    if not settings.trial:
        yield settings
        return
    if settings.dns_resolver:
        raise CLIError(
            "kms serve --trial answers DNS itself: drop --dns-resolver (setting dns_resolver)"
        )
    zones = parse_zones(settings.trial_zones)
    http01_port = settings.http01_port
    if http01_port == Settings().http01_port:
        http01_port = TRIAL_HTTP01_PORT
    with TrialDNS(zones) as answerer:
        trial = replace(settings, dns_resolver=answerer.nameserver, http01_port=http01_port)
        for line in banner(trial, zones):
            click.echo(line, err=True)
        log.warning(
            "trial mode: validation may reach loopback",
            extra={"dns_resolver": trial.dns_resolver, "zones": list(zones)},
        )
        yield trial


def banner(settings: Settings, zones: tuple[str, ...]) -> list[str]:
    names = ", ".join(f"*.{zone}" for zone in zones)
    return [
        "*** TRIAL MODE: for trying kms on this machine only, never for a real deployment ***",
        f"  DNS: {settings.dns_resolver} answers {names} with 127.0.0.1 and ::1, and "
        "refuses every other name",
        "  Validation may connect to loopback addresses (127.0.0.0/8, ::1), which a real "
        "server refuses (SSRF)",
        f"  HTTP-01 validation connects to port {settings.http01_port}: run the ACME clients' "
        "standalone listeners there",
    ]
