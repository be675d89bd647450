"""Typed settings, from (highest first) command-line flags, KMS_* environment variables,
a TOML config file, then defaults.

Every URL the server publishes (ACME resources, the REST API) is built from one configured
external base URL, so checks that compare URLs keep holding behind a reverse proxy or load
balancer; the CRL distribution point and AIA URLs put in certificates from a second one,
public_pki_url, plain http by default (as the CA/B Forum Baseline Requirements want).
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from acme_server.trial_dns import parse_zones
from acme_server.validation.config import parse_nameserver
from ca_core.errors import InvalidTTL
from ca_core.ttl import parse_ttl

_WHOLE = re.compile(r"-?[0-9]+")  # ASCII digits only, used with fullmatch

ENV_PREFIX = "KMS_"
DEFAULT_DATA_DIR = Path("data")
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8443


class SettingsError(ValueError):
    """A setting has a value we cannot use; the message names the setting."""


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str = ""  # empty: SQLite file in the data directory
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    workers: int = 1
    external_url: str = ""  # empty: derived from host, port and scheme
    # Where CRLs and CA certificates (/pki/...) are published, for the CRL distribution
    # point and AIA caIssuers URLs of issued certificates: the CA/B Forum Baseline
    # Requirements (7.1.2.11.2, 7.1.2.7.7) want plain http there. Empty: the external URL
    # itself when it is http, else http:// on its host name with the default port 80 (a
    # port that speaks TLS cannot also answer plain HTTP); with no external URL either,
    # the server's own base URL (nothing else would answer).
    public_pki_url: str = ""
    plain_http: bool = False
    tls_cert: Path | None = None
    tls_key: Path | None = None
    crl_validity: str = "7d"
    log_level: str = "INFO"
    log_json: bool = True
    # ACME (RFC 8555)
    terms_of_service_url: str = ""  # empty: {base_url}/terms
    website_url: str = ""  # empty: the base URL
    caa_identities: str = ""  # comma-separated; empty: the base URL's host name
    http01_port: int = 80  # RFC 8555 8.3 says 80; a test or local-trial setting moves it
    dns_resolver: str = ""  # HOST:PORT of the nameserver validation uses; empty: the system's
    allow_private_validation: bool = False  # allow loopback/private validation targets
    # `kms serve --trial`: a DNS answerer on loopback says every name under trial_zones is
    # 127.0.0.1/::1, validation may reach loopback (only), HTTP-01 goes to port 5002 unless
    # http01_port says otherwise. For trying the server on one machine, never for real use.
    trial: bool = False
    trial_zones: str = "test,localhost"  # comma-separated
    tlsalpn01_port: int = 443  # RFC 8737 section 3 says 443; a test setting moves it
    validation_max_concurrent: int = 32  # validations in flight per server process
    validation_max_concurrent_per_account: int = 4  # of those, per ACME account
    # CAA answers are reused for their TTL, at most this long (0: every check asks again)
    caa_cache_seconds: int = 300
    order_lifetime: str = "7d"
    authorization_lifetime: str = "7d"
    reuse_valid_authorizations: bool = True
    # an authorization poll waits this long for a validation in flight before answering
    challenge_wait_ms: int = 2000
    # The longest an order stays `processing`: a finalize whose process died or whose writes
    # failed is finished (its signed certificate activated) or failed by then.
    finalize_timeout_seconds: int = 60
    rate_limit_orders_per_hour: int = 300  # per account
    rate_limit_failed_validations_per_hour: int = 60  # per identifier
    rate_limit_requests_per_second: int = 200  # per client address, per process
    # Known-compromised keys refused as account and CSR keys: a file of SPKI SHA-256 hex
    # digests, one a line (ca_core/goodkey.py); read once when the server starts.
    key_blocklist_file: Path | None = None
    # REST API
    access_token_ttl: str = "1h"  # noqa: S105 (a lifetime: a Bearer token from the login)
    # Web console: a session ends after this long unused, and this long after sign-in.
    console_session_idle: str = "30m"
    console_session_max: str = "12h"
    # Server-driven renewal: how often the scheduler looks, the first retry's delay after a
    # failure (doubling up to a cap), and where lifecycle events are POSTed (empty: nowhere).
    renewal_interval: str = "5m"
    renewal_retry_delay: str = "1m"
    webhook_url: str = ""
    # Client-certificate login of machine identities: inside the warning period the login
    # answer asks for rotation; inside the expiry period logins are refused (rotate still
    # works); the superseded certificate is revoked on the new one's first login.
    identity_cert_warning_period: str = "180d"
    identity_cert_expiry_period: str = "30d"
    identity_cert_ttl: str = "365d"  # lifetime of the client certificates issued and rotated
    identity_cert_revoke_old_on_rotation: bool = True

    @property
    def database(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir.resolve() / 'kms.db'}"

    @property
    def scheme(self) -> str:
        return "http" if self.plain_http else "https"

    @property
    def base_url(self) -> str:
        if self.external_url:
            return self.external_url.rstrip("/")
        host = "localhost" if self.host in ("127.0.0.1", "0.0.0.0", "::1", "::") else self.host  # noqa: S104
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def pki_base_url(self) -> str:
        """The base of the published /pki/ URLs (no trailing slash)."""
        if self.public_pki_url:
            return self.public_pki_url.rstrip("/")
        parts = urlsplit(self.base_url)
        if parts.scheme == "http" or not self.external_url:
            return self.base_url
        host = parts.hostname or "localhost"
        return f"http://[{host}]" if ":" in host else f"http://{host}"

    @property
    def terms_url(self) -> str:
        return self.terms_of_service_url or f"{self.base_url}/terms"

    @property
    def caa_identity_list(self) -> list[str]:
        if self.caa_identities:
            return [v.strip() for v in self.caa_identities.split(",") if v.strip()]
        return [urlsplit(self.base_url).hostname or "localhost"]

    @property
    def crl_lifetime(self) -> timedelta:
        return parse_ttl(self.crl_validity)

    @property
    def access_token_lifetime(self) -> timedelta:
        return parse_ttl(self.access_token_ttl)

    @property
    def console_idle_period(self) -> timedelta:
        return parse_ttl(self.console_session_idle)

    @property
    def console_max_period(self) -> timedelta:
        return parse_ttl(self.console_session_max)

    @property
    def renewal_interval_period(self) -> timedelta:
        return parse_ttl(self.renewal_interval)

    @property
    def renewal_retry_period(self) -> timedelta:
        return parse_ttl(self.renewal_retry_delay)

    @property
    def identity_cert_warning(self) -> timedelta:
        return parse_ttl(self.identity_cert_warning_period)

    @property
    def identity_cert_expiry(self) -> timedelta:
        return parse_ttl(self.identity_cert_expiry_period)

    @property
    def tls_dir(self) -> Path:
        return self.data_dir / "tls"

    @property
    def ca_bundle_path(self) -> Path:
        return self.data_dir / "ca-bundle.pem"

    def to_env(self) -> dict[str, str]:
        """The settings as KMS_* variables, so worker processes rebuild the same Settings."""
        env: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            env[ENV_PREFIX + f.name.upper()] = (
                str(value).lower() if isinstance(value, bool) else str(value)
            )
        return env


def _coerce(name: str, raw: Any, kind: Any) -> Any:
    kind_name = kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
    try:
        if "bool" in kind_name:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(text)
        if "int" in kind_name:
            # A whole number as written: not true (a bool is an int), not 0.5 (int() would
            # make it 0), not " 1_000" or superscript digits (which int() reads).
            if isinstance(raw, bool | float) or not _WHOLE.fullmatch(str(raw)):
                raise ValueError(raw)
            return int(raw)
        if "Path" in kind_name:
            return Path(str(raw)) if str(raw) else None
        return str(raw)
    except ValueError:
        raise SettingsError(
            f"setting {name!r}: cannot use {raw!r} (expected {kind_name})"
        ) from None


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    config_file: Path | None = None,
    fallback: Mapping[str, Any] | None = None,
) -> Settings:
    """Merge defaults < fallback < config file < environment < overrides (None values are
    ignored). The fallback is what `kms serve` recorded of its own URL settings
    (acme_server/served.py), for the other commands' URLs to match the server's."""
    env = os.environ if env is None else env
    known = {f.name: f.type for f in fields(Settings)}
    values: dict[str, Any] = {
        name: _coerce(name, raw, known[name])
        for name, raw in (fallback or {}).items()
        if name in known and raw is not None
    }
    config_path = config_file or (
        Path(env[ENV_PREFIX + "CONFIG"]) if ENV_PREFIX + "CONFIG" in env else None
    )
    if config_path is not None:
        try:
            data = tomllib.loads(config_path.read_text())
        except OSError as exc:
            raise SettingsError(f"cannot read config file {config_path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"config file {config_path} is not valid TOML: {exc}") from None
        for key, raw in data.items():
            name = key.replace("-", "_")
            if name not in known:
                raise SettingsError(f"config file {config_path}: unknown setting {key!r}")
            values[name] = _coerce(name, raw, known[name])
    for name, kind in known.items():
        raw_env = env.get(ENV_PREFIX + name.upper())
        if raw_env is not None:
            values[name] = _coerce(name, raw_env, kind)
    for name, raw in (overrides or {}).items():
        if raw is not None:
            values[name] = _coerce(name, raw, known[name])
    settings = replace(Settings(), **values)
    _validate(settings)
    return settings


def _validate(settings: Settings) -> None:
    if not 0 < settings.port < 65536:
        raise SettingsError(f"setting 'port': {settings.port} is not a TCP port (1-65535)")
    if settings.workers < 1:
        raise SettingsError("setting 'workers': must be at least 1")
    if (settings.tls_cert is None) != (settings.tls_key is None):
        raise SettingsError("settings 'tls_cert' and 'tls_key' must be given together")
    if settings.external_url and not settings.external_url.startswith(("http://", "https://")):
        raise SettingsError("setting 'external_url': must start with http:// or https://")
    for name in (
        "crl_validity",
        "order_lifetime",
        "authorization_lifetime",
        "access_token_ttl",
        "console_session_idle",
        "console_session_max",
        "renewal_interval",
        "renewal_retry_delay",
        "identity_cert_warning_period",
        "identity_cert_expiry_period",
        "identity_cert_ttl",
    ):
        try:
            parse_ttl(getattr(settings, name))
        except InvalidTTL as exc:
            raise SettingsError(f"setting {name!r}: {exc}") from None
    if settings.identity_cert_expiry > settings.identity_cert_warning:
        raise SettingsError(
            "setting 'identity_cert_expiry_period': must not be longer than "
            "identity_cert_warning_period"
        )
    if parse_ttl(settings.identity_cert_ttl) <= settings.identity_cert_warning:
        raise SettingsError(
            "setting 'identity_cert_ttl': must be longer than identity_cert_warning_period "
            "(a rotated certificate would be due for rotation at once)"
        )
    if settings.public_pki_url:
        _check_origin("public_pki_url", settings.public_pki_url)
    if settings.webhook_url and not settings.webhook_url.startswith(("http://", "https://")):
        raise SettingsError("setting 'webhook_url': must start with http:// or https://")
    if not 0 < settings.http01_port < 65536:
        raise SettingsError(f"setting 'http01_port': {settings.http01_port} is not a TCP port")
    if not 0 < settings.tlsalpn01_port < 65536:
        raise SettingsError(
            f"setting 'tlsalpn01_port': {settings.tlsalpn01_port} is not a TCP port"
        )
    for name in (
        "validation_max_concurrent",
        "validation_max_concurrent_per_account",
        "rate_limit_orders_per_hour",
        "rate_limit_failed_validations_per_hour",
        "rate_limit_requests_per_second",
    ):
        if getattr(settings, name) < 1:
            raise SettingsError(f"setting {name!r}: must be at least 1")
    if not 2 <= settings.finalize_timeout_seconds <= 3600:
        raise SettingsError("setting 'finalize_timeout_seconds': must be from 2 to 3600")
    if settings.challenge_wait_ms < 0:
        raise SettingsError("setting 'challenge_wait_ms': must not be negative")
    if settings.caa_cache_seconds < 0:
        raise SettingsError("setting 'caa_cache_seconds': must not be negative")
    if settings.dns_resolver:
        try:
            parse_nameserver(settings.dns_resolver)
        except ValueError as exc:
            raise SettingsError(f"setting 'dns_resolver': {exc}") from None
    _validate_trial(settings)
    if settings.key_blocklist_file is not None and not settings.key_blocklist_file.is_file():
        raise SettingsError(
            f"setting 'key_blocklist_file': {settings.key_blocklist_file} is not a readable file"
        )
    if settings.database_url and not settings.database_url.startswith(
        ("sqlite", "postgresql", "postgres://")
    ):
        raise SettingsError(
            "setting 'database_url': use sqlite:///path/to/file.db or postgresql://user@host:port/db"
        )


def _validate_trial(settings: Settings) -> None:
    try:
        parse_zones(settings.trial_zones)
    except ValueError as exc:
        raise SettingsError(f"setting 'trial_zones': {exc}") from None
    if not settings.trial:
        return
    try:
        loopback = ipaddress.ip_address(settings.host).is_loopback
    except ValueError:
        loopback = settings.host == "localhost"
    if not loopback:
        raise SettingsError(
            f"setting 'trial': a trial serves this machine only, so 'host' must be a loopback "
            f"address such as 127.0.0.1 (got {settings.host!r})"
        )


def _check_origin(name: str, url: str) -> None:
    """An http or https URL of a host (and port) alone: no path, query, fragment or user."""
    problem = ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not url.startswith(f"{parts.scheme}://"):
        problem = "must start with http:// or https://"
    elif not parts.hostname or not url.isascii() or any(c <= " " or c == "\x7f" for c in url):
        problem = "must name a host, in ASCII with no spaces or control characters"
    elif parts.username is not None or parts.password is not None:
        problem = "must not hold a user name or password"
    elif parts.path not in ("", "/") or parts.query or parts.fragment or "?" in url or "#" in url:
        problem = "must be scheme://host[:port] alone, with no path, query or fragment"
    else:
        try:
            port = parts.port  # ValueError on a port that is not 0-65535
        except ValueError:
            port = 0
        if port == 0 or parts.netloc.endswith(":"):
            problem = "has an invalid port"
    if problem:
        raise SettingsError(f"setting {name!r}: {problem} (got {url!r})")
