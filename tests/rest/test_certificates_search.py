"""GET /api/v1/cert-manager/certificates: `search` matches the subject alternative names
as well as the common and friendly names, and `requestMethod` filters by how a
certificate was enrolled; on both backends, and both in the OpenAPI document."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from testkit.in_process_server import AcmeServer
from tests.rest.conftest import bearer_client
from tests.rest.test_certificates_support import CERTS, issue, openssl_csr


@pytest.fixture(scope="module")
def http(api: AcmeServer) -> Iterator[httpx.Client]:
    with bearer_client(api, role="admin") as client:
        yield client


def _ids(http: httpx.Client, **params: Any) -> list[str]:
    response = http.get(CERTS, params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["totalCount"] == len(body["certificates"])
    return [c["id"] for c in body["certificates"]]


def test_search_matches_sans_and_request_method_filters(http: httpx.Client, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    managed = issue(
        http,
        commonName=f"front-{tag}.example.com",
        altNames=[
            {"type": "dns_name", "value": f"front-{tag}.example.com"},
            {"type": "dns_name", "value": f"Backend-{tag}.Internal.test"},
            {"type": "email", "value": f"ops-{tag}@example.com"},
        ],
        metadata={"run": tag},
    )["certificate"]["certificateId"]
    csr_pem = openssl_csr(
        tmp_path, key="ec", subject=f"/CN=csr-{tag}.example.com",
        sans=f"DNS:csr-{tag}.example.com,DNS:only-san-{tag}.example.com",
    )  # fmt: skip
    answer = http.post(
        CERTS, json={"profileId": "default", "csr": csr_pem, "metadata": {"run": tag}}
    )
    assert answer.status_code == 200, answer.text
    from_csr = answer.json()["certificate"]["certificateId"]
    run = {"metadata[run]": tag}

    assert _ids(http, search=f"backend-{tag}.internal") == [managed]  # a SAN, any case
    assert _ids(http, search=f"OPS-{tag}@") == [managed]  # an email SAN
    assert _ids(http, search=f"only-san-{tag}") == [from_csr]
    assert _ids(http, search=f"front-{tag}") == [managed]  # the common name still
    assert _ids(http, search=f"%-{tag}") == []  # LIKE wildcards are literal
    assert _ids(http, **run, requestMethod="api_managed") == [managed]
    assert _ids(http, **run, requestMethod="api_csr") == [from_csr]
    assert _ids(http, **run, requestMethod="acme") == []
    assert _ids(http, **run, requestMethod="api_csr", search=f"only-san-{tag}") == [from_csr]
    refused = http.get(CERTS, params={"requestMethod": "fax"})
    assert refused.status_code == 400 and "requestMethod" in refused.text


def test_the_openapi_document_declares_both(http: httpx.Client) -> None:
    spec = http.get("/api/openapi.json")
    assert spec.status_code == 200, spec.text
    params = {p["name"]: p for p in spec.json()["paths"][CERTS]["get"]["parameters"]}
    assert params["requestMethod"]["schema"]["enum"] == ["acme", "api_managed", "api_csr", "system"]
    assert "alternative name" in params["search"]["description"]
