"""`kms user` with the real binary: passwords from stdin hashed with argon2id, the roles
and grants of machine identities, one-line errors with exit code 2, and what a reset or
a disable does to the user's sessions."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import pytest

from acme_server.services.context import Services
from acme_server.services.users import sessions
from acme_server.settings import Settings
from testkit.kms_process import KMS, kms, kms_json

PASSWORD = "correct horse battery staple"


def kms_stdin(*args: str, password: str = PASSWORD) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [KMS, *args, "--password-stdin"],
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli-users") / "data"
    kms("init", "--data-dir", str(path))
    return path


def _sign_in(data_dir: Path, name: str, password: str) -> str | None:
    """A session token from the service the console's sign-in calls, or None if refused."""

    async def attempt() -> str | None:
        settings = Settings(data_dir=data_dir)
        services = await Services.open(settings, migrate=False)
        try:
            token, _, _ = await sessions.sign_in(services, name, password, address="cli-test")
            return token
        except sessions.SignInRefused:
            return None
        finally:
            await services.close()

    return asyncio.run(attempt())


def _live(data_dir: Path, token: str) -> bool:
    async def check() -> bool:
        services = await Services.open(Settings(data_dir=data_dir), migrate=False)
        try:
            return await sessions.session_of(services, token) is not None
        finally:
            await services.close()

    return asyncio.run(check())


def test_create_list_and_sign_in(data_dir: Path) -> None:
    d = ["--data-dir", str(data_dir)]
    made = kms_stdin("user", "create", "--name", "alice", "--role", "admin", *d)
    assert made.returncode == 0, made.stderr
    assert "Sign in at" in made.stdout and "/ui/login" in made.stdout
    assert PASSWORD not in made.stdout + made.stderr
    listed = kms_json("user", "list", *d)
    alice = next(u for u in listed if u["name"] == "alice")
    assert alice["role"] == "admin" and alice["disabled"] is False
    assert "passwordHash" not in alice and PASSWORD not in json.dumps(listed)
    raw = (data_dir / "kms.db").read_bytes()
    assert PASSWORD.encode() not in raw and b"$argon2id$" in raw
    assert _sign_in(data_dir, "alice", PASSWORD) is not None
    assert _sign_in(data_dir, "alice", "a wrong password") is None


def test_reset_password_ends_the_sessions_and_asks_for_a_change(data_dir: Path) -> None:
    d = ["--data-dir", str(data_dir)]
    assert kms_stdin("user", "create", "--name", "bob", "--role", "auditor", *d).returncode == 0
    token = _sign_in(data_dir, "bob", PASSWORD)
    assert token is not None and _live(data_dir, token)
    new = "another long passphrase"
    reset = kms_stdin("user", "reset-password", "bob", *d, password=new)
    assert reset.returncode == 0, reset.stderr
    assert not _live(data_dir, token)
    assert _sign_in(data_dir, "bob", PASSWORD) is None
    assert _sign_in(data_dir, "bob", new) is not None
    bob = next(u for u in kms_json("user", "list", *d) if u["name"] == "bob")
    assert bob["mustChangePassword"] is True


def test_grant_disable_and_enable(data_dir: Path) -> None:
    d = ["--data-dir", str(data_dir)]
    made = kms_stdin(
        "user", "create", "--name", "carol", "--role", "reader", "--profile", "default", *d
    )
    assert made.returncode == 0, made.stderr
    kms("user", "grant", "carol", "issuer", "--all-profiles", *d)
    carol = next(u for u in kms_json("user", "list", *d) if u["name"] == "carol")
    assert carol["role"] == "issuer" and carol["profileGrants"] is None
    token = _sign_in(data_dir, "carol", PASSWORD)
    assert token is not None
    kms("user", "disable", "carol", *d)
    assert not _live(data_dir, token)
    assert _sign_in(data_dir, "carol", PASSWORD) is None
    kms("user", "enable", "carol", *d)
    assert _sign_in(data_dir, "carol", PASSWORD) is not None


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["--name", "dave", "--role", "admin"], "short", "12-1024 characters"),
        (["--name", "erin", "--role", "reader"], PASSWORD, "--profile"),
        (["--name", "frank", "--role", "reader", "--profile", "nope"], PASSWORD, "nope"),
        (["--name", "gina", "--role", "admin", "--all-profiles"], PASSWORD, "takes no --profile"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(
    data_dir: Path, args: list[str], password: str, message: str
) -> None:
    result = kms_stdin("user", "create", *args, "--data-dir", str(data_dir), password=password)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert password not in result.stderr


def test_a_taken_name_and_an_unknown_user_are_exit_code_2(data_dir: Path) -> None:
    d = ["--data-dir", str(data_dir)]
    kms_stdin("user", "create", "--name", "hank", "--role", "auditor", *d)
    again = kms_stdin("user", "create", "--name", "hank", "--role", "auditor", *d)
    assert again.returncode == 2 and "exists" in again.stderr
    missing = kms("user", "disable", "nobody", *d, check=False)
    assert missing.returncode == 2 and "not found" in missing.stderr
