"""A new External Account Binding credential as REST (POST .../eab-credentials) and
`kms eab create --json` both show it: the one time its HMAC key is shown."""

from __future__ import annotations

from typing import Any

from acme_server.render.common import iso
from acme_server.services.eab_credentials import NewEABCredential


def render_new_credential(made: NewEABCredential) -> dict[str, Any]:
    """`directory` is the profile's ACME directory URL (on settings.base_url, as every
    published URL); `directoryUrl` and `hmacAlg` are the same values under the names REST
    and the CLI used before they shared this document."""
    directory = made.directory
    return {
        "kid": made.record.id,
        "hmacKey": made.hmac_key_b64,
        "hmacAlgorithm": made.record.hmac_alg,
        "hmacAlg": made.record.hmac_alg,
        "reusable": made.record.reusable,
        "directory": directory,
        "directoryUrl": directory,
        "createdAt": iso(made.record.created_at),
    }
