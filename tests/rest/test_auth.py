"""Universal-auth login, Bearer checks and token revocation, over real HTTP."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from acme_server.rest.common import MAX_JSON_BYTES
from acme_server.services.context import Services
from acme_server.services.identities import tokens as identities
from store.columns import utc_now
from testkit.in_process_server import AcmeServer, acme_server
from tests.rest.conftest import LOGIN_PATH, bearer_client, create_identity, login, with_services

AUDIT_PATH = "/api/v1/cert-manager/certificates"  # any route a Bearer token opens
REVOKE_PATH = "/api/v1/auth/token/revoke"
BAD_CREDENTIALS = {
    "statusCode": 401,
    "error": "Unauthorized",
    "message": "invalid client credentials",
}
MISSING = {"statusCode": 401, "error": "Unauthorized", "message": "missing Bearer token"}
INVALID = {"statusCode": 401, "error": "Unauthorized", "message": "invalid or expired access token"}


@pytest.fixture
def http(api: AcmeServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.base_url, timeout=30) as client:
        yield client


def get_audit(http: httpx.Client, token: str | None) -> httpx.Response:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return http.get(AUDIT_PATH, headers=headers)


def test_login_returns_a_bearer_token(api: AcmeServer, http: httpx.Client) -> None:
    record, secret = create_identity(api)

    response = http.post(LOGIN_PATH, json={"clientId": record.client_id, "clientSecret": secret})

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"accessToken", "expiresIn", "accessTokenMaxTTL", "tokenType"}
    assert body["tokenType"] == "Bearer"
    assert body["expiresIn"] == 3600 == body["accessTokenMaxTTL"]
    assert body["accessToken"].startswith("kms_")
    assert response.headers["cache-control"] == "no-store"
    assert get_audit(http, body["accessToken"]).status_code == 200


def test_each_login_gets_a_new_token(api: AcmeServer) -> None:
    record, secret = create_identity(api)
    assert login(api, record.client_id, secret) != login(api, record.client_id, secret)


def test_wrong_secret_and_unknown_client_get_the_same_401(
    api: AcmeServer, http: httpx.Client
) -> None:
    record, secret = create_identity(api)
    attempts = [
        {"clientId": record.client_id, "clientSecret": secret + "x"},
        {"clientId": record.client_id, "clientSecret": ""},
        {"clientId": str(uuid.uuid4()), "clientSecret": secret},
        {"clientId": "", "clientSecret": secret},
        {"clientId": "x" * 10_000, "clientSecret": secret},
        {"clientId": record.client_id, "clientSecret": secret + "x" * 10_000},
    ]
    for body in attempts:
        response = http.post(LOGIN_PATH, json=body)
        assert response.status_code == 401, body
        assert response.json() == BAD_CREDENTIALS


def test_unknown_client_still_pays_for_a_hash(
    api: AcmeServer, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No timing oracle: the unknown-client path runs scrypt as a known client does."""
    calls: list[str] = []
    real = identities.verify_secret_sync

    def counting(secret: str, stored: str) -> bool:
        calls.append(stored.split("$")[0])
        return real(secret, stored)

    monkeypatch.setattr(identities, "verify_secret_sync", counting)
    http.post(LOGIN_PATH, json={"clientId": str(uuid.uuid4()), "clientSecret": "guess"})
    assert calls == ["scrypt"]


