"""Login input an attacker controls never produces a 500 (found in review)."""

from __future__ import annotations

import pytest

from testkit.in_process_server import AcmeServer
from tests.rest.conftest import LOGIN_PATH, create_identity


@pytest.mark.parametrize("field", ["clientSecret", "clientId"])
def test_lone_surrogates_in_credentials_are_refused_not_crashed(
    api: AcmeServer, field: str
) -> None:
    identity, secret = create_identity(api)
    body = {"clientId": identity.client_id, "clientSecret": secret}
    body[field] = "\ud800"  # valid JSON (a \\u escape), not encodable as UTF-8
    with api.http() as http:
        response = http.post(
            api.base_url + LOGIN_PATH,
            content=b'{"clientId": "%s", "clientSecret": "%s"}'
            % (
                (b"\\ud800" if field == "clientId" else identity.client_id.encode()),
                (b"\\ud800" if field == "clientSecret" else secret.encode()),
            ),
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code in (400, 401), response.text
        assert response.json()["statusCode"] == response.status_code
        ok = http.post(
            api.base_url + LOGIN_PATH, json={"clientId": identity.client_id, "clientSecret": secret}
        )
        assert ok.status_code == 200  # the server (and its keep-alive connection) is fine


def test_deeply_nested_json_is_a_400(api: AcmeServer) -> None:
    with api.http() as http:
        response = http.post(
            api.base_url + LOGIN_PATH,
            content=b"[" * 50_000,
            headers={"Content-Type": "application/json"},
        )
    assert response.status_code == 400
