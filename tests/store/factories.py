"""Rows with sensible defaults, so each test states only what it is about."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pki_types.model import IssuerType, RequestMethod
from store import CARecord, CertificateRecord, PolicyRecord, ProfileRecord, Store

NOW = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
_counter = iter(range(1, 1_000_000))


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_counter)}"


async def make_ca(store: Store, **overrides: Any) -> CARecord:
    fields: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "name": unique("ca"),
        "kind": "root",
        "parent_id": None,
        "subject": "CN=Test Root,O=Example",
        "key_algorithm": "EC_P256",
        "hash_algorithm": "SHA256",
        "certificate_pem": "-----BEGIN CERTIFICATE-----\nroot\n-----END CERTIFICATE-----\n",
        "chain_pem": "",
        "encrypted_key": b"\x00\x01sealed-key\xff",
        "serial_hex": "1a2b3c",
        "not_before": NOW - timedelta(days=1),
        "not_after": NOW + timedelta(days=3650),
        "crl_distribution_url": "http://ca.example/crl",
        "aia_issuer_url": "http://ca.example/issuer",
    }
    fields.update(overrides)
    return await store.create_ca(**fields)


async def make_policy(store: Store, **overrides: Any) -> PolicyRecord:
    fields: dict[str, Any] = {
        "name": unique("policy"),
        "rules": {"max_ttl": "90d", "san": {"dns_name": {"allow": ["*.example.com"]}}},
        "description": "test policy",
    }
    fields.update(overrides)
    return await store.create_policy(**fields)


async def make_profile(
    store: Store, *, policy: PolicyRecord | None = None, **overrides: Any
) -> ProfileRecord:
    if policy is None:
        policy = await make_policy(store)
    fields: dict[str, Any] = {
        "slug": unique("profile"),
        "name": "Web servers",
        "policy_id": policy.id,
        "issuer_type": IssuerType.SELF_SIGNED,
        "ca_id": None,
        "enrollment": {"acme": {"enabled": True, "eab_required": False}, "api": {"enabled": True}},
        "defaults": {"ttl": "30d", "key_algorithm": "EC_P256"},
    }
    fields.update(overrides)
    return await store.create_profile(**fields)


async def reserve(
    store: Store,
    *,
    metadata: Mapping[str, str] | None = None,
    **overrides: Any,
) -> CertificateRecord:
    fields: dict[str, Any] = {
        "serial_hex": uuid.uuid4().hex,
        "profile_id": None,
        "ca_id": None,
        "request_method": RequestMethod.API_MANAGED,
        "common_name": "www.example.com",
        "subject": "CN=www.example.com",
        "sans": [{"type": "dns_name", "value": "www.example.com"}],
        "key_algorithm": "EC_P256",
        "hash_algorithm": "SHA256",
        "not_before": NOW,
        "not_after": NOW + timedelta(days=30),
        "metadata": metadata,
    }
    fields.update(overrides)
    return await store.reserve_certificate(**fields)


async def issue(store: Store, **overrides: Any) -> CertificateRecord:
    """Reserve and activate: an active certificate."""
    cert = await reserve(store, **overrides)
    assert await store.activate_certificate(
        cert.id,
        certificate_pem=f"-----BEGIN CERTIFICATE-----\n{cert.serial_hex}\n",
        chain_pem="",
        fingerprint_sha256="ab" * 32,
        encrypted_private_key=b"sealed",
    )
    return await store.get_certificate(cert.id)
