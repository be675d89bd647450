"""First start: a root CA, an intermediate signed by it, a default policy and profile, and the
server's own TLS certificate. Every step is skipped when its result already exists, so a
second start reuses the data directory as it is.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from acme_server.private_files import write_private
from acme_server.services.cas.create import CASpec, create_intermediate, create_root
from acme_server.services.certificates.issuance import IssueSpec, issue
from acme_server.services.context import Services
from acme_server.services.errors import ConflictError, InvalidRequestError
from acme_server.services.policies.admin import check_rules
from acme_server.services.profiles.settings import EnrollmentConfig
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
from policy.durations import format_ttl_seconds, parse_ttl_seconds
from policy.errors import PolicyError
from policy.names import NameKind, check_patterns
from policy.rules import CertificatePolicy, policy_from_dict
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


SECURE_MAX_TTL = "90d"
OPEN_HINT = (
    "for trials (`kms init --secure` starts a new data directory with EAB required, allowed "
    'names and a max TTL; README "Open and secure defaults")'
)


@dataclass(frozen=True, slots=True)
class SecureDefaults:
    """`kms init --secure`: the default profile requires External Account Binding, and its
    policy allows DNS names matching `allowed_names` only (in the CN and the SANs; IP, email
    and URI SANs are refused) for at most `max_ttl`."""

    allowed_names: tuple[str, ...]
    max_ttl: str = SECURE_MAX_TTL

    def __post_init__(self) -> None:
        if not self.allowed_names:
            raise InvalidRequestError("allowed names: give at least one name pattern")
        try:
            check_patterns(NameKind.DNS, self.allowed_names, "allowed names")
            parse_ttl_seconds(self.max_ttl)
        except PolicyError as exc:
            where = "" if str(exc).startswith("allowed names") else "max TTL: "
            raise InvalidRequestError(f"{where}{exc}") from None

    def rules(self) -> dict[str, Any]:
        """The default policy's document (policy/rules.py)."""
        patterns = list(self.allowed_names)
        return {
            "commonName": {"allowed": patterns},
            "sans": {SanType.DNS.value: {"allowed": patterns}},
            "allowedSanTypes": [SanType.DNS.value],
            "maxTtl": self.max_ttl,
        }

    def profile_ttl(self) -> str:
        """The profile's default lifetime: 90 days, or the max TTL if that is shorter."""
        limit = parse_ttl_seconds(self.max_ttl)
        default = parse_ttl_seconds(str(DEFAULT_PROFILE_DEFAULTS["ttl"]))
        return format_ttl_seconds(min(limit, default))


@dataclass(frozen=True, slots=True)
class InitReport:
    created: tuple[str, ...]  # what this call made, for the CLI to print
    profile: ProfileRecord
    # What the default profile leaves open ("any name", "no EAB", "no max TTL"): () = none
    open_aspects: tuple[str, ...] = ()

    @property
    def open_warning(self) -> str | None:
        """The line `kms serve` and `kms init` print about an open default profile."""
        if not self.open_aspects:
            return None
        aspects = ", ".join(self.open_aspects)
        return f"Default profile {self.profile.slug!r}: {aspects}; {OPEN_HINT}"


def open_aspects(policy: CertificatePolicy, enrollment: EnrollmentConfig) -> tuple[str, ...]:
    """What a profile leaves open: any name (some name in a request is unconstrained: the
    CN, or a SAN type allowed without allow patterns), ACME accounts without EAB, no max
    TTL."""
    names_bound = bool(policy.common_name.allowed) and all(
        policy.san_rules(san_type).allowed for san_type in policy.allowed_san_types
    )
    aspects = [] if names_bound else ["any name"]
    if enrollment.acme_enabled and not enrollment.eab_required:
        aspects.append("no EAB")
    if policy.max_ttl_seconds is None:
        aspects.append("no max TTL")
    return tuple(aspects)


async def _open_aspects(services: Services, profile: ProfileRecord) -> tuple[str, ...]:
    try:
        policy = policy_from_dict((await services.store.get_policy(profile.policy_id)).rules)
    except (NotFound, PolicyError):
        return ()  # issuance reports a broken policy; nothing to say about openness
    return open_aspects(policy, EnrollmentConfig.of(profile))


async def initialise(
    services: Services, *, organization: str = "KMS", secure: SecureDefaults | None = None
) -> InitReport:
    """Create what is missing. `secure` shapes the default profile and policy, so it applies
    only when they are created: an initialised data directory is returned as it is."""
    created: list[str] = []
    store = services.store
    profile = await store.get_default_profile()
    if profile is not None:
        return InitReport(
            created=(), profile=profile, open_aspects=await _open_aspects(services, profile)
        )
    if secure is not None:
        with contextlib.suppress(NotFound):
            await store.get_policy_by_name(DEFAULT_POLICY_NAME)
            raise ConflictError(
                f"a policy named {DEFAULT_POLICY_NAME!r} exists already (a half-initialised "
                "data directory?): start a secure one in an empty data directory"
            )

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
            description="Permissive starting policy: any names, the profile's defaults"
            if secure is None
            else f"Secure starting policy: {', '.join(secure.allowed_names)}, "
            f"at most {secure.max_ttl}",
            rules={} if secure is None else check_rules(secure.rules()),
        )
        created.append(f"policy {policy.name!r}")
    defaults = dict(DEFAULT_PROFILE_DEFAULTS)
    if secure is not None:
        defaults["ttl"] = secure.profile_ttl()
    profile = await store.create_profile(
        slug=DEFAULT_PROFILE_SLUG,
        name="Default",
        description="TLS server and client certificates from the intermediate CA",
        policy_id=policy.id,
        issuer_type=IssuerType.CA.value,
        ca_id=issuing.id,
        enrollment={
            "acme": {"enabled": True, "eab_required": secure is not None},
            "api": {"enabled": True},
        },
        defaults=defaults,
        auto_renew=False,
        renew_before_days=30,
        is_default=True,
    )
    created.append(f"profile {profile.slug!r}")
    return InitReport(
        created=tuple(created), profile=profile, open_aspects=await _open_aspects(services, profile)
    )


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
