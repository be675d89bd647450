"""The certificate inventory over REST, on both backends: listing (paging, sorting,
filters, metadata), details, metadata updates, requests, deletion, authentication and
refused input that changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes

from acme_server.rest.common import MAX_JSON_BYTES
from testkit.in_process_server import AcmeServer
from tests.rest.conftest import bearer_client
from tests.rest.test_certificates_support import (
    CERTS,
    REQUESTS,
    certificate_of,
    count_certificates,
    count_requests,
    issue,
    make_profile,
)

LATEST = "/api/v1/cert-manager/certificate-profiles/{}/certificates/latest"


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


def test_list_filters_sorts_and_pages(api: AcmeServer, http: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:8]
    profile = make_profile(api, {})
    made = [
        issue(http, commonName=f"{name}-{tag}.example.com", ttl=ttl, metadata={"run": tag, **m})
        for name, ttl, m in (
            ("charlie", "20d", {"team": "web", "env": "prod"}),
            ("alpha", "5d", {"team": "web", "env": "dev"}),
            ("bravo", "60d", {"team": "ops"}),
        )
    ]
    other = issue(http, profile=profile.slug, commonName=f"delta-{tag}.example.com")
    charlie, alpha, bravo = (m["certificate"]["certificateId"] for m in made)
    run = {"metadata[run]": tag}

    assert _ids(http, **run) == [bravo, alpha, charlie]  # newest first by default
    assert _ids(http, **run, sortBy="commonName", sortOrder="asc") == [alpha, bravo, charlie]
    assert _ids(http, **run, sortBy="notAfter", sortOrder="desc") == [bravo, charlie, alpha]
    assert _ids(http, **run, **{"metadata[team]": "web"}) == [alpha, charlie]
    assert _ids(http, **run, **{"metadata[team]": "web", "metadata[env]": "prod"}) == [charlie]
    assert _ids(http, **run, **{"metadata[team]": "nobody"}) == []
    assert _ids(http, **run, expiresWithinDays=30) == [alpha, charlie]
    assert _ids(http, search=f"ALPHA-{tag}") == [alpha]
    assert _ids(http, profileId=profile.slug) == [other["certificate"]["certificateId"]]
    assert _ids(http, profileId=profile.id) == [other["certificate"]["certificateId"]]
    assert _ids(http, profileId="no-such-profile") == []
    assert _ids(http, **run, status="revoked") == []
    assert set(_ids(http, **run, status="active")) == {alpha, bravo, charlie}

    page = http.get(CERTS, params={**run, "limit": 2, "offset": 1, "sortBy": "commonName"})
    assert page.status_code == 200
    assert page.json()["totalCount"] == 3
    assert [c["id"] for c in page.json()["certificates"]] == [bravo, alpha]  # desc

    ca_id = http.get(f"{CERTS}/{alpha}").json()["issuingCa"]["id"]
    assert alpha in _ids(http, caId=ca_id, **run)
    assert _ids(http, caId=str(uuid.uuid4())) == []


def test_details_show_what_a_details_page_needs(http: httpx.Client) -> None:
    body = issue(
        http,
        commonName="details.example.com",
        altNames=[{"type": "dns_name", "value": "details.example.com"}],
        organization="Acme Corp",
        country="NL",
        keyAlgorithm="RSA_2048",
        keyUsages=["digital_signature", "key_encipherment"],
        extendedKeyUsages=["server_auth", "client_auth"],
        metadata={"owner": "web-team"},
    )
    cert_id = body["certificate"]["certificateId"]
    cert = certificate_of(body)
    response = http.get(f"{CERTS}/{cert_id}")
    assert response.status_code == 200, response.text
    details = response.json()
    assert details["id"] == cert_id
    assert details["commonName"] == "details.example.com"
    assert details["friendlyName"] == "details.example.com"
    assert details["status"] == "active"
    assert details["serialNumber"] == body["certificate"]["serialNumber"]
    assert details["notBefore"].endswith("Z") and details["notAfter"].endswith("Z")
    assert details["issuingCa"]["name"] == "KMS Intermediate CA"
    assert details["profile"]["slug"] == "default"
    assert details["profile"]["id"] == details["profileId"]
    assert details["renewedFromId"] is None and details["renewedById"] is None
    assert details["subject"] == {
        "commonName": "details.example.com",
        "organization": "Acme Corp",
        "organizationalUnit": "",
        "country": "NL",
        "state": "",
        "locality": "",
    }
    assert details["altNames"] == [{"type": "dns_name", "value": "details.example.com"}]
    assert details["basicConstraints"] == {"isCA": False, "pathLength": None}
    assert details["keyUsages"] == ["digital_signature", "key_encipherment"]
    assert details["extendedKeyUsages"] == ["client_auth", "server_auth"]
    assert details["keyAlgorithm"] == "RSA_2048"
    assert details["signatureAlgorithm"] == "ECDSA-SHA256"  # the EC intermediate signs
    assert details["fingerprints"] == {
        "sha256": cert.fingerprint(hashes.SHA256()).hex(":").upper(),
        "sha1": cert.fingerprint(hashes.SHA1()).hex(":").upper(),  # noqa: S303
    }
    assert details["metadata"] == {"owner": "web-team"}
    assert details["revokedAt"] is None and details["revocationReason"] is None
    assert details["requestMethod"] == "api_managed"
    assert details["certificateRequestId"] == body["certificateRequestId"]
    assert details["hasPrivateKey"] is True
    assert "privateKey" not in details
    by_serial = http.get(f"{CERTS}/{details['serialNumber']}")
    assert by_serial.status_code == 200 and by_serial.json()["id"] == cert_id


def test_metadata_update_leaves_the_request_read_only(http: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:8]
    body = issue(http, commonName="meta.example.com", metadata={"run": tag, "stage": "one"})
    cert_id, request_id = body["certificate"]["certificateId"], body["certificateRequestId"]

    response = http.patch(f"{CERTS}/{cert_id}/metadata", json={"metadata": {"stage": "two"}})
    assert response.status_code == 200, response.text
    assert response.json() == {"certificateId": cert_id, "metadata": {"stage": "two"}}
    assert http.get(f"{CERTS}/{cert_id}").json()["metadata"] == {"stage": "two"}
    assert _ids(http, **{"metadata[run]": tag}) == []

    request = http.get(f"{REQUESTS}/{request_id}")
    assert request.status_code == 200
    stored = request.json()
    assert stored["metadata"] == {"run": tag, "stage": "one"}
    assert stored["certificateId"] == cert_id
    assert stored["status"] == "issued" and stored["method"] == "api_managed"
    assert stored["attributes"]["commonName"] == "meta.example.com"
    assert stored["attributes"]["keyAlgorithm"] == "EC_P256"
    assert stored["attributes"]["ttl"] == "90d"

    listed = http.get(REQUESTS, params={"metadata[run]": tag, "metadata[stage]": "one"})
    assert listed.status_code == 200
    assert [r["id"] for r in listed.json()["certificateRequests"]] == [request_id]
    assert listed.json()["totalCount"] == 1
    empty = http.get(REQUESTS, params={"metadata[run]": tag, "metadata[stage]": "two"})
    assert empty.json() == {"certificateRequests": [], "totalCount": 0}

    cleared = http.patch(f"{CERTS}/{cert_id}/metadata", json={"metadata": {}})
    assert cleared.json()["metadata"] == {}


def test_latest_active_bundle_of_a_profile(api: AcmeServer, http: httpx.Client) -> None:
    profile = make_profile(api, {})
    assert http.get(LATEST.format(profile.id)).status_code == 404
    issue(http, profile=profile.slug, commonName="first.example.com")
    second = issue(http, profile=profile.slug, commonName="second.example.com")
    revoked = issue(http, profile=profile.slug, commonName="third.example.com")
    revoke = http.post(
        f"{CERTS}/{revoked['certificate']['certificateId']}/revoke",
        json={"revocationReason": "SUPERSEDED"},
    )
    assert revoke.status_code == 200

    latest = http.get(LATEST.format(profile.slug))
    assert latest.status_code == 200, latest.text
    body = latest.json()
    assert body["certificateId"] == second["certificate"]["certificateId"]
    assert body["commonName"] == "second.example.com"
    assert body["privateKey"] == second["certificate"]["privateKey"]
    assert body["certificateChain"] == second["certificate"]["certificateChain"]
    pem = http.get(LATEST.format(profile.id), params={"format": "pem"})
    assert pem.headers["content-type"].startswith("application/x-pem-file")
    assert pem.text.count("BEGIN CERTIFICATE") == 3 and "BEGIN PRIVATE KEY" in pem.text
    assert http.get(LATEST.format("no-such-profile")).status_code == 404


def test_delete_removes_but_does_not_revoke(api: AcmeServer, http: httpx.Client) -> None:
    body = issue(http, commonName="delete-me.example.com")
    cert_id = body["certificate"]["certificateId"]
    response = http.delete(f"{CERTS}/{cert_id}")
    assert response.status_code == 200, response.text
    assert response.json()["message"] == "Successfully deleted certificate"
    assert http.get(f"{CERTS}/{cert_id}").status_code == 404
    assert http.delete(f"{CERTS}/{cert_id}").status_code == 404
    request = http.get(f"{REQUESTS}/{body['certificateRequestId']}").json()
    assert request["certificateId"] is None  # the request stays, unlinked

    revoked = issue(http, commonName="keep-for-crl.example.com")["certificate"]["certificateId"]
    assert http.post(f"{CERTS}/{revoked}/revoke", json={}).status_code == 200
    refused = http.delete(f"{CERTS}/{revoked}")
    assert refused.status_code == 409
    assert "CRL" in refused.json()["message"]
    assert http.get(f"{CERTS}/{revoked}").status_code == 200


def test_every_route_needs_a_token(api: AcmeServer, http: httpx.Client) -> None:
    cert_id = issue(http, commonName="auth.example.com")["certificate"]["certificateId"]
    before = count_certificates(api)
    routes: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", CERTS, {"profileId": "default", "attributes": {"commonName": "x.example"}}),
        ("GET", CERTS, None),
        ("GET", f"{CERTS}/{cert_id}", None),
        ("DELETE", f"{CERTS}/{cert_id}", None),
        ("PATCH", f"{CERTS}/{cert_id}/metadata", {"metadata": {}}),
        ("POST", f"{CERTS}/{cert_id}/renew", None),
        ("POST", f"{CERTS}/{cert_id}/revoke", {}),
        ("GET", f"{CERTS}/{cert_id}/bundle", None),
        ("POST", f"{CERTS}/{cert_id}/export", {"password": "pw"}),
        ("GET", LATEST.format("default"), None),
        ("GET", REQUESTS, None),
        ("GET", f"{REQUESTS}/{uuid.uuid4()}", None),
        ("GET", f"/api/v1/cert-manager/ca/internal/{uuid.uuid4()}/crls", None),
    ]
    with httpx.Client(base_url=api.base_url, timeout=30) as anonymous:
        for method, path, body in routes:
            for headers in ({}, {"Authorization": "Bearer not-a-token"}):
                response = anonymous.request(method, path, json=body, headers=headers)
                assert response.status_code == 401, (method, path, response.text)
                assert response.json()["statusCode"] == 401
    assert count_certificates(api) == before
    assert http.get(f"{CERTS}/{cert_id}").json()["status"] == "active"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 400, "must be a JSON object"),
        (b'{"attributes": {"commonName": "a.example"}}', 400, "profileId is required"),
        (b'{"profileId": 7, "attributes": {"commonName": "a.example"}}', 400, "profileId"),
        (b'{"profileId": "default"}', 400, "either csr"),
        (b'{"profileId": "default", "attributes": "cn"}', 400, "attributes must be an object"),
        (b'{"profileId": "default", "attributes": {"commonName": 5}}', 400, "commonName"),
        (b'{"profileId": "default", "attributes": {"commonName": "a.example", "keyUsages": "x"}}',
         400, "keyUsages"),
        (b'{"profileId": "default", "attributes": {"altNames": [{"type": "dns"}]}}', 400,
         "altNames[0]"),
        (b'{"profileId": "default", "attributes": {"altNames": [{"type": "x500", "value": "a"}]}}',
         400, "altNames[0].type"),
        (b'{"profileId": "default", "attributes": {"commonName": "a.example", "ttl": "1 year"}}',
         400, "invalid TTL"),
        (b'{"profileId": "default", "attributes": {"commonName": "a.example", '
         b'"keyAlgorithm": "DSA_1024"}}', 400, "unknown key algorithm"),
        (b'{"profileId": "default", "attributes": {"commonName": "a.example", '
         b'"keyUsages": ["signing"]}}', 400, "unknown key usage"),
        (b'{"profileId": "default", "attributes": {"commonName": "a.example", "country": "USA"}}',
         400, "country"),
        (b'{"profileId": "default", "attributes": {"altNames": "not a name!"}}', 400,
         "invalid DNS name"),
        (b'{"profileId": "default", "attributes": {"organization": "Acme"}}', 400,
         "needs a common name or at least one subject alternative name"),
        (b'{"profileId": "default", "attributes": {"commonName": "a.example", '
         b'"keyUsages": ["key_cert_sign"]}}', 400, "only for CA certificates"),
        (b'{"profileId": "default", "attributes": {"commonName": "a.example", '
         b'"signatureAlgorithm": "DSA-SHA1"}}', 400, "unknown signature algorithm"),
        (b'{"profileId": "default", "attributes": {"commonName": "a.example"}, "metadata": [1]}',
         400, "metadata must be an object"),
        (b'{"profileId": "default", "attributes": {"commonName": "a.example"}, '
         b'"metadata": {"k": 1}}', 400, "metadata.k must be a string"),
        (b'{"profileId": "no-such-profile", "attributes": {"commonName": "a.example"}}', 404,
         "no certificate profile"),
    ],
)  # fmt: skip
def test_refused_issuance_changes_nothing(
    api: AcmeServer, http: httpx.Client, body: bytes, status: int, message: str
) -> None:
    before = (count_certificates(api), count_requests(api))
    response = http.post(CERTS, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == status, response.text
    assert response.json()["statusCode"] == status
    assert message in response.json()["message"]
    assert (count_certificates(api), count_requests(api)) == before


def test_oversize_and_wrong_content_type_change_nothing(
    api: AcmeServer, http: httpx.Client
) -> None:
    before = (count_certificates(api), count_requests(api))
    huge = {"profileId": "default", "attributes": {"commonName": "a." + "x" * MAX_JSON_BYTES}}
    response = http.post(CERTS, json=huge)
    assert response.status_code == 413
    assert response.json()["error"] == "PayloadTooLarge"
    plain = http.post(CERTS, content=b"{}", headers={"Content-Type": "text/plain"})
    assert plain.status_code == 415
    assert (count_certificates(api), count_requests(api)) == before


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        ("GET", CERTS, {"limit": "0"}),
        ("GET", CERTS, {"limit": "1000"}),
        ("GET", CERTS, {"offset": "-1"}),
        ("GET", CERTS, {"sortBy": "serial"}),
        ("GET", CERTS, {"sortOrder": "up"}),
        ("GET", CERTS, {"status": "valid"}),
        ("GET", CERTS, {"expiresWithinDays": "soon"}),
        ("GET", REQUESTS, {"status": "done"}),
        ("GET", REQUESTS, {"limit": "x"}),
    ],
)
def test_bad_query_parameters_are_400(
    http: httpx.Client, method: str, path: str, params: dict[str, str]
) -> None:
    response = http.request(method, path, params=params)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "BadRequest"


def test_unknown_ids_are_404_and_bad_bodies_400(api: AcmeServer, http: httpx.Client) -> None:
    missing = str(uuid.uuid4())
    requests: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", f"{CERTS}/{missing}", None),
        ("GET", f"{CERTS}/not-a-serial", None),
        ("DELETE", f"{CERTS}/{missing}", None),
        ("PATCH", f"{CERTS}/{missing}/metadata", {"metadata": {}}),
        ("POST", f"{CERTS}/{missing}/renew", None),
        ("POST", f"{CERTS}/{missing}/revoke", {"revocationReason": "UNSPECIFIED"}),
        ("GET", f"{CERTS}/{missing}/bundle", None),
        ("POST", f"{CERTS}/{missing}/export", {"password": "pw"}),
        ("GET", f"{REQUESTS}/{missing}", None),
        ("GET", f"/api/v1/cert-manager/ca/internal/{missing}/crls", None),
    ]
    for method, path, body in requests:
        response = http.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"] == "NotFound"
    # A NUL in an id: no such row on SQLite (404); PostgreSQL cannot even compare it (400).
    # Never a 500.
    for path in (f"{CERTS}/a%00b", f"{REQUESTS}/%00"):
        response = http.get(path)
        assert response.status_code in (400, 404), (path, response.text)
        assert response.json()["error"] in ("BadRequest", "NotFound")

    cert_id = issue(http, commonName="bodies.example.com")["certificate"]["certificateId"]
    bodies: list[tuple[dict[str, Any], str]] = [
        ({}, "metadata is required"),
        ({"metadata": {"k": ["v"]}}, "metadata.k"),
        ({"metadata": {"": "v"}}, "metadata keys"),
    ]
    for patch, message in bodies:
        response = http.patch(f"{CERTS}/{cert_id}/metadata", json=patch)
        assert response.status_code == 400, response.text
        assert message in response.json()["message"]
    revoke = http.post(f"{CERTS}/{cert_id}/revoke", json={"revocationReason": "BORED"})
    assert revoke.status_code == 400
    assert "revocationReason must be one of" in revoke.json()["message"]
    details = http.get(f"{CERTS}/{cert_id}").json()
    assert details["status"] == "active" and details["metadata"] == {}
