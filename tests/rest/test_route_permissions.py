"""The REST route table names a permission for every route (acme_server/rest/guard.py),
and the roles hold what they should: walked statically, then over real HTTP with a
reader's and an auditor's tokens against every route they lack (403 naming the
permission before any input is read or any object looked up)."""

from __future__ import annotations

import re
import uuid

import pytest
from starlette.routing import BaseRoute, Route

from acme_server.rest.guard import PUBLIC, ApiRoute
from acme_server.rest.routes import rest_routes
from acme_server.services.roles import (
    ADMIN,
    AUDITOR,
    ISSUER,
    READER,
    ROLE_PERMISSIONS,
    Permission,
    holds,
)
from testkit.in_process_server import AcmeServer
from tests.rest.conftest import bearer_client

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
# Routes whose request carries its own credential, or public documents.
PUBLIC_PATHS = {
    "/api/v1/auth/universal-auth/login",
    "/api/v1/auth/token/revoke",
    "/api/v1/auth/cert-auth/login",
    "/api/v1/auth/cert-auth/rotate",
    "/api/openapi.json",
    "/api/docs",
    "/api/docs/{name}",
}
_PARAM = re.compile(r"\{[^}]+\}")


def _routes() -> list[tuple[str, str, ApiRoute]]:
    found: list[tuple[str, str, ApiRoute]] = []
    for route in rest_routes():
        assert isinstance(route, ApiRoute), f"{_path(route)} is not an ApiRoute: no permission"
        found += [(method, route.path, route) for method in sorted(route.methods or ())]
    return [(m, p, r) for m, p, r in found if m != "HEAD"]


def _path(route: BaseRoute) -> str:
    return route.path if isinstance(route, Route) else repr(route)


def test_every_route_names_a_permission_and_only_credential_routes_are_public() -> None:
    routes = _routes()
    assert len(routes) > 40
    for method, path, route in routes:
        assert route.permission is PUBLIC or isinstance(route.permission, Permission)
        assert (route.permission is PUBLIC) == (path in PUBLIC_PATHS), (method, path)


def test_a_reader_holds_no_write_permission_and_an_auditor_only_reads_the_log() -> None:
    for method, path, route in _routes():
        if route.permission is PUBLIC:
            continue
        if method in WRITES:
            assert not holds(READER, route.permission), (method, path)
            assert not holds(AUDITOR, route.permission), (method, path)
    assert ROLE_PERMISSIONS[AUDITOR] == {Permission.AUDIT_READ, Permission.IDENTITY_READ}
    assert ROLE_PERMISSIONS[ADMIN] == set(Permission)
    # An issuer never manages the CA, its policies, profiles, EAB or identities.
    manage = {p for p in Permission if p.value.endswith(".manage")}
    assert not manage & ROLE_PERMISSIONS[ISSUER]
    assert Permission.CERTIFICATE_EXPORT not in ROLE_PERMISSIONS[READER]


def _concrete(path: str) -> str:
    return _PARAM.sub(lambda _: str(uuid.uuid4()), path)


@pytest.mark.parametrize("role", [READER, AUDITOR])
def test_every_route_a_role_lacks_answers_403_naming_the_permission(
    api: AcmeServer, role: str
) -> None:
    lacking = [
        (method, path, route.permission)
        for method, path, route in _routes()
        if route.permission is not PUBLIC and not holds(role, route.permission)
    ]
    assert lacking
    with bearer_client(api, role=role) as http:
        for method, path, permission in lacking:
            assert isinstance(permission, Permission)
            response = http.request(method, _concrete(path), json={})
            assert response.status_code == 403, (method, path, response.text)
            body = response.json()
            assert body["details"] == {"permission": permission.value}, (method, path)
            assert permission.value in body["message"] and role in body["message"]