def test_disabled_identity_cannot_log_in_and_its_tokens_stop_working(
    api: AcmeServer, http: httpx.Client
) -> None:
    record, secret = create_identity(api)
    token = login(api, record.client_id, secret)
    assert get_audit(http, token).status_code == 200

    assert with_services(api, lambda s: identities.disable_identity(s, record.client_id))

    response = http.post(LOGIN_PATH, json={"clientId": record.client_id, "clientSecret": secret})
    assert response.status_code == 401
    assert response.json() == BAD_CREDENTIALS
    response = get_audit(http, token)
    assert response.status_code == 401
    assert response.json() == INVALID


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Basic dXNlcjpwYXNz", "Token kms_abc", "Bearer a b"],
)
def test_missing_or_malformed_authorization_is_401(http: httpx.Client, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = http.get(AUDIT_PATH, headers=headers)
    assert response.status_code == 401
    assert response.json() == MISSING


@pytest.mark.parametrize(
    "token", ["garbage", "kms_" + "A" * 43, "kms_", "kms_" + "x" * 1000, "ключ"]
)
def test_unknown_tokens_are_401(http: httpx.Client, token: str) -> None:
    response = http.get(AUDIT_PATH, headers={b"Authorization": f"Bearer {token}".encode()})
    assert response.status_code == 401
    assert response.json() in (INVALID, MISSING)


def test_bearer_scheme_is_case_insensitive(api: AcmeServer, http: httpx.Client) -> None:
    record, secret = create_identity(api)
    token = login(api, record.client_id, secret)
    response = http.get(AUDIT_PATH, headers={"Authorization": f"bearer {token}"})
    assert response.status_code == 200


def test_expired_token_is_401(api: AcmeServer, http: httpx.Client) -> None:
    record, _ = create_identity(api)
    token = "kms_expired-" + uuid.uuid4().hex

    async def plant(services: Services) -> None:
        await services.store.create_access_token(
            identity_id=record.id,
            token_hash=identities.token_hash(token),
            expires_at=utc_now() - timedelta(seconds=1),
        )

    with_services(api, plant)
    response = get_audit(http, token)
    assert response.status_code == 401
    assert response.json() == INVALID


def test_token_expires_after_the_configured_ttl(tmp_path: Path) -> None:
    with acme_server(tmp_path / "data", access_token_ttl="1s") as short:
        record, secret = create_identity(short)
        with httpx.Client(base_url=short.base_url, timeout=30) as http:
            response = http.post(
                LOGIN_PATH, json={"clientId": record.client_id, "clientSecret": secret}
            )
            assert response.json()["expiresIn"] == 1
            token = response.json()["accessToken"]
            time.sleep(1.2)
            response = get_audit(http, token)
            assert response.status_code == 401
            assert response.json() == INVALID


def test_revoked_token_is_401(api: AcmeServer, http: httpx.Client) -> None:
    record, secret = create_identity(api)
    token = login(api, record.client_id, secret)
    other = login(api, record.client_id, secret)

    response = http.post(REVOKE_PATH, json={"accessToken": token})

    assert response.status_code == 200
    assert response.json() == {"message": "Successfully revoked access token"}
    assert get_audit(http, token).json() == INVALID
    assert get_audit(http, other).status_code == 200  # only the one token
    # revoking again, or a token that never existed, answers the same
    assert http.post(REVOKE_PATH, json={"accessToken": token}).status_code == 200
    assert http.post(REVOKE_PATH, json={"accessToken": "nonsense"}).status_code == 200


def test_bearer_client_helper_is_logged_in(api: AcmeServer) -> None:
    with bearer_client(api) as client:
        assert client.get(AUDIT_PATH).status_code == 200


@pytest.mark.parametrize(
    ("path", "content", "content_type", "status", "message"),
    [
        (LOGIN_PATH, b"{", "application/json", 400, "the request body is not valid JSON"),
        (LOGIN_PATH, b"\xff\xfe", "application/json", 400, "the request body is not valid JSON"),
        (LOGIN_PATH, b"[]", "application/json", 400, "the request body must be a JSON object"),
        (LOGIN_PATH, b"{}", "application/json", 400, "clientId is required"),
        (LOGIN_PATH, b'{"clientId": "a"}', "application/json", 400, "clientSecret is required"),
        (
            LOGIN_PATH,
            b'{"clientId": 5, "clientSecret": "s"}',
            "application/json",
            400,
            "clientId must be a string",
        ),
        (
            LOGIN_PATH,
            b'{"clientId": "a", "clientSecret": ["s"]}',
            "application/json",
            400,
            "clientSecret must be a string",
        ),
        (LOGIN_PATH, b"clientId=a", "application/x-www-form-urlencoded", 415, None),
        (LOGIN_PATH, b"{}", "", 415, None),
        (REVOKE_PATH, b"{}", "application/json", 400, "accessToken is required"),
        (REVOKE_PATH, b'{"accessToken": 1}', "application/json", 400, None),
        (REVOKE_PATH, b"null", "application/json", 400, None),
    ],
)
def test_bad_bodies_get_json_errors(
    http: httpx.Client,
    path: str,
    content: bytes,
    content_type: str,
    status: int,
    message: str | None,
) -> None:
    response = http.post(path, content=content, headers={"Content-Type": content_type})
    assert response.status_code == status, response.text
    body = response.json()
    assert body["statusCode"] == status
    if message is not None:
        assert body["message"] == message


@pytest.mark.parametrize("path", [LOGIN_PATH, REVOKE_PATH])
def test_oversized_bodies_are_413(http: httpx.Client, path: str) -> None:
    padding = "x" * (MAX_JSON_BYTES + 1)
    response = http.post(
        path,
        content=f'{{"clientId": "{padding}"}}'.encode(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["statusCode"] == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the streaming cap applies
        for _ in range(4):
            yield b" " * (MAX_JSON_BYTES // 2)

    response = http.post(path, content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413


def test_wrong_method_is_a_json_error(http: httpx.Client) -> None:
    response = http.get(LOGIN_PATH)
    assert response.status_code == 405
    assert response.json()["statusCode"] == 405


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _everything_in(record: logging.LogRecord) -> str:
    parts: list[Any] = [record.getMessage(), record.args, vars(record)]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    return " ".join(repr(p) for p in parts)


def test_secrets_and_tokens_never_reach_the_logs(api: AcmeServer, http: httpx.Client) -> None:
    capture = _Capture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    try:
        record, secret = create_identity(api)
        token = login(api, record.client_id, secret)
        http.post(LOGIN_PATH, json={"clientId": record.client_id, "clientSecret": secret + "!"})
        http.post(LOGIN_PATH, json={"clientId": str(uuid.uuid4()), "clientSecret": secret})
        assert get_audit(http, token).status_code == 200
        http.get(AUDIT_PATH, headers={"Authorization": f"Bearer {token}x"})
        http.post(REVOKE_PATH, json={"accessToken": token})
        assert get_audit(http, token).status_code == 401
    finally:
        root.removeHandler(capture)
        root.setLevel(old_level)

    assert capture.records, "expected the server to log something (at least access lines)"
    logged = "\n".join(_everything_in(r) for r in capture.records)
    assert secret not in logged
    assert token not in logged
    assert token.removeprefix("kms_") not in logged


def test_secret_hash_format_and_verification() -> None:
    stored = identities.hash_secret_sync("s3cret")
    scheme, n, r, p, salt, _digest = stored.split("$")
    assert (scheme, n, r, p) == ("scrypt", str(2**14), "8", "1")
    assert len(salt) == 22  # 16 bytes, base64url without padding
    assert identities.verify_secret_sync("s3cret", stored) is True
    assert identities.verify_secret_sync("s3cret!", stored) is False
    assert stored != identities.hash_secret_sync("s3cret")  # a fresh salt each time


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "plain",
        "bcrypt$1$2$3$c2FsdA$aGFzaA",
        "scrypt$x$8$1$c2FsdA$aGFzaA",
        "scrypt$16384$8$1$c2FsdA$!!",
        "scrypt$1000$8$1$c2FsdA$aGFzaGFzaGFzaGFzaGFzaA",  # n not a power of two
        "scrypt$2$8$16$c2FsdA$aGFzaGFzaGFzaGFzaGFzaA",
        f"scrypt${2**30}$8$1$c2FsdA$aGFzaGFzaGFzaGFzaGFzaA",
        "scrypt$16384$8$1$c2FsdA$aA",  # a digest too short to mean anything
    ],
)
def test_unusable_stored_hashes_never_match(stored: str) -> None:
    assert identities.verify_secret_sync("anything", stored) is False
