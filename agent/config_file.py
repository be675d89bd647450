"""agent.yaml: reading and checking it. Every refusal is a ConfigError whose message starts
with the key at fault (`certificates[0].key-algorithm: ...`), so the CLI prints one line.

    config = load_config(Path("agent.yaml"))   # ConfigError on any mistake
    check_paths(config)                         # ConfigError when an output is not writable

Secrets (client secret, EAB HMAC key, PKCS#12 password) may be given inline or as the name
of an environment variable (`client-secret-env: KMS_AGENT_SECRET`); the client id and
secret fall back to KMS_AGENT_CLIENT_ID / KMS_AGENT_CLIENT_SECRET.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

import yaml
from cryptography import x509

from agent.config import (
    DEFAULT_LOCAL_KEY,
    ENROLLMENTS,
    ENV_CLIENT_ID,
    ENV_CLIENT_SECRET,
    KEY_ALGORITHMS,
    SUBJECT_KEYS,
    AcmeConfig,
    AgentConfig,
    AuthConfig,
    CertificateConfig,
    ClientCertificateAuth,
    ConfigError,
    FileOutput,
    Pkcs12Output,
    PostRenewal,
    RetryConfig,
    ServerConfig,
)
from agent.config_reader import Section
from agent.durations import RenewBefore, parse_duration
from agent.keys import key_matches, load_key

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def _path(section: Section, name: str, base: Path) -> Path | None:
    text = section.text(name)
    if text is None:
        return None
    if not text:
        raise ConfigError(f"{section.key(name)}: must not be empty")
    path = Path(text).expanduser()
    return path if path.is_absolute() else base / path


def _server(section: Section, base: Path) -> ServerConfig:
    url = section.required("url").rstrip("/")
    if not url.startswith(("https://", "http://")):
        raise ConfigError(f"{section.key('url')}: must be an http:// or https:// URL")
    timeout = section.duration("timeout", timedelta(seconds=30)).total_seconds()
    bundle = _path(section, "ca-bundle", base)
    section.done()
    return ServerConfig(url=url, ca_bundle=bundle, timeout=timeout)


def _fits(key_path: Path, leaf: x509.Certificate) -> bool:
    try:
        return key_matches(load_key(key_path.read_text()), leaf)
    except (OSError, ValueError, UnicodeDecodeError):
        return False


def _client_certificate(section: Section, base: Path) -> ClientCertificateAuth:
    certificate = _path(section, "certificate", base)
    key = _path(section, "key", base)
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


def _mode(section: Section) -> int:
    text = section.text("mode", default="0644")
    assert text is not None
    if not re.fullmatch(r"0?[0-7]{3}", text):
        raise ConfigError(f"{section.key('mode')}: must be an octal file mode such as 0644")
    mode = int(text, 8)
    if mode & 0o600 != 0o600:
        raise ConfigError(f"{section.key('mode')}: the owner must be able to read and write")
    return mode


def _files(section: Section | None, where: str, base: Path) -> FileOutput:
    if section is None:
        raise ConfigError(f"{where}.file-output: is required")
    pkcs12: Pkcs12Output | None = None
    p12 = section.section("pkcs12")
    if p12 is not None:
        p12_path = _path(p12, "path", base)
        if p12_path is None:
            raise ConfigError(f"{p12.key('path')}: is required")
        password = p12.secret("password")
        if not password:
            raise ConfigError(f"{p12.key('password')}: is required (or password-env)")
        p12.done()
        pkcs12 = Pkcs12Output(path=p12_path, password=password)
    owner = section.text("owner")
    group = section.text("group")
    if owner is not None and ":" in owner and group is None:
        owner, group = owner.split(":", 1)
    files = FileOutput(
        certificate=_path(section, "certificate", base),
        chain=_path(section, "chain", base),
        full_chain=_path(section, "full-chain", base),
        private_key=_path(section, "private-key", base),
        pkcs12=pkcs12,
        mode=_mode(section),
        owner=owner or None,
        group=group or None,
    )
    section.done()
    paths = files.paths()
    if not paths:
        raise ConfigError(
            f"{section.where}: name at least one of certificate, chain, "
            "full-chain, private-key, pkcs12"
        )
    seen: dict[Path, str] = {}
    for key, path in paths:
        if path in seen:
            raise ConfigError(f"{section.key(key)}: {path} is also the {seen[path]} path")
        seen[path] = key
    return files


def _acme(section: Section | None, where: str, env: Mapping[str, str]) -> AcmeConfig:
    if section is None:
        section = Section({}, f"{where}.acme", env)
    directory = section.text("directory")
    if directory is not None and not directory.startswith(("https://", "http://")):
        raise ConfigError(f"{section.key('directory')}: must be an http:// or https:// URL")
    kid = section.text("eab-kid")
    hmac_key = section.secret("eab-hmac-key")
    if (kid is None) != (hmac_key is None):
        missing = "eab-kid" if kid is None else "eab-hmac-key"
        raise ConfigError(f"{section.key(missing)}: is required with the other EAB setting")
    config = AcmeConfig(
        directory=directory.rstrip("/") if directory else None,
        eab_kid=kid,
        eab_hmac_key=hmac_key,
        http01_address=section.text("http01-address", default="0.0.0.0") or "0.0.0.0",  # noqa: S104
        http01_port=section.integer("http01-port", 80, 1, 65535),
        contact=section.text("contact"),
    )
    section.done()
    return config


def _post_renewal(section: Section | None) -> PostRenewal | None:
    if section is None:
        return None
    command = section.required("command")
    timeout = section.duration("timeout", timedelta(seconds=60))
    section.done()
    return PostRenewal(command=command, timeout=timeout)


def _certificate(section: Section, base: Path) -> CertificateConfig:
    where = section.where
    name = section.required("name")
    if not _NAME.fullmatch(name):
        raise ConfigError(
            f"{section.key('name')}: {name!r} must be 1-64 letters, digits, '.', '_' or '-'"
        )
    profile = section.text("profile")
    if not profile:
        raise ConfigError(f"{section.key('profile')}: is required (a profile id or slug)")
    enrollment = section.text("enrollment", default="api-managed")
    if enrollment not in ENROLLMENTS:
        raise ConfigError(
            f"{section.key('enrollment')}: {enrollment!r} is not one of {', '.join(ENROLLMENTS)}"
        )
    key_algorithm = section.text("key-algorithm")
    if key_algorithm is not None and key_algorithm.upper() not in KEY_ALGORITHMS:
        raise ConfigError(
            f"{section.key('key-algorithm')}: unknown key algorithm {key_algorithm!r} "
            f"(one of {', '.join(KEY_ALGORITHMS)})"
        )
    if key_algorithm is None and enrollment != "api-managed":
        key_algorithm = DEFAULT_LOCAL_KEY
    common_name = section.text("common-name", default="") or ""
    alt_names = section.strings("alt-names") or ()
    if not common_name and not alt_names:
        raise ConfigError(f"{where}: give common-name or alt-names")
    subject: dict[str, str] = {}
    subject_section = section.section("subject")
    if subject_section is not None:
        for key, rest_name in SUBJECT_KEYS.items():
            value = subject_section.text(key)
            if value:
                subject[rest_name] = value
        subject_section.done()
    ttl = section.text("ttl")
    if ttl is not None:
        try:
            parse_duration(ttl)
        except ValueError as exc:
            raise ConfigError(f"{section.key('ttl')}: {exc}") from None
        if enrollment == "acme":
            raise ConfigError(
                f"{section.key('ttl')}: not available with acme enrollment "
                "(the profile's default validity applies)"
            )
    metadata_section = section.section("metadata")
    metadata: dict[str, str] = {}
    if metadata_section is not None:
        for key in list(metadata_section.data):
            value = metadata_section.text(str(key))
            metadata[str(key)] = value or ""
        metadata_section.done()
    renew_text = section.text("renew-before", default="33%") or "33%"
    try:
        renew_before = RenewBefore.parse(renew_text)
    except ValueError as exc:
        raise ConfigError(f"{section.key('renew-before')}: {exc}") from None
    key_usages = section.strings("key-usages")
    extended_key_usages = section.strings("extended-key-usages")
    files = _files(section.section("file-output"), where, base)
    post_renewal = _post_renewal(section.section("post-renewal"))
    revoke_superseded = section.flag("revoke-superseded", False)
    acme_section = section.section("acme")
    if acme_section is not None and enrollment != "acme":
        raise ConfigError(f"{acme_section.where}: only for enrollment: acme")
    acme = _acme(acme_section, where, section.env) if enrollment == "acme" else None
    if enrollment == "acme" and (key_usages or extended_key_usages or metadata):
        raise ConfigError(
            f"{where}: key-usages, extended-key-usages and metadata are not available "
            "with acme enrollment (the profile decides them)"
        )
    section.done()
    return CertificateConfig(
        name=name,
        where=where,
        profile=profile,
        enrollment=enrollment,
        common_name=common_name,
        alt_names=alt_names,
        subject=subject,
        key_algorithm=None if key_algorithm is None else key_algorithm.upper(),
        ttl=ttl,
        key_usages=key_usages,
        extended_key_usages=extended_key_usages,
        metadata=metadata,
        renew_before=renew_before,
        files=files,
        post_renewal=post_renewal,
        revoke_superseded=revoke_superseded,
        acme=acme,
    )


def parse_config(data: object, path: Path, env: Mapping[str, str] | None = None) -> AgentConfig:
    """The agent configuration from parsed YAML; relative paths are relative to `path`'s
    directory."""
    env = os.environ if env is None else env
    base = path.resolve().parent
    top = Section(data, "", env)
    server_section = top.section("server")
    if server_section is None:
        raise ConfigError("server: is required (url, and ca-bundle for a private CA)")
    server = _server(server_section, base)
    auth = _auth(top.section("auth"), env, "auth", base)
    state_dir = _path(top, "state-dir", base) or base / ".kms-agent"
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
        cert = _certificate(Section(item, f"certificates[{index}]", env), base)
        if cert.name in names:
            raise ConfigError(f"certificates[{index}].name: {cert.name!r} is used twice")
        names.add(cert.name)
        certificates.append(cert)
    top.done()
    if auth is None:
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


def load_config(path: Path, env: Mapping[str, str] | None = None) -> AgentConfig:
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
    return parse_config(data, path, env)


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
