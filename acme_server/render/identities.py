"""A machine identity and its client certificates as the REST API and `kms identity certs
--json` show them (never a secret or a token)."""

from __future__ import annotations

from typing import Any

from acme_server.render.common import iso
from acme_server.services.identities.client_certs import Standing
from store import IdentityCertificateRecord, IdentityRecord


def render_credential(binding: IdentityCertificateRecord, standing: Standing) -> dict[str, Any]:
    return {
        "serialNumber": binding.serial_hex,
        "fingerprintSha256": binding.fingerprint_sha256,
        "notAfter": iso(binding.not_after),
        "rotateBy": iso(standing.rotate_by),
        "status": binding.state,
        "credentialState": standing.state,
        "firstUsedAt": iso(binding.first_used_at),
        "createdAt": iso(binding.created_at),
    }


def render_identity(
    identity: IdentityRecord, credentials: list[tuple[IdentityCertificateRecord, Standing]]
) -> dict[str, Any]:
    return {
        "id": identity.id,
        "name": identity.name,
        "clientId": identity.client_id,
        "disabled": identity.disabled,
        "role": identity.role,
        "createdAt": iso(identity.created_at),
        "certificates": [render_credential(b, s) for b, s in credentials],
    }
