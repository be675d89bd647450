"""First start: a root CA, an intermediate signed by it, a default policy and profile, and the
server's own TLS certificate. Every step is skipped when its result already exists, so a
second start reuses the data directory as it is.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from acme_server.private_files import write_private
from acme_server.services.cas.create import CASpec, create_intermediate, create_root
from acme_server.services.certificates.issuance import IssueSpec, issue
from acme_server.services.context import Services
from ca_core.export import certificates_pem
from pki_types.model import (
    ExtendedKeyUsage,
    HashAlgorithm,
    IssuerType,
    KeyAlgorithm,
    KeyUsage,
    RequestMethod,
    SanType,
    SubjectAltName,
    SubjectAttributes,
)
from store import NotFound, ProfileRecord

log = logging.getLogger(__name__)

DEFAULT_PROFILE_SLUG = "default"
DEFAULT_POLICY_NAME = "default"
ROOT_VALIDITY = timedelta(days=3650)
INTERMEDIATE_VALIDITY = timedelta(days=1825)
SERVER_TLS_VALIDITY = timedelta(days=90)
SERVER_TLS_RENEW_BEFORE = timedelta(days=30)

DEFAULT_PROFILE_DEFAULTS = {
    "ttl": "90d",
    "key_algorithm": KeyAlgorithm.EC_P256.value,
    "hash_algorithm": HashAlgorithm.SHA256.value,
    "key_usages": [KeyUsage.DIGITAL_SIGNATURE.value],
    "extended_key_usages": [ExtendedKeyUsage.SERVER_AUTH.value, ExtendedKeyUsage.CLIENT_AUTH.value],
}


@dataclass(frozen=True, slots=True)
class InitReport:
    created: tuple[str, ...]  # what this call made, for the CLI to print
    profile: ProfileRecord


async def initialise(services: Services, *, organization: str = "KMS") -> InitReport:
    created: list[str] = []
    store = services.store
    profile = await store.get_default_profile()
    if profile is not None:
        return InitReport(created=(), profile=profile)

    cas = await store.list_cas()
    intermediates = [ca for ca in cas if ca.kind == "intermediate" and ca.status == "active"]
    if intermediates:
        issuing = intermediates[0]
    else:
        roots = [ca for ca in cas if ca.kind == "root" and ca.status == "active"]
        if roots:
            root = roots[0]
        else:
            root = await create_root(
                services,
                CASpec(
                    name=f"{organization} Root CA",
                    subject=SubjectAttributes(
                        common_name=f"{organization} Root CA", organization=organization
                    ),
                    key_algorithm=KeyAlgorithm.EC_P384,
                    hash_algorithm=HashAlgorithm.SHA384,
                    validity=ROOT_VALIDITY,
                ),
            )
            created.append(f"root CA {root.name!r} ({root.id})")
        issuing = await create_intermediate(
            services,
            CASpec(
                name=f"{organization} Intermediate CA",
                subject=SubjectAttributes(
                    common_name=f"{organization} Intermediate CA", organization=organization
                ),
                key_algorithm=KeyAlgorithm.EC_P256,
                hash_algorithm=HashAlgorithm.SHA256,
                validity=INTERMEDIATE_VALIDITY,
            ),
            root.id,
        )
        created.append(f"intermediate CA {issuing.name!r} ({issuing.id})")

    try:
        policy = await store.get_policy_by_name(DEFAULT_POLICY_NAME)
    except NotFound:
        policy = await store.create_policy(
            name=DEFAULT_POLICY_NAME,
            description="Permissive starting policy: any names, the profile's defaults",
            rules={},
        )
        created.append(f"policy {policy.name!r}")
    profile = await store.create_profile(
        slug=DEFAULT_PROFILE_SLUG,
        name="Default",
        description="TLS server and client certificates from the intermediate CA",
        policy_id=policy.id,
        issuer_type=IssuerType.CA.value,
        ca_id=issuing.id,
        enrollment={"acme": {"enabled": True, "eab_required": False}, "api": {"enabled": True}},
        defaults=dict(DEFAULT_PROFILE_DEFAULTS),
        auto_renew=False,
        renew_before_days=30,
        is_default=True,
    )
    created.append(f"profile {profile.slug!r}")
    return InitReport(created=tuple(created), profile=profile)


@dataclass(frozen=True, slots=True)
class ServerTLS:
    cert_path: Path
    key_path: Path
    ca_bundle_path: Path


def _server_names(services: Services) -> tuple[SubjectAltName, ...]:
    names: list[SubjectAltName] = [
        SubjectAltName(SanType.DNS, "localhost"),
        SubjectAltName(SanType.IP, "127.0.0.1"),
        SubjectAltName(SanType.IP, "::1"),
    ]
    for host in {urlsplit(services.settings.base_url).hostname or "", services.settings.host}:
        if not host or host in ("localhost", "0.0.0.0", "::"):  # noqa: S104
            continue
        try:
            san = SubjectAltName(SanType.IP, str(ipaddress.ip_address(host)))
        except ValueError:
            san = SubjectAltName(SanType.DNS, host)
        if san not in names:
            names.append(san)
    return tuple(names)


def _still_good(cert_path: Path, names: tuple[SubjectAltName, ...], now: datetime) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError):
        return False
    if cert.not_valid_after_utc - now < SERVER_TLS_RENEW_BEFORE:
        return False
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    present = {str(v) for v in san.get_values_for_type(x509.DNSName)} | {
        str(v) for v in san.get_values_for_type(x509.IPAddress)
    }
    return all(n.value in present for n in names)


async def ensure_server_tls(services: Services, profile: ProfileRecord) -> ServerTLS:
    """The server's certificate from its own CA, (re)issued when missing, expiring or renamed."""
    tls_dir = services.settings.tls_dir
    tls_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    paths = ServerTLS(
        cert_path=tls_dir / "server-fullchain.pem",
        key_path=tls_dir / "server-key.pem",
        ca_bundle_path=services.settings.ca_bundle_path,
    )
    names = _server_names(services)
    if not (_still_good(paths.cert_path, names, datetime.now(UTC)) and paths.key_path.exists()):
        issued = await issue(
            services,
            profile,
            IssueSpec(
                subject=SubjectAttributes(common_name="localhost"),
                sans=names,
                key_usages=frozenset({KeyUsage.DIGITAL_SIGNATURE}),
                extended_key_usages=frozenset({ExtendedKeyUsage.SERVER_AUTH}),
                validity=SERVER_TLS_VALIDITY,
                hash_algorithm=HashAlgorithm.SHA256,
                request_method=RequestMethod.SYSTEM,
                key_algorithm=KeyAlgorithm.EC_P256,
                friendly_name="kms server TLS",
            ),
        )
        assert issued.private_key is not None
        key_pem = issued.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_private(paths.key_path, key_pem)
        # The served chain stops below the root; clients trust the root from the bundle.
        write_private(
            paths.cert_path, certificates_pem([issued.certificate, *issued.chain[:-1]]).encode()
        )
        log.info("issued server TLS certificate", extra={"serial": issued.record.serial_hex})
    roots = [
        ca for ca in await services.store.list_cas() if ca.kind == "root" and ca.status == "active"
    ]
    bundle = "".join(ca.certificate_pem for ca in roots)
    if not paths.ca_bundle_path.exists() or paths.ca_bundle_path.read_text() != bundle:
        paths.ca_bundle_path.write_text(bundle)
    return paths
