"""GET /api/openapi.json: a valid OpenAPI 3.1 document naming every /api/v1 route of the
app, with the main bodies' schemas; and every route it marks secured answers 401 without
a token."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate
from starlette.routing import Route

from acme_server.app import create_app
from acme_server.services.roles import ROLES
from testkit.in_process_server import AcmeServer

OPENAPI = "/api/openapi.json"
_PARAM = re.compile(r"\{([^}:]+)(?::[^}]+)?\}")


@pytest.fixture(scope="module")
def document(api: AcmeServer) -> dict[str, Any]:
    with httpx.Client(base_url=api.base_url, timeout=30) as anonymous:  # no token needed
        response = anonymous.get(OPENAPI)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    doc: dict[str, Any] = response.json()
    return doc


def app_operations(api: AcmeServer) -> set[tuple[str, str]]:
    """(method, OpenAPI path) of every /api/v1 route of a freshly built app."""
    found: set[tuple[str, str]] = set()
    for route in create_app(api.settings).routes:
        if isinstance(route, Route) and route.path.startswith("/api/v1/"):
            for method in route.methods or ():
                if method != "HEAD":
                    found.add((method.lower(), _PARAM.sub(r"{\1}", route.path)))
    return found


def test_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    validate(document)
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An access token from the universal-auth login",
    }
    assert document["security"] == [{"bearerAuth": []}]


def test_every_api_route_of_the_app_is_described(api: AcmeServer, document: dict[str, Any]) -> None:
    described = {(method, path) for path, item in document["paths"].items() for method in item}
    expected = app_operations(api)
    assert expected - described == set()
    assert described - expected == set()
    for must in (
        ("post", "/api/v1/auth/universal-auth/login"),
        ("post", "/api/v1/cert-manager/ca/internal"),
        ("patch", "/api/v1/cert-manager/certificate-policies/{policy_id}"),
        ("delete", "/api/v1/cert-manager/certificate-profiles/{profile_id}"),
        ("post", "/api/v1/cert-manager/certificate-profiles/{profile_id}/eab-credentials"),
    ):
        assert must in described


def test_operations_have_summaries_parameters_and_unique_ids(document: dict[str, Any]) -> None:
    ids = []
    for path, item in document["paths"].items():
        names = set(re.findall(r"\{([^}]+)\}", path))
        for operation in item.values():
            ids.append(operation["operationId"])
            assert operation["summary"]
            declared = operation.get("parameters", [])
            assert {p["name"] for p in declared if p["in"] == "path"} == names
            assert all(p["required"] for p in declared if p["in"] == "path")
            assert "401" in operation["responses"] or operation["security"] == []
    assert len(ids) == len(set(ids))
    create = document["paths"]["/api/v1/cert-manager/certificate-policies"]["post"]
    assert create["summary"] == "Create a certificate policy."  # the handler's docstring


def _schema_of(document: dict[str, Any], operation: dict[str, Any], where: str) -> str:
    if where == "request":
        content = operation["requestBody"]["content"]
    else:
        ok = next(v for k, v in operation["responses"].items() if k.startswith("2"))
        content = ok["content"]
    ref: str = content["application/json"]["schema"]["$ref"]
    name = ref.rsplit("/", 1)[1]
    assert name in document["components"]["schemas"]
    return name


def test_main_bodies_have_schemas(document: dict[str, Any]) -> None:
    paths = document["paths"]
    login = paths["/api/v1/auth/universal-auth/login"]["post"]
    assert login["security"] == []
    assert _schema_of(document, login, "request") == "LoginRequest"
    assert _schema_of(document, login, "response") == "LoginResponse"
    for path, method, request, response in (
        ("/api/v1/cert-manager/ca/internal", "post", "CACreateRequest", "CAResponse"),
        ("/api/v1/cert-manager/certificate-policies", "post", "PolicyCreateRequest", None),
        ("/api/v1/cert-manager/certificate-profiles", "post", "ProfileCreateRequest", None),
    ):
        operation = paths[path][method]
        assert _schema_of(document, operation, "request") == request
        if response:
            assert _schema_of(document, operation, "response") == response
    schemas = document["components"]["schemas"]
    for name in (
        "CertificateIssueRequest",
        "CertificateIssueResponse",
        "RevokeRequest",
        "RevokeResponse",
        "Policy",
        "Profile",
        "CA",
        "Error",
    ):
        assert name in schemas
    certificates = "/api/v1/cert-manager/certificates"
    issue = paths[certificates]["post"]
    assert _schema_of(document, issue, "request") == "CertificateIssueRequest"
    assert _schema_of(document, issue, "response") == "CertificateIssueResponse"
    revoke = paths[certificates + "/{certificate_id}/revoke"]["post"]
    assert _schema_of(document, revoke, "request") == "RevokeRequest"
    assert _schema_of(document, revoke, "response") == "RevokeResponse"


def test_every_secured_operation_answers_401_without_a_token(
    api: AcmeServer, document: dict[str, Any]
) -> None:
    with httpx.Client(base_url=api.base_url, timeout=30) as anonymous:
        for path, item in document["paths"].items():
            concrete = re.sub(r"\{[^}]+\}", "00000000-0000-4000-8000-000000000000", path)
            for method, operation in item.items():
                if operation.get("security") == []:
                    continue
                response = anonymous.request(method.upper(), concrete, json={})
                assert response.status_code == 401, (method, path, response.text)


def test_permissions_and_roles_are_described(document: dict[str, Any]) -> None:
    """Each protected operation names its permission (x-permission) and may answer 403;
    objects of profiles not granted answer 404 (acme_server/services/access.py)."""
    role = document["components"]["schemas"]["Identity"]["properties"]["role"]
    assert role["enum"] == list(ROLES)
    paths = document["paths"]
    bind = paths["/api/v1/identities/{identity_id}/certificates"]["post"]
    assert bind["x-permission"] == "identity.certificate.bind"
    assert "identity.certificate.bind" in bind["responses"]["403"]["description"]
    export = paths["/api/v1/cert-manager/certificates/{certificate_id}/export"]["post"]
    assert export["x-permission"] == "certificate.export"
    assert "may not reach" in export["responses"]["404"]["description"]
    login = paths["/api/v1/auth/universal-auth/login"]["post"]
    assert login["security"] == [] and "x-permission" not in login
    assert "403" not in login["responses"]
    assert "reader" in document["info"]["description"]
