"""`kms init`, `kms serve` and `kms db upgrade`."""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import sys
from pathlib import Path

import click

from acme_server.acme.urls import AcmeUrls
from acme_server.cli.common import Action, CLIError, emit_json, kms_command, run_with_services
from acme_server.cli.trial import trial_mode
from acme_server.logs import configure_logging
from acme_server.served import record_served
from acme_server.services.bootstrap import (
    SECURE_MAX_TTL,
    InitReport,
    SecureDefaults,
    ServerTLS,
    ensure_server_tls,
    initialise,
)
from acme_server.services.cas.create import publish_pki_urls
from acme_server.services.context import Services
from acme_server.services.errors import InvalidRequestError
from acme_server.settings import Settings


@kms_command(None, "init", json=True, settings_first=True)
@click.option("--organization", default="KMS", show_default=True, help="O= of the new CAs.")
@click.option(
    "--secure",
    is_flag=True,
    help="Start closed: the default profile requires External Account Binding and its "
    "policy allows only the --allowed-names, for at most --max-ttl.",
)
@click.option(
    "--allowed-names",
    "allowed_names",
    multiple=True,
    metavar="PATTERN",
    help="With --secure: a DNS name pattern certificates may name, e.g. '*.corp.example' "
    "(repeatable; policy pattern syntax, docs/policies.md).",
)
@click.option(
    "--max-ttl",
    default=None,
    help=f"With --secure: the longest certificate lifetime (default {SECURE_MAX_TTL}).",
)
def init_command(
    organization: str,
    secure: bool,
    allowed_names: tuple[str, ...],
    max_ttl: str | None,
    as_json: bool,
) -> Action:
    """Create a root CA, an intermediate, a default policy and profile (once).

    The default profile is open (any name, no EAB, no max TTL: for trials) unless --secure."""
    defaults = _secure_defaults(secure, allowed_names, max_ttl)

    async def action(services: Services) -> None:
        report = await initialise(services, organization=organization, secure=defaults)
        if defaults is not None and not report.created and report.open_aspects:
            raise CLIError(
                f"{services.settings.data_dir} is initialised already, with an open default "
                "profile: --secure starts a new data directory (change this one with "
                "kms profile update and kms policy update)"
            )
        if as_json:
            emit_json(
                {
                    "created": list(report.created),
                    "defaultProfile": report.profile.slug,
                    "open": list(report.open_aspects),
                }
            )
            return
        if not report.created:
            click.echo(
                f"Already initialised in {services.settings.data_dir}"
                f" (default profile {report.profile.slug!r})."
            )
        for line in report.created:
            click.echo(f"Created {line}")
        if report.open_warning:
            click.echo(report.open_warning)

    return action


def _secure_defaults(
    secure: bool, allowed_names: tuple[str, ...], max_ttl: str | None
) -> SecureDefaults | None:
    if not secure:
        if allowed_names or max_ttl is not None:
            raise CLIError("--allowed-names and --max-ttl go with --secure")
        return None
    if not allowed_names:
        raise CLIError("--secure needs at least one --allowed-names PATTERN, e.g. '*.corp.example'")
    try:
        return SecureDefaults(tuple(allowed_names), max_ttl or SECURE_MAX_TTL)
    except InvalidRequestError as exc:
        message = str(exc).replace("allowed names", "--allowed-names", 1)
        raise CLIError(message.replace("max TTL:", "--max-ttl:", 1)) from None


SERVE_SETTINGS = (
    "host",
    "port",
    "workers",
    "external_url",
    "public_pki_url",
    "tls_cert",
    "tls_key",
    "plain_http",
    "http01_port",
    "tlsalpn01_port",
    "dns_resolver",
    "allow_private_validation",
    "trial",
    "trial_zones",
)
"""serve's own options: each one a setting (load_settings overrides)."""


@kms_command(
    None,
    "serve",
    settings_first=True,
    settings_from=SERVE_SETTINGS,
    pass_settings=True,
    served=False,  # the server's URLs are its own settings, never a previous run's
)
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port to listen on (default 8443).")
@click.option("--workers", type=int, default=None, help="Server processes sharing the database.")
@click.option("--external-url", default=None, help="Base URL clients use, e.g. behind a proxy.")
@click.option(
    "--public-pki-url",
    default=None,
    help="Base URL (scheme://host[:port]) of the CRL and AIA URLs put in certificates; "
    "default: the external URL's host over http (without --external-url: the server's own).",
)
@click.option("--tls-cert", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--tls-key", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--plain-http", is_flag=True, default=None, help="Serve HTTP (TLS ends at a proxy).")
@click.option(
    "--http01-port", type=int, default=None, help="Port HTTP-01 validation connects to (80)."
)
@click.option(
    "--tlsalpn01-port",
    type=int,
    default=None,
    help="Port TLS-ALPN-01 validation connects to (443).",
)
@click.option("--dns-resolver", default=None, help="HOST:PORT of the nameserver validation asks.")
@click.option(
    "--allow-private-validation",
    is_flag=True,
    default=None,
    help="Let validation reach loopback and private addresses (local trials, internal networks).",
)
@click.option(
    "--trial",
    is_flag=True,
    default=None,
    help="Try it on one machine: answer DNS for the trial zones with 127.0.0.1 and ::1 on "
    "loopback, validate through it, allow loopback validation, HTTP-01 on port 5002 "
    "(unless --http01-port). Never for real use.",
)
@click.option(
    "--trial-zones",
    default=None,
    help="Comma-separated zones --trial answers for (default test,localhost).",
)
def serve_command(settings: Settings) -> None:
    """Initialise on first use, then serve ACME, the REST API and the PKI files."""
    configure_logging(settings.log_level, json_lines=settings.log_json)
    # Bound before anything is set up or printed: a port another process holds is one
    # line and exit code 2, never "Serving ..." and "server ready" before a failure.
    listener = listen(settings)
    try:
        with trial_mode(settings) as running:  # unchanged settings unless --trial
            _prepare_and_serve(running, listener)
    finally:
        listener.close()


