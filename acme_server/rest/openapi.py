"""GET /api/openapi.json: an OpenAPI 3.1 document of every /api/v1 route, unauthenticated.

Paths and methods come from the app's route table when the document is asked for, so a
route added anywhere appears without touching this module; each operation's summary is
the first sentence of its handler's docstring (a leading "METHOD /path -- " dropped) and
the whole docstring its description. Request and response bodies are declared in
openapi_schemas.py and certificates/schemas.py (`OPERATION_BODIES`), request bodies from
their one declaration next to their parser (acme_server/rest/body.py), and query
parameters from the `Query` a handler declares with @declares (acme_server/rest/query.py);
every other operation is documented with the shared error responses. Each operation's
permission comes from its route (acme_server/rest/guard.py): `x-permission` names it, and
a 403 answers a token whose role lacks it; public routes need no Bearer token. What a
permission reaches depends on the identity's grants (acme_server/services/access.py):
objects of profiles it is not granted answer 404, as missing ones do.

GET /api/docs is an interactive explorer of this document (acme_server/rest/explorer.py).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from acme_server.rest import explorer, openapi_schemas
from acme_server.rest.certificates import schemas as certificates_schemas
from acme_server.rest.guard import PUBLIC, ApiRoute
from acme_server.rest.query import declared_query

OPENAPI_PATH = "/api/openapi.json"
API_PREFIX = "/api/v1/"
API_VERSION = "1.0.0"
SCHEMAS: dict[str, Any] = {**openapi_schemas.SCHEMAS, **certificates_schemas.SCHEMAS}
OPERATION_BODIES = {**openapi_schemas.OPERATION_BODIES, **certificates_schemas.OPERATION_BODIES}
_PARAM = re.compile(r"\{([^}:]+)(?::([^}]+))?\}")
_DOC_PREFIX = re.compile(r"^[A-Z]+ /\S* --\s*")
_INTEGER_CONVERTORS = {"int"}
_SKIPPED_METHODS = {"HEAD", "OPTIONS"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def template(path: str) -> str:
    """'/a/{ca_id:str}/b' -> '/a/{}/b': the shape OPERATION_BODIES and PUBLIC use."""
    return _PARAM.sub("{}", path)


def api_routes(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, Route]]:
    """(full path, route) of every Route, Mounts followed, whose path is under /api/v1/."""
    for route in routes:
        if isinstance(route, Mount):
            yield from api_routes(list(route.routes), prefix + route.path)
        elif isinstance(route, Route) and (prefix + route.path).startswith(API_PREFIX):
            yield prefix + route.path, route


def operations(routes: list[BaseRoute]) -> Iterator[tuple[str, str, Route]]:
    """(method lowercase, full path, route) of every /api/v1 operation."""
    for path, route in api_routes(routes):
        for method in sorted(route.methods or ()):
            if method not in _SKIPPED_METHODS:
                yield method.lower(), path, route


def _docs(method: str, path: str, route: Route) -> tuple[str, str]:
    """(summary, description) from the handler's docstring."""
    doc = inspect.getdoc(route.endpoint) or ""
    paragraph = " ".join(doc.split("\n\n", 1)[0].split())
    paragraph = _DOC_PREFIX.sub("", paragraph)
    sentence = re.split(r"(?<=\.)\s", paragraph, maxsplit=1)[0]
    summary = sentence[:1].upper() + sentence[1:] if sentence else f"{method.upper()} {path}"
    return summary, doc


def _path_parameters(path: str) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer" if convertor in _INTEGER_CONVERTORS else "string"},
        }
        for name, convertor in _PARAM.findall(path)
    ]


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


def _operation(method: str, path: str, route: Route, used_ids: set[str]) -> dict[str, Any]:
    summary, description = _docs(method, path, route)
    operation_id = route.name
    while operation_id in used_ids:
        operation_id += "_"
    used_ids.add(operation_id)
    segments = [s for s in path[len(API_PREFIX) :].split("/") if s and not s.startswith("{")]
    tag = segments[1] if segments[:1] == ["cert-manager"] and len(segments) > 1 else segments[0]
    op: dict[str, Any] = {"operationId": operation_id, "summary": summary, "tags": [tag]}
    if description:
        op["description"] = description
    path_parameters = _path_parameters(path)
    declared = declared_query(route.endpoint)
    if parameters := path_parameters + (declared.openapi() if declared else []):
        op["parameters"] = parameters
    request_schema, status, response_schema = OPERATION_BODIES.get(
        (method, template(path)), (None, "200", None)
    )
    if request_schema is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(request_schema)}},
        }
    ok: dict[str, Any] = {"description": "Success"}
    if response_schema is not None:
        ok["content"] = {"application/json": {"schema": _ref(response_schema)}}
    responses: dict[str, Any] = {status: ok, "400": _error("Invalid request")}
    permission = route.permission if isinstance(route, ApiRoute) else PUBLIC
    if permission is PUBLIC:
        op["security"] = []
        if path.endswith(("/login", "/rotate")):
            responses["401"] = _error("Invalid client credentials or proof")
    else:
        op["x-permission"] = permission.value
        responses["401"] = _error("Missing, invalid or expired Bearer token")
        responses["403"] = _error(
            f"The identity's role lacks {permission.value} (details.permission names it), "
            "or it is not granted the profile it names"
        )
    if path_parameters:
        responses["404"] = _error("No such object, or one the caller's identity may not reach")
    if method in ("post", "patch", "put", "delete"):
        responses["409"] = _error("The object's state or references forbid this")
    op["responses"] = responses
    return op


def build_document(routes: list[BaseRoute], server_url: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    used_ids: set[str] = set()
    for method, path, route in operations(routes):
        openapi_path = _PARAM.sub(r"{\1}", path)
        paths.setdefault(openapi_path, {})[method] = _operation(method, path, route, used_ids)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "kms certificate manager API",
            "version": API_VERSION,
            "description": "Management and enrollment REST API of the kms private CA. "
            "Obtain a Bearer token with POST /api/v1/auth/universal-auth/login. Each "
            "operation needs the permission its x-permission names; roles: admin "
            "(everything), issuer (issue, renew, revoke, export and edit the certificates "
            "of its granted profiles), reader (read them; never a private key), auditor "
            "(the audit log). Objects of profiles an identity is not granted answer 404.",
        },
        "servers": [{"url": server_url}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An access token from the universal-auth login",
                }
            },
        },
        "security": [{"bearerAuth": []}],
    }


async def openapi_document(request: Request) -> Response:
    """The OpenAPI 3.1 document of this API (no authentication)."""
    settings = request.app.state.services.settings
    return JSONResponse(build_document(list(request.app.routes), settings.base_url))


def routes() -> list[BaseRoute]:
    return [
        ApiRoute(OPENAPI_PATH, openapi_document, ["GET"], PUBLIC),
        *explorer.routes(OPENAPI_PATH),
    ]
