"""`kms policy` and `kms profile` with the real binary: JSON for scripts, one-line errors
with exit code 2, the same service layer (and so the same rules) as the REST API."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from acme_server.services.context import Services
from acme_server.settings import Settings
from testkit.kms_process import kms, kms_json


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli-admin") / "data"
    kms("init", "--data-dir", str(path))
    return path


def intermediate(data_dir: Path) -> str:
    cas = kms_json("ca", "list", "--data-dir", str(data_dir))
    return str(next(ca["id"] for ca in cas if ca["type"] == "intermediate"))


def test_policy_and_profile_round_trip_on_each_backend(
    tmp_path: Path, database_args: list[str]
) -> None:
    d = ["--data-dir", str(tmp_path / "data"), *database_args]
    kms("init", *d)
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"sans": {"dns_name": {"allowed": ["*.web.test"]}}}))
    policy = kms_json("policy", "create", "--name", "web", "--rules", str(rules), *d)
    assert policy["rules"]["sans"]["dns_name"]["allowed"] == ["*.web.test"]
    assert policy["rules"]["maxTtl"] is None  # normalised

    ca_id = next(ca["id"] for ca in kms_json("ca", "list", *d) if ca["type"] == "intermediate")
    profile = kms_json(
        "profile", "create", "--slug", "web", "--policy", "web", "--ca", ca_id,
        "--ttl", "30d", "--key-algorithm", "EC_P384", "--eab-required",
        "--auto-renew", "--renew-before-days", "10", *d,
    )  # fmt: skip
    assert profile["slug"] == "web" and profile["policyId"] == policy["id"]
    assert profile["caId"] == ca_id and profile["issuerType"] == "ca"
    assert profile["defaults"]["ttl"] == "30d" and profile["defaults"]["keyAlgorithm"] == "EC_P384"
    assert profile["enrollment"]["acme"] == {
        "enabled": True,
        "eabRequired": True,
        "allowIpIdentifiers": True,
        "challengeTypes": ["http-01", "dns-01", "tls-alpn-01"],
        "caaCheck": True,
    }
    assert profile["autoRenew"] is True and profile["renewBeforeDays"] == 10
    assert profile["acmeDirectoryUrl"].endswith("/acme/web/directory")

    assert kms_json("profile", "show", "web", *d) == profile
    assert "web" in [p["slug"] for p in kms_json("profile", "list", *d)]
    assert kms_json("policy", "show", policy["id"], *d) == policy
    assert [p["name"] for p in kms_json("policy", "list", *d)] == ["default", "web"]

    # the policy is in use: refused, one line, exit 2
    refused = kms("policy", "delete", "web", *d, check=False)
    assert refused.returncode == 2 and "used by profile(s) web" in refused.stderr

    assert kms_json("profile", "delete", "web", *d)["deleted"]["slug"] == "web"
    assert kms_json("policy", "delete", "web", *d)["deleted"]["id"] == policy["id"]
    assert [p["name"] for p in kms_json("policy", "list", *d)] == ["default"]


def test_policy_update_and_rules_json(data_dir: Path) -> None:
    d = ["--data-dir", str(data_dir)]
    kms_json("policy", "create", "--name", "short", "--rules-json", '{"maxTtl": "30d"}', *d)
    updated = kms_json(
        "policy", "update", "short", "--description", "thirty days", "--name", "short-lived",
        "--rules-json", '{"maxTtl": "7d", "keyAlgorithms": ["EC_P256"]}', *d,
    )  # fmt: skip
    assert updated["name"] == "short-lived" and updated["description"] == "thirty days"
    assert updated["rules"]["maxTtl"] == "7d"
    assert updated["rules"]["keyAlgorithms"] == ["EC_P256"]
    human = kms("policy", "show", "short-lived", *d).stdout
    assert "short-lived" in human and '"maxTtl": "7d"' in human


def test_profile_update_self_signed_and_default(data_dir: Path) -> None:
    d = ["--data-dir", str(data_dir)]
    kms_json("profile", "create", "--slug", "lab", "--policy", "default", "--self-signed", *d)
    off = kms_json("profile", "update", "lab", "--no-acme", "--ttl", "7d", "--default", *d)
    assert off["enrollment"]["acme"]["enabled"] is False and off["acmeDirectoryUrl"] is None
    assert off["defaults"]["ttl"] == "7d" and off["isDefault"] is True
    assert off["issuerType"] == "self_signed" and off["caId"] is None
    assert kms_json("profile", "show", "default", *d)["isDefault"] is False

    moved = kms_json(
        "profile", "update", "lab", "--ca", intermediate(data_dir), "--acme", "--not-default", *d
    )
    assert moved["issuerType"] == "ca" and moved["enrollment"]["acme"]["enabled"] is True
    assert moved["isDefault"] is False and moved["defaults"]["ttl"] == "7d"

    internal = kms_json(
        "profile", "update", "lab", "--challenge-type", "dns-01", "--no-caa-check", *d
    )
    assert internal["enrollment"]["acme"]["challengeTypes"] == ["dns-01"]
    assert internal["enrollment"]["acme"]["caaCheck"] is False
    kms("profile", "update", "default", "--default", *d)
    listing = kms("profile", "list", *d).stdout
    assert "lab" in listing and "default" in listing


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["policy", "create", "--name", "x"], "give the rules with --rules FILE"),
        (["policy", "create", "--name", "x", "--rules-json", "{"], "not valid JSON"),
        (
            ["policy", "create", "--name", "x", "--rules-json", '{"maxTtl": "soon"}'],
            "rules.maxTtl: invalid TTL",
        ),
        (
            ["policy", "create", "--name", "x", "--rules-json", "{}", "--rules", "f.json"],
            "not both",
        ),
        (["policy", "create", "--name", "x", "--rules", "/nonexistent.json"], "cannot read"),
        (["policy", "create", "--name", "default", "--rules-json", "{}"], "already exists"),
        (["policy", "show", "nope"], "no certificate policy with id or name 'nope'"),
        (["policy", "update", "default"], "nothing to change"),
        (["policy", "delete", "nope"], "no certificate policy"),
        (["profile", "create", "--slug", "a", "--ca", "x"], "give the policy with --policy"),
        (["profile", "create", "--slug", "a", "--policy", "default"], "exactly one of --ca"),
        (
            [
                "profile",
                "create",
                "--slug",
                "a",
                "--policy",
                "default",
                "--ca",
                "x",
                "--self-signed",
            ],
            "exactly one of --ca",
        ),
        (
            ["profile", "create", "--slug", "a", "--policy", "nope", "--self-signed"],
            "policyId: no certificate policy",
        ),
        (
            ["profile", "create", "--slug", "a", "--policy", "default", "--ca", "nope"],
            "caId: no certificate authority",
        ),
        (
            ["profile", "create", "--slug", "Bad Slug", "--policy", "default", "--self-signed"],
            "slug: profile slug must be",
        ),
        (
            [
                "profile",
                "create",
                "--slug",
                "a",
                "--policy",
                "default",
                "--self-signed",
                "--ttl",
                "soon",
            ],
            "defaults.ttl: invalid TTL",
        ),
        (
            [
                "profile",
                "create",
                "--slug",
                "a",
                "--policy",
                "default",
                "--self-signed",
                "--key-algorithm",
                "DSA",
            ],
            "Invalid value for '--key-algorithm'",
        ),
        (
            ["profile", "create", "--slug", "default", "--policy", "default", "--self-signed"],
            "already exists",
        ),
        (["profile", "show", "nope"], "no certificate profile with slug or id 'nope'"),
        (["profile", "update", "default"], "nothing to change"),
        (["profile", "update", "nope", "--no-acme"], "no certificate profile"),
        (["profile", "delete", "nope"], "no certificate profile"),
    ],
)
def test_wrong_input_is_one_line_and_exit_2(data_dir: Path, args: list[str], message: str) -> None:
    result = kms(*args, "--data-dir", str(data_dir), check=False)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") <= 3


def test_cli_writes_are_audited(data_dir: Path) -> None:
    d = ["--data-dir", str(data_dir)]
    policy = kms_json("policy", "create", "--name", "audited", "--rules-json", "{}", *d)
    kms_json("policy", "delete", "audited", *d)

    async def entries() -> list[tuple[str, str]]:
        services = await Services.open(Settings(data_dir=data_dir), migrate=False)
        try:
            rows = await services.store.list_audit(
                limit=10, offset=0, target_type="policy", target_id=policy["id"], actor=None
            )
            return sorted((row.action, row.actor) for row in rows)
        finally:
            await services.close()

    assert asyncio.run(entries()) == [("policy.create", "cli"), ("policy.delete", "cli")]