LISTEN_BACKLOG = 2048  # uvicorn's default


def listen(settings: Settings) -> socket.socket:
    """The listening socket of `kms serve` on the configured host and port (uvicorn and its
    --workers processes accept on it); CLIError naming the address when it cannot be had."""
    host, port = settings.host, settings.port
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        # as uvicorn does: a restart may take over a port with connections in TIME_WAIT
        # (on Linux this never shares a port another socket listens on)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)  # clients that connect from now on wait, not fail
    except OSError as exc:
        sock.close()
        raise CLIError(f"kms serve: cannot listen on {where}: {_listen_problem(exc)}") from None
    sock.set_inheritable(True)
    return sock


def _listen_problem(exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return "address already in use (another process listens there; choose another --port)"
    if exc.errno == errno.EACCES:
        return "permission denied (a port below 1024 needs privileges; choose another --port)"
    if exc.errno == errno.EADDRNOTAVAIL:
        return "address not available (no interface of this host has it; check --host)"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host name ({exc.strerror or exc}); check --host"
    reason = exc.strerror or str(exc) or type(exc).__name__
    return reason[:1].lower() + reason[1:]


def _prepare_and_serve(settings: Settings, listener: socket.socket) -> None:
    async def prepare(services: Services) -> tuple[InitReport, ServerTLS | None, bool]:
        report = await initialise(services)
        has_users = bool(await services.store.list_users())
        for ca in await publish_pki_urls(services):
            click.echo(f"CA {ca.name!r} now publishes {ca.crl_distribution_url}", err=True)
        tls = None
        if not settings.plain_http and settings.tls_cert is None:
            tls = await ensure_server_tls(services, report.profile)
        return report, tls, has_users

    # Not the Action kms_command awaits: uvicorn starts after this event loop has ended.
    report, tls, has_users = run_with_services(settings, prepare)
    for line in report.created:
        click.echo(f"Created {line}", err=True)
    record_served(settings)  # for the URLs the other kms commands print (served.py)
    cert_file, key_file = (
        (settings.tls_cert, settings.tls_key) if tls is None else (tls.cert_path, tls.key_path)
    )
    click.echo(f"Serving {settings.base_url} (database: {_redacted(settings.database)})", err=True)
    click.echo(f"CRLs and CA certificates: {settings.pki_base_url}/pki/", err=True)
    directory = AcmeUrls(settings.base_url, report.profile.slug).directory
    click.echo(f"ACME directory: {directory}", err=True)
    click.echo(f"Web console: {settings.base_url}/ui/", err=True)
    if not has_users:
        click.echo(
            "No console user yet: create the first admin with "
            "`kms user create --name admin --role admin` (it asks for the password)",
            err=True,
        )
    if report.open_warning:
        click.echo(report.open_warning, err=True)
    if tls is not None:
        click.echo(f"CA bundle: {tls.ca_bundle_path.resolve()}", err=True)
        click.echo(
            f"Try: curl --cacert {tls.ca_bundle_path.resolve()} {settings.base_url}/healthz",
            err=True,
        )
    _serve(
        settings,
        listener,
        None if settings.plain_http else cert_file,
        None if settings.plain_http else key_file,
    )


def _redacted(url: str) -> str:
    """The database URL without a password, for printing."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}@{host}"


def _serve(
    settings: Settings, listener: socket.socket, cert_file: Path | None, key_file: Path | None
) -> None:
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    # Worker processes rebuild the same settings from the environment.
    os.environ.update(settings.to_env())
    os.environ["KMS_DATA_DIR"] = str(settings.data_dir.resolve())
    config = uvicorn.Config(
        "acme_server.app:app_from_environment",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        ssl_certfile=str(cert_file) if cert_file else None,
        ssl_keyfile=str(key_file) if key_file else None,
        log_config=None,
        proxy_headers=settings.plain_http,
        server_header=False,
    )
    # uvicorn.run, on the socket bound already (uvicorn.run would bind its own)
    server = uvicorn.Server(config)
    with contextlib.suppress(KeyboardInterrupt):
        if settings.workers > 1:
            Multiprocess(config, sockets=[listener]).run()
        else:
            server.run(sockets=[listener])
    if settings.workers == 1 and not server.started:
        sys.exit(STARTUP_FAILURE)


@click.group("db")
def db_group() -> None:
    """Database maintenance."""


@kms_command(db_group, "upgrade")
async def db_upgrade_command(services: Services) -> None:
    """Apply pending schema migrations."""
    await services.store.migrate()
    revision = await services.store.schema_revision()
    if revision is None:
        raise CLIError("migrations ran but the database reports no schema revision")
    click.echo(f"Database is at schema revision {revision}.")
