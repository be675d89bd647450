"""The REST routes: each module under acme_server/rest/ exposes `routes()`; this lists them."""

from __future__ import annotations

from starlette.routing import BaseRoute

from acme_server.rest import (
    audit,
    auth,
    cas,
    cert_auth,
    dashboard,
    eab,
    identities,
    identity_admin,
    openapi,
    policies,
    profiles,
)
from acme_server.rest.certificates import crls, export, inventory, issue, revoke


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
        *identity_admin.routes(),
        *audit.routes(),
        *dashboard.routes(),
        *issue.routes(),
        *inventory.routes(),
        *revoke.routes(),
        *export.routes(),
        *crls.routes(),
    ]
