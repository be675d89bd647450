"""Query parameters in GET /api/openapi.json: the list routes declare theirs (limit, offset,
sort, status, metadata[key] as a deepObject, the expiry window...) with schemas, from the
same declaration the handlers parse with (acme_server/rest/query.py); so every bound,
enum and length the document states is one the server enforces, with a 400 naming the
parameter."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from acme_server.services import audit
from acme_server.services.certificates import inventory
from pki_types.model import CertificateStatus
from testkit.in_process_server import AcmeServer
from tests.rest.conftest import bearer_client

OPENAPI = "/api/openapi.json"
CERTS = "/api/v1/cert-manager/certificates"
REQUESTS = "/api/v1/cert-manager/certificate-requests"
AUDIT = "/api/v1/audit-logs"
ANY_ID = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def document(api: AcmeServer) -> dict[str, Any]:
    with httpx.Client(base_url=api.base_url, timeout=30) as anonymous:
        response = anonymous.get(OPENAPI)
    assert response.status_code == 200, response.text
    doc: dict[str, Any] = response.json()
    return doc


@pytest.fixture(scope="module")
def http(api: AcmeServer) -> Iterator[httpx.Client]:
    with bearer_client(api, role="admin") as client:  # reaches every list route
        yield client


def query_parameters(document: dict[str, Any], path: str) -> dict[str, dict[str, Any]]:
    declared = document["paths"][path]["get"].get("parameters", [])
    return {p["name"]: p for p in declared if p["in"] == "query"}


def test_the_certificate_list_declares_its_query_parameters(document: dict[str, Any]) -> None:
    params = query_parameters(document, CERTS)
    assert set(params) == {
        "offset",
        "limit",
        "sortBy",
        "sortOrder",
        "status",
        "profileId",
        "caId",
        "search",
        "expiresWithinDays",
        "metadata",
        "requestMethod",
    }
    assert all(p["required"] is False and p["description"] for p in params.values())
    assert params["limit"]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": inventory.LIST_LIMIT_MAX,
        "default": 25,
    }
    assert params["offset"]["schema"]["type"] == "integer"
    assert "api_csr" in params["requestMethod"]["schema"]["enum"]
    assert params["offset"]["schema"]["minimum"] == 0
    assert params["status"]["schema"] == {
        "type": "string",
        "enum": [s.value for s in CertificateStatus],
    }
    assert params["sortBy"]["schema"]["enum"] == ["createdAt", "notAfter", "commonName"]
    assert params["sortOrder"]["schema"] == {
        "type": "string",
        "enum": ["desc", "asc"],
        "default": "desc",
    }
    assert params["expiresWithinDays"]["schema"]["type"] == "integer"
    metadata = params["metadata"]
    assert metadata["style"] == "deepObject"
    assert metadata["explode"] is True
    assert metadata["schema"] == {"type": "object", "additionalProperties": {"type": "string"}}
    assert "metadata[key]=value" in metadata["description"]


def test_the_other_list_routes_declare_theirs(document: dict[str, Any]) -> None:
    requests = query_parameters(document, REQUESTS)
    assert set(requests) == {"offset", "limit", "profileId", "status", "metadata"}
    assert requests["status"]["schema"]["enum"] == list(inventory.REQUEST_STATUSES)
    assert requests["metadata"]["style"] == "deepObject"
    logs = query_parameters(document, AUDIT)
    assert set(logs) == {"limit", "offset", "targetType", "targetId", "actor", "action"}
    assert logs["limit"]["schema"]["maximum"] == audit.LIST_LIMIT_MAX
    assert logs["actor"]["schema"]["maxLength"] == 255
    bundle = query_parameters(document, CERTS + "/{certificate_id}/bundle")
    assert bundle["format"]["schema"]["enum"] == ["json", "pem"]
    # an operation without a query declares only its path parameters
    one = document["paths"][CERTS + "/{certificate_id}"]["get"]["parameters"]
    assert [(p["name"], p["in"]) for p in one] == [("certificate_id", "path")]


def _bad_values(schema: dict[str, Any]) -> Iterator[str]:
    """Values the schema refuses (the ones a query string can carry)."""
    if schema.get("type") == "integer":
        yield "lots"
        if "minimum" in schema and schema["minimum"] > 0:
            yield str(schema["minimum"] - 1)
        if "maximum" in schema:
            yield str(schema["maximum"] + 1)
    if "enum" in schema:
        yield "not-one-of-them"
    if "maxLength" in schema:
        yield "x" * (schema["maxLength"] + 1)


def declared_constraints(document: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    for path, item in document["paths"].items():
        for parameter in item.get("get", {}).get("parameters", []):
            if parameter["in"] == "query":
                for bad in _bad_values(parameter["schema"]):
                    yield path, parameter["name"], bad


def test_every_declared_bound_is_enforced_with_a_400_naming_the_parameter(
    document: dict[str, Any], http: httpx.Client
) -> None:
    checked = list(declared_constraints(document))
    assert len(checked) >= 20  # the list routes' limits, offsets, enums, lengths...
    for path, name, bad in checked:
        concrete = re.sub(r"\{[^}]+\}", ANY_ID, path)
        response = http.get(concrete, params={name: bad})
        assert response.status_code == 400, (path, name, bad, response.text)
        body = response.json()
        assert body["error"] == "BadRequest"
        assert body["message"].startswith(f"{name} must be"), (path, name, body)


def test_declared_parameters_are_read(http: httpx.Client) -> None:
    """The happy side: values within the declared schemas are taken, empty ones ignored."""
    page = http.get(
        CERTS,
        params={
            "limit": "1",
            "offset": "0",
            "sortBy": "notAfter",
            "sortOrder": "asc",
            "status": "",
            "expiresWithinDays": "30",
            "metadata[team]": "nobody-has-this",
        },
    )
    assert page.status_code == 200, page.text
    assert page.json() == {"certificates": [], "totalCount": 0}
    twice = http.get(CERTS, params=[("metadata[team]", "a"), ("metadata[team]", "b")])
    assert twice.status_code == 400
    assert twice.json()["message"] == "metadata[team] is given twice with different values"
    unnamed = http.get(REQUESTS, params={"metadata[]": "x"})
    assert unnamed.status_code == 400
    assert unnamed.json()["message"] == "metadata filters are written metadata[key]=value"
    logs = http.get(AUDIT, params={"limit": "2", "actor": "nobody"})
    assert logs.status_code == 200, logs.text
    assert logs.json()["auditLogs"] == []
