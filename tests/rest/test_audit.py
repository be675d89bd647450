"""GET /api/v1/audit-logs, the audit service, and the `kms identity` commands that write it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from acme_server.cli.main import cli
from acme_server.services import audit
from acme_server.services.errors import InvalidRequestError
from acme_server.services.identities import tokens as identities
from testkit.in_process_server import AcmeServer
from tests.rest.conftest import LOGIN_PATH, bearer_client, create_identity, login, with_services

AUDIT_PATH = "/api/v1/audit-logs"


@pytest.fixture(scope="module")
def http(api: AcmeServer) -> Iterator[httpx.Client]:
    with bearer_client(api, role="admin") as client:  # audit.read
        yield client


def add(api: AcmeServer, **entry: Any) -> None:
    with_services(api, lambda s: audit.record(s, **entry))


def listing(http: httpx.Client, **params: Any) -> dict[str, Any]:
    response = http.get(AUDIT_PATH, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_entries_are_rendered_newest_first(api: AcmeServer, http: httpx.Client) -> None:
    target = str(uuid.uuid4())
    for action in ("thing.create", "thing.update", "thing.delete"):
        add(
            api,
            actor="cli",
            action=action,
            target_type="thing",
            target_id=target,
            details={"name": "x"},
        )

    body = listing(http, targetId=target)

    assert body["totalCount"] == 3
    actions = [e["action"] for e in body["auditLogs"]]
    assert actions == ["thing.delete", "thing.update", "thing.create"]
    entry = body["auditLogs"][0]
    assert set(entry) == {"id", "at", "actor", "action", "targetType", "targetId", "details"}
    assert entry["actor"] == "cli"
    assert entry["targetType"] == "thing"
    assert entry["targetId"] == target
    assert entry["details"] == {"name": "x"}
    assert entry["at"].endswith("Z")


def test_filters_and_paging(api: AcmeServer, http: httpx.Client) -> None:
    kind = f"kind-{uuid.uuid4().hex[:8]}"
    actor = f"identity:{uuid.uuid4()}"
    for n in range(5):
        add(
            api,
            actor=actor if n % 2 else "cli",
            action=f"act.{n}",
            target_type=kind,
            target_id=f"t{n % 2}",
        )

    assert listing(http, targetType=kind)["totalCount"] == 5
    assert listing(http, targetType=kind, targetId="t1")["totalCount"] == 2
    assert listing(http, targetType=kind, actor=actor)["totalCount"] == 2
    assert listing(http, targetType=kind, actor="cli", targetId="t0")["totalCount"] == 3
    assert listing(http, actor=f"identity:{uuid.uuid4()}") == {"auditLogs": [], "totalCount": 0}
    page = listing(http, targetType=kind, limit=2, offset=1)
    assert page["totalCount"] == 5
    assert [e["action"] for e in page["auditLogs"]] == ["act.3", "act.2"]
    assert listing(http, targetType=kind, limit=2, offset=5)["auditLogs"] == []


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "1001"},
        {"limit": "abc"},
        {"limit": "-1"},
        {"limit": "1.5"},
        {"limit": "\u00b2"},  # "2".isdigit() is True, int("2") raises
        {"limit": "\u0661\u0662"},  # Arabic-Indic 12
        {"offset": "-1"},
        {"offset": "x"},
        {"offset": "99999999999999999999"},
        {"targetId": "x" * 256},
        {"actor": "a" * 1000},
    ],
)
def test_bad_query_parameters_are_400(http: httpx.Client, params: dict[str, str]) -> None:
    response = http.get(AUDIT_PATH, params=params)
    assert response.status_code == 400
    body = response.json()
    assert body["statusCode"] == 400
    assert body["error"] == "BadRequest"


def test_audit_logs_need_a_token(api: AcmeServer) -> None:
    with httpx.Client(base_url=api.base_url, timeout=30) as anonymous:
        response = anonymous.get(AUDIT_PATH)
    assert response.status_code == 401
    assert response.json()["message"] == "missing Bearer token"


def test_identity_lifecycle_is_audited_without_secrets(api: AcmeServer, http: httpx.Client) -> None:
    record, secret = create_identity(api)
    token = login(api, record.client_id, secret)
    assert http.post("/api/v1/auth/token/revoke", json={"accessToken": token}).status_code == 200
    assert with_services(api, lambda s: identities.disable_identity(s, record.id))

    response = http.get(AUDIT_PATH, params={"targetType": "identity", "targetId": record.id})

    entries = response.json()["auditLogs"]
    assert [(e["action"], e["actor"]) for e in entries] == [
        ("identity.disable", "cli"),
        ("identity.token.revoke", f"identity:{record.id}"),
        ("identity.create", "test"),
    ]
    assert entries[2]["details"] == {
        "name": record.name,
        "clientId": record.client_id,
        "role": "issuer",
        "profileGrants": None,
    }
    assert secret not in response.text
    assert token not in response.text
    assert record.secret_hash not in response.text


def test_record_clips_long_fields_and_list_checks_paging(api: AcmeServer) -> None:
    target = "t" * 300
    add(api, actor="a" * 300, action="b" * 100, target_type="thing", target_id=target)
    found = with_services(
        api, lambda s: audit.list_entries(s, limit=1, offset=0, target_id=target[:255])
    )
    assert len(found[0].actor) == audit.ACTOR_MAX
    assert len(found[0].action) == audit.ACTION_MAX
    with pytest.raises(InvalidRequestError, match="limit"):
        with_services(api, lambda s: audit.list_entries(s, limit=0, offset=0))
    with pytest.raises(InvalidRequestError, match="offset"):
        with_services(api, lambda s: audit.list_entries(s, limit=1, offset=-1))


def _kms(api: AcmeServer, *args: str) -> Any:
    database = ["--database", api.settings.database_url] if api.settings.database_url else []
    result = CliRunner().invoke(
        cli, [*args, "--data-dir", str(api.settings.data_dir), *database], catch_exceptions=False
    )
    return result


def test_cli_identity_create_list_disable(api: AcmeServer, http: httpx.Client) -> None:
    name = f"cli-{uuid.uuid4().hex[:8]}"
    created = _kms(api, "identity", "create", "--name", name, "--role", "auditor", "--json")
    assert created.exit_code == 0, created.output
    made = json.loads(created.output)
    assert set(made) == {
        "id",
        "name",
        "clientId",
        "role",
        "allProfiles",
        "profiles",
        "disabled",
        "createdAt",
        "clientSecret",
    }
    assert (made["name"], made["role"]) == (name, "auditor")

    token = login(api, made["clientId"], made["clientSecret"])
    assert http.get(AUDIT_PATH, headers={"Authorization": f"Bearer {token}"}).status_code == 200

    listed = _kms(api, "identity", "list", "--json")
    assert listed.exit_code == 0, listed.output
    mine = [i for i in json.loads(listed.output) if i["id"] == made["id"]]
    assert mine == [
        {
            "id": made["id"],
            "name": name,
            "clientId": made["clientId"],
            "disabled": False,
            "role": "auditor",
            "allProfiles": False,
            "profiles": [],
            "createdAt": mine[0]["createdAt"],
        }
    ]
    assert made["clientSecret"] not in listed.output

    disabled = _kms(api, "identity", "disable", made["clientId"])
    assert disabled.exit_code == 0, disabled.output
    again = _kms(api, "identity", "disable", made["id"])
    assert again.exit_code == 2
    assert "already disabled" in again.output
    unknown = _kms(api, "identity", "disable", "no-such-identity")
    assert unknown.exit_code == 2
    assert "not found" in unknown.output

    with httpx.Client(base_url=api.base_url, timeout=30) as anonymous:
        refused = anonymous.post(
            LOGIN_PATH,
            json={"clientId": made["clientId"], "clientSecret": made["clientSecret"]},
        )
    assert refused.status_code == 401
    entries = listing(http, targetType="identity", targetId=made["id"])["auditLogs"]
    assert [(e["action"], e["actor"]) for e in entries] == [
        ("identity.disable", "cli"),
        ("identity.create", "cli"),
    ]


def test_cli_create_refuses_an_empty_name(api: AcmeServer) -> None:
    result = _kms(api, "identity", "create", "--name", "  ", "--all-profiles")
    assert result.exit_code == 2
    assert "name" in result.output


def test_cli_identity_roles(api: AcmeServer, http: httpx.Client) -> None:
    created = _kms(api, "identity", "create", "--name", "ops", "--role", "admin", "--json")
    assert created.exit_code == 0, created.output
    made = json.loads(created.output)
    assert made["role"] == "admin"

    narrowed = _kms(api, "identity", "set-role", made["clientId"], "reader")
    assert narrowed.exit_code == 0, narrowed.output
    assert "reader (every profile)" in narrowed.output
    again = _kms(api, "identity", "set-role", made["id"], "reader")
    assert again.exit_code == 2 and "already has the role reader" in again.output
    unknown_role = _kms(api, "identity", "set-role", made["id"], "root")
    assert unknown_role.exit_code == 2 and "root" in unknown_role.output
    # Narrowed to one profile: revoke every profile, then grant the one it keeps.
    partly = _kms(api, "identity", "revoke", made["id"], "--profile", "eab")
    assert partly.exit_code == 2 and "revoke every profile" in partly.output
    assert _kms(api, "identity", "revoke", made["id"], "--all-profiles").exit_code == 0
    granted = _kms(api, "identity", "grant", made["id"], "--profile", "eab")
    assert granted.exit_code == 0 and "reaches eab" in granted.output
    unknown_profile = _kms(api, "identity", "grant", made["id"], "--profile", "nope")
    assert unknown_profile.exit_code == 2 and "nope" in unknown_profile.output
    listed = json.loads(_kms(api, "identity", "list", "--json").output)
    shown = [(i["role"], i["allProfiles"], i["profiles"]) for i in listed if i["id"] == made["id"]]
    assert shown == [("reader", False, ["eab"])]

    eab = with_services(api, lambda s: s.store.get_profile_by_slug("eab"))
    entries = listing(http, targetType="identity", targetId=made["id"])["auditLogs"]
    assert [(e["action"], e["details"].get("to")) for e in entries] == [
        ("identity.access.update", {"role": "reader", "profileGrants": [eab.id]}),
        ("identity.access.update", {"role": "reader", "profileGrants": []}),
        ("identity.access.update", {"role": "reader", "profileGrants": None}),
        ("identity.create", None),
    ]
    assert entries[3]["details"]["role"] == "admin"


def test_cli_identity_create_needs_grants_for_an_issuer(api: AcmeServer) -> None:
    neither = _kms(api, "identity", "create", "--name", "web")
    assert neither.exit_code == 2
    assert "--profile SLUG (repeatable) or --all-profiles" in neither.output
    both = _kms(api, "identity", "create", "--name", "web", "--profile", "eab", "--all-profiles")
    assert both.exit_code == 2
    admin_with = _kms(
        api, "identity", "create", "--name", "a", "--role", "admin", "--profile", "eab"
    )
    assert admin_with.exit_code == 2 and "takes no --profile" in admin_with.output
    made = _kms(
        api,
        "identity",
        "create",
        "--name",
        "web",
        "--profile",
        "eab",
        "--profile",
        "default",
        "--json",
    )
    assert made.exit_code == 0, made.output
    shown = json.loads(made.output)
    assert (shown["role"], shown["allProfiles"], shown["profiles"]) == (
        "issuer",
        False,
        ["default", "eab"],
    )
