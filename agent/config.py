"""The agent's configuration as the rest of the agent sees it: frozen dataclasses, read and
checked from agent.yaml by agent.config_file (each certificates[] entry by
agent.config_certificate)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Literal

from agent.durations import RenewBefore

Enrollment = Literal["api-managed", "api-csr", "acme"]
ENROLLMENTS: tuple[Enrollment, ...] = ("api-managed", "api-csr", "acme")
KEY_ALGORITHMS = ("RSA_2048", "RSA_3072", "RSA_4096", "EC_P256", "EC_P384", "EC_P521")
DEFAULT_LOCAL_KEY = "EC_P256"  # api-csr and acme when the config names none
SUBJECT_KEYS = {
    "organization": "organization",
    "organizational-unit": "organizationalUnit",
    "country": "country",
    "state": "state",
    "locality": "locality",
}
ENV_CLIENT_ID = "KMS_AGENT_CLIENT_ID"
ENV_CLIENT_SECRET = "KMS_AGENT_CLIENT_SECRET"  # noqa: S105 (a variable name)
SECRET_NOT_READ = "<not read>"  # noqa: S105 (a placeholder, never a secret)
"""A secret's value in a configuration read for local state only (`agent status`)."""


class ConfigError(Exception):
    """A bad agent configuration; the message is one line, naming the key."""


@dataclass(frozen=True, slots=True)
class ServerConfig:
    url: str
    ca_bundle: Path | None
    timeout: float


@dataclass(frozen=True, slots=True)
class AuthConfig:
    client_id: str
    client_secret: str


@dataclass(frozen=True, slots=True)
class ClientCertificateAuth:
    """Log in with a client certificate (proof of possession of `key`), and rotate it:
    when the server reports it in its warning period, or when less than `rotate_before`
    of its lifetime is left (None: the server's answer alone decides)."""

    certificate: Path  # PEM: the leaf, then its issuers
    key: Path  # PEM private key, rewritten (0600) on rotation
    rotate_before: timedelta | None


@dataclass(frozen=True, slots=True)
class RetryConfig:
    initial_delay: timedelta = timedelta(seconds=2)
    max_delay: timedelta = timedelta(minutes=5)
    attempts: int = 5  # per run in --once mode


@dataclass(frozen=True, slots=True)
class Pkcs12Output:
    path: Path
    password: str


@dataclass(frozen=True, slots=True)
class FileOutput:
    certificate: Path | None
    chain: Path | None
    full_chain: Path | None
    private_key: Path | None
    pkcs12: Pkcs12Output | None
    mode: int  # certificate, chain and full chain; the private key and PKCS#12 are 0600
    owner: str | None
    group: str | None

    def paths(self) -> list[tuple[str, Path]]:
        named = [
            ("certificate", self.certificate),
            ("chain", self.chain),
            ("full-chain", self.full_chain),
            ("private-key", self.private_key),
            ("pkcs12", None if self.pkcs12 is None else self.pkcs12.path),
        ]
        return [(key, path) for key, path in named if path is not None]


@dataclass(frozen=True, slots=True)
class PostRenewal:
    command: str  # run by /bin/sh -c
    timeout: timedelta


@dataclass(frozen=True, slots=True)
class AcmeConfig:
    directory: str | None  # default: <server>/acme/<profile>/directory
    eab_kid: str | None
    eab_hmac_key: str | None
    http01_address: str
    http01_port: int
    contact: str | None


@dataclass(frozen=True, slots=True)
class CertificateConfig:
    name: str
    where: str  # "certificates[0]", for messages
    profile: str
    enrollment: Enrollment
    common_name: str
    alt_names: tuple[str, ...]
    subject: Mapping[str, str]  # REST attribute name -> value
    key_algorithm: str | None
    ttl: str | None
    key_usages: tuple[str, ...] | None
    extended_key_usages: tuple[str, ...] | None
    metadata: Mapping[str, str]
    renew_before: RenewBefore
    files: FileOutput
    post_renewal: PostRenewal | None
    revoke_superseded: bool
    acme: AcmeConfig | None

    def request_digest(self) -> str:
        """What the certificate on disk must have been asked for; a change reissues it."""
        return repr(
            (
                self.profile,
                self.enrollment,
                self.common_name,
                sorted(self.alt_names),
                sorted(self.subject.items()),
                self.key_algorithm,
                self.key_usages,
                self.extended_key_usages,
            )
        )


@dataclass(frozen=True, slots=True)
class AgentConfig:
    path: Path
    server: ServerConfig
    auth: AuthConfig | ClientCertificateAuth | None
    state_dir: Path
    check_interval: timedelta
    retry: RetryConfig
    log_format: Literal["json", "text"]
    certificates: tuple[CertificateConfig, ...] = field(default=())
