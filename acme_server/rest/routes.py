"""The REST routes: each module under acme_server/rest/ exposes `routes()`; this lists them."""

from __future__ import annotations

from starlette.routing import BaseRoute

from acme_server.rest import (
    audit,
    auth,
    cas,
    cert_auth,
    certificates,
    eab,
    identities,
    openapi,
    policies,
    profiles,
)


def rest_routes() -> list[BaseRoute]:
    return [
        # one line per REST module: *module.routes(),
        *cas.routes(),
        *policies.routes(),
        *profiles.routes(),
        *eab.routes(),
        *openapi.routes(),
        *auth.routes(),
        *cert_auth.routes(),
        *identities.routes(),
        *audit.routes(),
        *certificates.routes(),
    ]
