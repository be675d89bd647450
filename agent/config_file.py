"""agent.yaml: reading and checking it. Every refusal is a ConfigError whose message starts
with the key at fault (`certificates[0].key-algorithm: ...`), so the CLI prints one line.

    config = load_config(Path("agent.yaml"))   # ConfigError on any mistake
    check_paths(config)                         # ConfigError when an output is not writable
    local = load_config(path, read_secrets=False)   # for `agent status`: no credentials

Secrets (client secret, EAB HMAC key, PKCS#12 password) may be given inline or as the name
of an environment variable (`client-secret-env: KMS_AGENT_SECRET`); the client id and
secret fall back to KMS_AGENT_CLIENT_ID / KMS_AGENT_CLIENT_SECRET. This module reads the
server, auth and retry settings and the file as a whole; each `certificates[]` entry is
read by agent.config_certificate.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

import yaml
from cryptography import x509

from agent.config import (
    ENV_CLIENT_ID,
    ENV_CLIENT_SECRET,
    AgentConfig,
    AuthConfig,
    CertificateConfig,
    ClientCertificateAuth,
    ConfigError,
    RetryConfig,
    ServerConfig,
)
from agent.config_certificate import certificate_config
from agent.config_reader import Section
from agent.keys import key_matches, load_key


def _server(section: Section, base: Path) -> ServerConfig:
    url = section.required("url").rstrip("/")
    if not url.startswith(("https://", "http://")):
        raise ConfigError(f"{section.key('url')}: must be an http:// or https:// URL")
    timeout = section.duration("timeout", timedelta(seconds=30)).total_seconds()
    bundle = section.path("ca-bundle", base)
    section.done()
    return ServerConfig(url=url, ca_bundle=bundle, timeout=timeout)


def _fits(key_path: Path, leaf: x509.Certificate) -> bool:
    try:
        return key_matches(load_key(key_path.read_text()), leaf)
    except (OSError, ValueError, UnicodeDecodeError):
        return False


def _client_certificate(section: Section, base: Path) -> ClientCertificateAuth:
    certificate = section.path("certificate", base)
    key = section.path("key", base)
    rotate_before = None
    if section.raw("rotate-before") is not None:
        rotate_before = section.duration("rotate-before", timedelta(0))  # positive, or refused
    section.done()
    for name, path in (("certificate", certificate), ("key", key)):
        if path is None:
            raise ConfigError(f"{section.key(name)}: is required (a PEM file path)")
        if not path.is_file():
            raise ConfigError(f"{section.key(name)}: {path} is not a readable file")
    assert certificate is not None and key is not None
    try:
        leaf = x509.load_pem_x509_certificates(certificate.read_bytes())[0]
    except (OSError, ValueError):
        raise ConfigError(
            f"{section.key('certificate')}: {certificate} is not a PEM certificate chain"
        ) from None
    try:
        private_key = load_key(key.read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        raise ConfigError(
            f"{section.key('key')}: {key} is not an unencrypted PEM RSA or EC private key"
        ) from None
    staged = key.with_name(key.name + ".next")  # a rotation a crash interrupted
    if not key_matches(private_key, leaf) and not _fits(staged, leaf):
        raise ConfigError(f"{section.key('key')}: {key} does not fit the certificate {certificate}")
    return ClientCertificateAuth(certificate=certificate, key=key, rotate_before=rotate_before)


def _auth(
    section: Section | None, env: Mapping[str, str], where: str, base: Path
) -> AuthConfig | ClientCertificateAuth | None:
    if section is None:
        section = Section({}, where, env)
    client_certificate = section.section("client-certificate")
    if client_certificate is not None:
        for other in ("client-id", "client-secret", "client-id-env", "client-secret-env"):
            if section.raw(other) is not None:
                raise ConfigError(
                    f"{section.key(other)}: give either client-certificate or a client "
                    "id and secret, not both"
                )
        section.done()
        return _client_certificate(client_certificate, base)
    client_id = section.secret("client-id", fallback_env=ENV_CLIENT_ID)
    client_secret = section.secret("client-secret", fallback_env=ENV_CLIENT_SECRET)
    section.done()
    if client_id is None and client_secret is None:
        return None
    if client_id is None or client_secret is None:
        missing = "client-id" if client_id is None else "client-secret"
        raise ConfigError(f"{section.key(missing)}: is required with the other credential")
    return AuthConfig(client_id=client_id, client_secret=client_secret)


def _retry(section: Section | None) -> RetryConfig:
    if section is None:
        return RetryConfig()
    default = RetryConfig()
    initial = section.duration("initial-delay", default.initial_delay)
    most = section.duration("max-delay", default.max_delay)
    attempts = section.integer("attempts", default.attempts, 1, 100)
    section.done()
    if most < initial:
        raise ConfigError(f"{section.key('max-delay')}: must not be shorter than initial-delay")
    return RetryConfig(initial_delay=initial, max_delay=most, attempts=attempts)


def parse_config(
    data: object,
    path: Path,
    env: Mapping[str, str] | None = None,
    *,
    read_secrets: bool = True,
) -> AgentConfig:
    """The agent configuration from parsed YAML; relative paths are relative to `path`'s
    directory.

    read_secrets=False reads it for what is on this host's disk alone (`agent status`):
    the auth section is not read (auth is None: no client id, secret or client
    certificate is needed, nor its files), and a PKCS#12 password or EAB HMAC key the
    file gives is SECRET_NOT_READ, its environment variable never looked up. Such a
    configuration must not be run."""
    env = os.environ if env is None else env
    base = path.resolve().parent
    top = Section(data, "", env, read_secrets=read_secrets)
    server_section = top.section("server")
    if server_section is None:
        raise ConfigError("server: is required (url, and ca-bundle for a private CA)")
    server = _server(server_section, base)
    if read_secrets:
        auth = _auth(top.section("auth"), env, "auth", base)
    else:
        top.raw("auth")  # known, not read
        auth = None
    state_dir = top.path("state-dir", base) or base / ".kms-agent"
    check_interval = top.duration("check-interval", timedelta(hours=1))
    retry = _retry(top.section("retry"))
    log_format = top.text("log-format", default="json")
    if log_format not in ("json", "text"):
        raise ConfigError(f"log-format: {log_format!r} is not one of json, text")
    raw_certs = top.raw("certificates")
    if not isinstance(raw_certs, list) or not raw_certs:
        raise ConfigError("certificates: must be a non-empty list")
    certificates: list[CertificateConfig] = []
    names: set[str] = set()
    for index, item in enumerate(raw_certs):
        where = f"certificates[{index}]"
        cert = certificate_config(Section(item, where, env, read_secrets=read_secrets), base)
        if cert.name in names:
            raise ConfigError(f"certificates[{index}].name: {cert.name!r} is used twice")
        names.add(cert.name)
        certificates.append(cert)
    top.done()
    if auth is None and read_secrets:
        needing = [c for c in certificates if c.enrollment != "acme"]
        if needing:
            raise ConfigError(
                f"auth.client-id: is required for {needing[0].enrollment} enrollment "
                f"({needing[0].where}); or set {ENV_CLIENT_ID} and {ENV_CLIENT_SECRET}"
            )
    written: dict[Path, str] = {}
    for cert in certificates:
        for key, out in cert.files.paths():
            if out in written:
                raise ConfigError(
                    f"{cert.where}.file-output.{key}: {out} is also written by {written[out]}"
                )
            written[out] = f"{cert.where}.file-output.{key}"
    return AgentConfig(
        path=path,
        server=server,
        auth=auth,
        state_dir=state_dir,
        check_interval=check_interval,
        retry=retry,
        log_format=log_format,  # type: ignore[arg-type]  # checked above
        certificates=tuple(certificates),
    )


def load_config(
    path: Path, env: Mapping[str, str] | None = None, *, read_secrets: bool = True
) -> AgentConfig:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}: not valid YAML{at}: {problem}") from None
    return parse_config(data, path, env, read_secrets=read_secrets)


def _writable_dir(directory: Path) -> bool:
    """Whether a file can be made in `directory` (tried, not guessed from its mode: root
    passes every mode check, yet cannot write to /sys or a read-only mount)."""
    if not directory.is_dir():
        return False
    probe = directory / f".kms-agent-probe-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return False
    os.close(fd)
    with contextlib.suppress(OSError):
        probe.unlink()
    return True


def check_paths(config: AgentConfig) -> None:
    """Every output's directory exists and is writable, and the state directory can be
    made; ConfigError naming the first that is not."""
    state = config.state_dir
    existing = state
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not _writable_dir(existing if existing != state else state):
        raise ConfigError(f"state-dir: {state} is not a writable directory")
    if config.server.ca_bundle is not None and not config.server.ca_bundle.is_file():
        raise ConfigError(f"server.ca-bundle: {config.server.ca_bundle} is not a file")
    for cert in config.certificates:
        for key, path in cert.files.paths():
            where = f"{cert.where}.file-output.{key}"
            if path.is_dir():
                raise ConfigError(f"{where}: {path} is a directory")
            if not path.parent.is_dir():
                raise ConfigError(f"{where}: directory {path.parent} does not exist")
            if not _writable_dir(path.parent):
                raise ConfigError(f"{where}: directory {path.parent} is not writable")
