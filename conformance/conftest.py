"""Real ACME clients (certbot, lego, dehydrated, Caddy) against a real `kms serve` process.

One DNS server (in a background thread of the test process) answers A records for the test
zone with 127.0.0.1; every server started here validates through it (--dns-resolver), reaches
the clients' standalone HTTP-01 listeners on a free loopback port (--http01-port) and is
allowed to validate loopback addresses; TLS-ALPN-01 connects to another free port
(--tlsalpn01-port). Each test module starts one server per storage backend (SQLite,
PostgreSQL), with two ACME directories:

- `default`: externalAccountRequired (EAB keys from `kms eab create`);
- `open`: the same CA and policy, no EAB.

Nothing but loopback is contacted: the clients talk to https://localhost:<port>, the server to
127.0.0.1 (DNS and HTTP-01).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import ssl
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder
from cryptography.x509.verification import Store as TrustStore

from acme_server.services.context import Services
from acme_server.services.eab_credentials import NewEABCredential, create_credential
from acme_server.settings import Settings, load_settings
from ca_core.serials import serial_to_hex
from store import AccountRecord, AuthorizationRecord, CertificateRecord, ProfileRecord, Store
from testkit.dns_server import DNSServer
from testkit.event_loop import BackgroundLoop, run_async
from testkit.flows import crl_distribution_url
from testkit.kms_process import RunningServer, free_port, kms_json, running_server
from testkit.postgres import BACKENDS, fresh_postgres_database, in_ci

ZONE = "conformance.test"
CONTACT = "ops@example.com"
CLIENT_TIMEOUT = 120
OPEN_PROFILE = "open"
T = TypeVar("T")


def name(label: str) -> str:
    """A name in the test zone; every one the tests use must be in NAMES."""
    return f"{label}.{ZONE}"


# Every name any test asks for; the DNS server answers each with 127.0.0.1.
NAMES = [
    name(label)
    for label in (
        "www",
        "api",
        "second",
        "open",
        "refused",
        "reused",
        "rsa",
        "csr",
        "csr-alt",
        "lego-www",
        "lego-api",
        "lego-second",
        "lego-open",
        "lego-refused",
        "lego-reused",
        "lego-rsa",
        "lego-p384",
        "lego-csr",
        "lego-csr-alt",
        "lego-deactivate",
        "certbot-ari",
        "dehydrated-www",
        "dehydrated-api",
        "caddy-www",
        "lego-tls-alpn",
    )
]


def client_binary(program: str, *candidates: Path) -> str:
    """The path of an ACME client: one of `candidates` that exists, else `program` on PATH.
    Missing: skip with the reason, or fail under CI (a CI run must not pass by skipping)."""
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(program)
    if found:
        return found
    message = f"{program} not installed"
    if in_ci():
        pytest.fail(f"{message} (CI is set, so this fails instead of skipping)", pytrace=False)
    pytest.skip(message)


def venv_script(program: str) -> Path:
    """A console script installed beside this interpreter (the project's .venv)."""
    return Path(sys.executable).with_name(program)


def run_client(
    argv: list[str], env: dict[str, str], *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=CLIENT_TIMEOUT,
        stdin=subprocess.DEVNULL,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(argv)} exited {result.returncode}\n"
            f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
        )
    return result


@pytest.fixture(scope="session")
def dns() -> Iterator[DNSServer]:
    """An authoritative DNS server on 127.0.0.1 answering NAMES with 127.0.0.1."""
    loop = BackgroundLoop()
    server = loop.run(DNSServer().__aenter__())
    for each in NAMES:
        server.add(each, "A", "127.0.0.1")
    # The zone apex, which lego's RFC 2136 provider looks for (SOA) before it sends UPDATEs.
    server.add(ZONE, "SOA", f"ns.{ZONE}. hostmaster.{ZONE}. 1 3600 600 86400 60")
    try:
        yield server
    finally:
        loop.run(server.__aexit__(None, None, None))
        loop.close()


