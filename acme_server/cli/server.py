"""`kms init`, `kms serve` and `kms db upgrade`."""

from __future__ import annotations

import os
from pathlib import Path

import click

from acme_server.acme.urls import AcmeUrls
from acme_server.cli.common import CLIError, emit_json, kms_command, run_with_services
from acme_server.logs import configure_logging
from acme_server.services.bootstrap import InitReport, ServerTLS, ensure_server_tls, initialise
from acme_server.services.cas.create import publish_pki_urls
from acme_server.services.context import Services
from acme_server.settings import Settings


@kms_command(None, "init", json=True, settings_first=True)
@click.option("--organization", default="KMS", show_default=True, help="O= of the new CAs.")
async def init_command(services: Services, organization: str, as_json: bool) -> None:
    """Create a root CA, an intermediate, a default policy and profile (once)."""
    report = await initialise(services, organization=organization)
    if as_json:
        emit_json({"created": list(report.created), "defaultProfile": report.profile.slug})
        return
    if not report.created:
        click.echo(
            f"Already initialised in {services.settings.data_dir}"
            f" (default profile {report.profile.slug!r})."
        )
    for line in report.created:
        click.echo(f"Created {line}")


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
)
"""serve's own options: each one a setting (load_settings overrides)."""


@kms_command(None, "serve", settings_first=True, settings_from=SERVE_SETTINGS, pass_settings=True)
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
def serve_command(settings: Settings) -> None:
    """Initialise on first use, then serve ACME, the REST API and the PKI files."""
    configure_logging(settings.log_level, json_lines=settings.log_json)

    async def prepare(services: Services) -> tuple[InitReport, ServerTLS | None]:
        report = await initialise(services)
        for ca in await publish_pki_urls(services):
            click.echo(f"CA {ca.name!r} now publishes {ca.crl_distribution_url}", err=True)
        tls = None
        if not settings.plain_http and settings.tls_cert is None:
            tls = await ensure_server_tls(services, report.profile)
        return report, tls

    # Not the Action kms_command awaits: uvicorn starts after this event loop has ended.
    report, tls = run_with_services(settings, prepare)
    for line in report.created:
        click.echo(f"Created {line}", err=True)
    cert_file, key_file = (
        (settings.tls_cert, settings.tls_key) if tls is None else (tls.cert_path, tls.key_path)
    )
    click.echo(f"Serving {settings.base_url} (database: {_redacted(settings.database)})", err=True)
    click.echo(f"CRLs and CA certificates: {settings.pki_base_url}/pki/", err=True)
    directory = AcmeUrls(settings.base_url, report.profile.slug).directory
    click.echo(f"ACME directory: {directory}", err=True)
    if tls is not None:
        click.echo(f"CA bundle: {tls.ca_bundle_path.resolve()}", err=True)
        click.echo(
            f"Try: curl --cacert {tls.ca_bundle_path.resolve()} {settings.base_url}/healthz",
            err=True,
        )
    _serve(
        settings,
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


def _serve(settings: Settings, cert_file: Path | None, key_file: Path | None) -> None:
    import uvicorn

    # Worker processes rebuild the same settings from the environment.
    os.environ.update(settings.to_env())
    os.environ["KMS_DATA_DIR"] = str(settings.data_dir.resolve())
    uvicorn.run(
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
