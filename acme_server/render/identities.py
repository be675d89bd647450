"""A machine identity and its client certificates as the REST API and `kms identity certs
--json` show them (never a secret or a token)."""

from __future__ import annotations

from typing import Any

from acme_server.render.common import iso
from acme_server.services.identities.client_certs import Standing
from acme_server.services.identities.grants import Reach
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
    identity: IdentityRecord,
    reach: Reach,
    credentials: list[tuple[IdentityCertificateRecord, Standing]] | None = None,
) -> dict[str, Any]:
    """The identity; with `credentials`, its client certificates too."""
    shown: dict[str, Any] = {
        "id": identity.id,
        "name": identity.name,
        "clientId": identity.client_id,
        "disabled": identity.disabled,
        "role": identity.role,
        "allProfiles": reach.all_profiles,
        "profiles": list(reach.profiles),
        "createdAt": iso(identity.created_at),
    }
    if credentials is not None:
        shown["certificates"] = [render_credential(b, s) for b, s in credentials]
    return shown