@dataclass
class KmsServer:
    """A running `kms serve` and what the clients need to use it."""

    process: RunningServer
    database: str  # "" for SQLite in the data directory
    http01_port: int
    tlsalpn01_port: int  # where TLS-ALPN-01 validation connects (a client's listener)
    eab_profile: ProfileRecord
    open_profile: ProfileRecord

    @property
    def bundle(self) -> Path:
        assert self.process.ca_bundle is not None
        return self.process.ca_bundle

    @property
    def data_dir(self) -> Path:
        return self.process.data_dir

    def directory(self, profile: str = "default") -> str:
        return f"{self.process.base_url}/acme/{profile}/directory"

    def cli_args(self) -> list[str]:
        database = ["--database", self.database] if self.database else []
        return ["--data-dir", str(self.data_dir), *database]

    def eab_key(self, *, cli: bool = False) -> dict[str, str]:
        """A new single-use EAB credential of the EAB-required default profile: {kid, hmacKey}.
        cli=True: from `kms eab create --json`, as an operator makes one; else the same
        function called in-process (saves starting a `kms` process)."""
        if cli:
            created = kms_json("eab", "create", *self.cli_args())
            return {"kid": created["kid"], "hmacKey": created["hmacKey"]}

        async def create(services: Services) -> NewEABCredential:
            return await create_credential(services, self.eab_profile, reusable=False)

        made = run_async(lambda: self._with_services(create))
        return {"kid": made.record.id, "hmacKey": made.hmac_key_b64}

    def show(self, serial: int) -> dict[str, Any]:
        """`kms cert show <serial> --json`: the server's record of a certificate."""
        record: dict[str, Any] = kms_json("cert", "show", format(serial, "x"), *self.cli_args())
        return record

    def record(self, serial: int) -> CertificateRecord:
        """The server's inventory record of a certificate, read from its store (faster than
        `kms cert show`, which check_revoked uses)."""
        serial_hex = serial_to_hex(serial)
        return run_async(
            lambda: self._with_store(lambda store: store.get_certificate_by_serial(serial_hex))
        )

    def account(self, url: str) -> AccountRecord:
        """The server's record of the ACME account at `url`."""
        account_id = url.rstrip("/").rsplit("/", 1)[1]
        return run_async(lambda: self._with_store(lambda store: store.get_account(account_id)))

    def authorization(self, url: str) -> AuthorizationRecord:
        """The server's record of the ACME authorization at `url`."""
        authz_id = url.rstrip("/").rsplit("/", 1)[1]
        return run_async(lambda: self._with_store(lambda store: store.get_authorization(authz_id)))

    async def _with_store(self, action: Callable[[Store], Awaitable[T]]) -> T:
        return await self._with_services(lambda services: action(services.store))

    async def _with_services(self, action: Callable[[Services], Awaitable[T]]) -> T:
        services = await Services.open(server_settings(self.data_dir, self.database), migrate=False)
        try:
            return await action(services)
        finally:
            await services.close()

    def http(self) -> httpx.Client:
        return httpx.Client(verify=ssl.create_default_context(cafile=str(self.bundle)), timeout=10)

    def root(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.bundle.read_bytes())


def server_settings(data_dir: Path, database: str) -> Settings:
    """Settings to open the server's store from the test process."""
    return load_settings({"data_dir": data_dir, "database_url": database or None}, env={})


async def _configure_profiles(data_dir: Path, database: str) -> tuple[ProfileRecord, ProfileRecord]:
    """Require EAB on the default profile; add an `open` profile (same CA, policy and
    defaults) that does not. Done through the store: there is no CLI for it yet."""
    services = await Services.open(server_settings(data_dir, database), migrate=False)
    try:
        store = services.store
        default = await store.get_default_profile()
        assert default is not None, "kms serve did not create a default profile"
        required = await store.update_profile(
            default.id,
            enrollment={"acme": {"enabled": True, "eab_required": True}, "api": {"enabled": True}},
        )
        opened = await store.create_profile(
            slug=OPEN_PROFILE,
            name="Open",
            description="ACME without external account binding",
            policy_id=default.policy_id,
            issuer_type=default.issuer_type,
            ca_id=default.ca_id,
            enrollment={"acme": {"enabled": True, "eab_required": False}, "api": {"enabled": True}},
            defaults=dict(default.defaults),
        )
        return required, opened
    finally:
        await services.close()


