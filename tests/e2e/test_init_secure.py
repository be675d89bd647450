"""Open and secure defaults (README "Open and secure defaults"): `kms init` and `kms serve`
say when the default profile is open; `kms init --secure --allowed-names ... --max-ttl ...`
starts a data directory whose default profile requires EAB, allows only those names and
bounds the lifetime. Real `kms` processes, real HTTPS on loopback, both storage backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from testkit.acme_client import AcmeClient, eab_binding
from testkit.kms_process import kms, kms_json, running_server

OPEN_LINE = "Default profile 'default': any name, no EAB, no max TTL; for trials"
PROBLEM = "urn:ietf:params:acme:error:"


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_an_open_default_profile_is_announced(tmp_path: Path, database_args: list[str]) -> None:
    data_dir = tmp_path / "data"
    init = kms("init", "--data-dir", str(data_dir), *database_args)
    assert OPEN_LINE in init.stdout
    assert kms_json("init", "--data-dir", str(data_dir), *database_args)["open"] == [
        "any name",
        "no EAB",
        "no max TTL",
    ]
    with running_server(data_dir, *database_args) as server:
        assert OPEN_LINE in server.log()


def test_a_secure_init_requires_eab_and_the_allowed_names(
    tmp_path: Path, database_args: list[str]
) -> None:
    data_dir = tmp_path / "data"
    where = ["--data-dir", str(data_dir), *database_args]
    created = kms_json(
        "init", "--secure", "--allowed-names", "*.corp.test", "--max-ttl", "30d", *where
    )
    assert created["open"] == []
    rules = kms_json("policy", "show", "default", *where)["rules"]
    assert rules["sans"]["dns_name"]["allowed"] == ["*.corp.test"]
    assert rules["allowedSanTypes"] == ["dns_name"]
    assert rules["maxTtl"] == "30d"
    profile = kms_json("profile", "show", "default", *where)
    assert profile["enrollment"]["acme"]["eabRequired"] is True
    assert profile["defaults"]["ttl"] == "30d"  # 90d would exceed the policy's maxTtl
    again = kms("init", "--secure", "--allowed-names", "*.corp.test", *where)
    assert "Already initialised" in again.stdout  # a secure directory: nothing to refuse

    with running_server(data_dir, *database_args) as server:
        assert "Default profile" not in server.log()
        credential = kms_json("eab", "create", *where)
        with server.client() as http:
            directory = f"{server.base_url}/acme/directory"
            anonymous = AcmeClient(http, directory, ec.generate_private_key(ec.SECP256R1()))
            assert anonymous.directory["meta"]["externalAccountRequired"] is True
            refused = anonymous.new_account()
            assert refused.status_code == 403, refused.text
            assert refused.json()["type"] == PROBLEM + "externalAccountRequired"

            client = AcmeClient(http, directory, ec.generate_private_key(ec.SECP256R1()))
            binding = eab_binding(
                credential["kid"], credential["hmacKey"], client.key, client.directory["newAccount"]
            )
            assert client.new_account(externalAccountBinding=binding).status_code == 201

            outside = client.new_order("www.other.test")
            assert outside.status_code == 400, outside.text
            assert outside.json()["type"] == PROBLEM + "rejectedIdentifier"
            too_deep = client.new_order("a.b.corp.test")  # * is one label
            assert too_deep.json()["type"] == PROBLEM + "rejectedIdentifier", too_deep.text
            now = datetime.now(UTC)
            too_long = client.new_order("www.corp.test", notAfter=_stamp(now + timedelta(days=60)))
            assert too_long.status_code == 400, too_long.text
            assert "maximum allowed by the policy" in too_long.json()["detail"]
            inside = client.new_order("www.corp.test", notAfter=_stamp(now + timedelta(days=20)))
            assert inside.status_code == 201, inside.text


def test_secure_init_errors_are_one_line_exit_2(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    where = ["--data-dir", str(data_dir)]
    for args, message in (
        (["--secure"], "--secure needs at least one --allowed-names"),
        (["--allowed-names", "*.corp.test"], "--allowed-names and --max-ttl go with --secure"),
        (["--secure", "--allowed-names", "web*.corp.test"], "--allowed-names[0]: 'web*.corp.test'"),
        (["--secure", "--allowed-names", "*.corp.test", "--max-ttl", "soon"], "--max-ttl: invalid"),
    ):
        result = kms("init", *args, *where, check=False)
        assert result.returncode == 2, result
        assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert not (data_dir / "kms.db").exists()  # refused before anything was made
    kms("init", *where)
    result = kms("init", "--secure", "--allowed-names", "*.corp.test", *where, check=False)
    assert result.returncode == 2
    assert "initialised already, with an open default profile" in result.stderr