@pytest.fixture(scope="module", params=BACKENDS)
def kms_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, dns: DNSServer
) -> Iterator[KmsServer]:
    """`kms serve` on SQLite or a fresh PostgreSQL database, for one test module.

    The profiles are changed after the server has started (it initialises the CA, policy and
    default profile itself, with CRL/AIA URLs for its own port) but before any ACME request,
    so no directory has been looked up, and cached, with the old settings."""
    root = tmp_path_factory.mktemp(f"kms-{request.param}")
    data_dir = root / "data"
    http01_port = free_port()
    tlsalpn01_port = free_port()
    flags = [
        "--http01-port",
        str(http01_port),
        "--tlsalpn01-port",
        str(tlsalpn01_port),
        "--dns-resolver",
        f"{dns.nameserver[0]}:{dns.nameserver[1]}",
        "--allow-private-validation",
    ]
    with contextlib.ExitStack() as stack:
        database = (
            "" if request.param == "sqlite" else stack.enter_context(fresh_postgres_database())
        )
        process = stack.enter_context(running_server(data_dir, *flags, database=database or None))
        required, opened = run_async(lambda: _configure_profiles(data_dir, database))
        try:
            yield KmsServer(
                process=process,
                database=database,
                http01_port=http01_port,
                tlsalpn01_port=tlsalpn01_port,
                eab_profile=required,
                open_profile=opened,
            )
        finally:
            if request.session.testsfailed:
                sys.stderr.write(f"\n--- kms serve log ({request.param})\n{process.log()}\n")


# --- checks shared by the client tests -------------------------------------------------------


def load_chain(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


def dns_names(cert: x509.Certificate) -> set[str]:
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(v) for v in san.get_values_for_type(x509.DNSName)}


def ip_addresses(cert: x509.Certificate) -> set[str]:
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(v) for v in san.get_values_for_type(x509.IPAddress)}


def check_issued(
    server: KmsServer,
    leaf: x509.Certificate,
    intermediates: list[x509.Certificate],
    names: list[str],
    ips: tuple[str, ...] = (),
    *,
    verify: list[str] | None = None,
) -> None:
    """Exactly `names` as DNS SANs (and `ips` as IP SANs), and a chain that verifies, as a
    TLS server certificate for each of them (or for the `verify` names: a wildcard SAN is
    verified through a name it covers) (RFC 5280 path validation by cryptography), up to
    the root in ca-bundle.pem."""
    assert dns_names(leaf) == set(names)
    assert ip_addresses(leaf) == set(ips)
    checked = names if verify is None else verify
    subjects: list[x509.DNSName | x509.IPAddress] = [x509.DNSName(each) for each in checked]
    subjects += [x509.IPAddress(ipaddress.ip_address(each)) for each in ips]
    for subject in subjects:
        verifier = (
            PolicyBuilder()
            .store(TrustStore([server.root()]))
            .time(datetime.now(UTC))
            .build_server_verifier(subject)
        )
        path = verifier.verify(leaf, intermediates)
        assert path[-1] == server.root()


def check_revoked(
    server: KmsServer,
    leaf: x509.Certificate,
    issuer: x509.Certificate,
    *,
    reason: str,
    crl_reason: x509.ReasonFlags | None,
) -> None:
    """The server's record says revoked with `reason`, and the CRL at the certificate's
    distribution point (signed by its issuer) lists the serial with `crl_reason` (None: with
    no reasonCode extension, as RFC 5280 5.3.1 and the Baseline Requirements 7.2.2 want for
    an unspecified reason)."""
    record = server.show(leaf.serial_number)
    assert record["status"] == "revoked", record
    assert record["revocationReason"] == reason, record
    url = crl_distribution_url(leaf)
    with server.http() as http:
        response = http.get(url)
    assert response.status_code == 200, response.text
    crl = x509.load_der_x509_crl(response.content)
    assert crl.issuer == issuer.subject
    assert crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]
    entry = crl.get_revoked_certificate_by_serial_number(leaf.serial_number)
    assert entry is not None, f"serial {leaf.serial_number:x} is not on the CRL at {url}"
    if crl_reason is None:
        assert not [e for e in entry.extensions if isinstance(e.value, x509.CRLReason)]
    else:
        assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == crl_reason
