"""`kms cert-manager agent status` reads this host's disk alone: it works with none of the
credentials the agent needs to talk to the server (client secret, client certificate files,
PKCS#12 password, EAB HMAC key) at hand, while the agent itself still refuses to run without
them. The real `kms` command, in its own process."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

from agent.config_file import parse_config
from agent.files import CertificateFiles
from testkit.kms_process import KMS
from tests.agent.test_files import material

SECRET_VARIABLES = {
    "STATUS_TEST_CLIENT_SECRET": "client-secret",
    "STATUS_TEST_P12_PASSWORD": "p12-password",
    "STATUS_TEST_EAB_HMAC": "aGVsbG8",
}


def agent_yaml(tmp_path: Path, auth: dict[str, Any]) -> dict[str, Any]:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    return {
        "server": {"url": "https://ca.test"},
        "auth": auth,
        "state-dir": str(tmp_path / "state"),
        "certificates": [
            {
                "name": "web",
                "profile": "default",
                "common-name": "web.test",
                "file-output": {
                    "certificate": str(out / "web.crt"),
                    "private-key": str(out / "web.key"),
                    "pkcs12": {
                        "path": str(out / "web.p12"),
                        "password-env": "STATUS_TEST_P12_PASSWORD",
                    },
                },
            },
            {
                "name": "acme",
                "profile": "default",
                "enrollment": "acme",
                "common-name": "acme.test",
                "acme": {"eab-kid": "kid-1", "eab-hmac-key-env": "STATUS_TEST_EAB_HMAC"},
                "file-output": {"certificate": str(out / "acme.crt")},
            },
        ],
    }


def install_web(tmp_path: Path, data: dict[str, Any]) -> str:
    """Install a certificate for `web` as the agent would (it has the secrets); its serial."""
    config = parse_config(data, tmp_path / "agent.yaml", env=SECRET_VARIABLES)
    files = CertificateFiles(config.state_dir, config.certificates[0])
    installed = files.install(
        material(), digest="d", previous=None, revoke_previous=False, event="issued"
    )
    return installed.serial_hex


def kms_without_secrets(*args: str) -> subprocess.CompletedProcess[str]:
    unset = {*SECRET_VARIABLES, "KMS_AGENT_CLIENT_ID", "KMS_AGENT_CLIENT_SECRET"}
    env = {k: v for k, v in os.environ.items() if k not in unset}
    return subprocess.run([KMS, *args], capture_output=True, text=True, env=env, timeout=60)


def check_status(config: Path, serial: str) -> None:
    shown = kms_without_secrets(
        "cert-manager", "agent", "status", "--config", str(config), "--json"
    )
    assert shown.returncode == 0, shown.stderr
    rows = {row["name"]: row for row in json.loads(shown.stdout)}
    assert rows["web"]["state"] == "valid" and rows["web"]["serialNumber"] == serial
    assert rows["web"]["nextRenewal"] and rows["web"]["notAfter"]
    assert rows["acme"]["state"] == "missing"
    table = kms_without_secrets("cert-manager", "agent", "status", "--config", str(config))
    assert table.returncode == 0, table.stderr
    web_line = next(line for line in table.stdout.splitlines() if line.startswith("web "))
    assert "valid" in web_line and serial in web_line
    assert "<not read>" not in shown.stdout + table.stdout


def test_status_needs_neither_the_client_secret_nor_the_pkcs12_password(tmp_path: Path) -> None:
    data = agent_yaml(
        tmp_path, {"client-id": "agent", "client-secret-env": "STATUS_TEST_CLIENT_SECRET"}
    )
    serial = install_web(tmp_path, data)
    config = tmp_path / "agent.yaml"
    config.write_text(yaml.safe_dump(data))
    check_status(config, serial)

    run = kms_without_secrets("cert-manager", "agent", "--config", str(config), "--once")
    assert run.returncode == 2  # the agent itself still needs them: one line naming one
    assert len(run.stderr.splitlines()) == 1
    assert "STATUS_TEST_CLIENT_SECRET is not set" in run.stderr


def test_status_needs_no_client_credentials_at_all(tmp_path: Path) -> None:
    """No client id or secret in the file or the environment (KMS_AGENT_CLIENT_*)."""
    data = agent_yaml(tmp_path, {})
    del data["auth"]
    serial = install_web(tmp_path, {**data, "auth": {"client-id": "a", "client-secret": "b"}})
    config = tmp_path / "agent.yaml"
    config.write_text(yaml.safe_dump(data))
    check_status(config, serial)


def test_status_needs_no_client_certificate_files(tmp_path: Path) -> None:
    missing = tmp_path / "absent"
    data = agent_yaml(
        tmp_path,
        {
            "client-certificate": {
                "certificate": str(missing / "client.pem"),
                "key": str(missing / "client.key"),
            }
        },
    )
    serial = install_web(tmp_path, {**data, "auth": {"client-id": "a", "client-secret": "b"}})
    config = tmp_path / "agent.yaml"
    config.write_text(yaml.safe_dump(data))
    check_status(config, serial)

    run = kms_without_secrets("cert-manager", "agent", "--config", str(config), "--once")
    assert run.returncode == 2 and len(run.stderr.splitlines()) == 1
    assert "is not a readable file" in run.stderr


def test_status_still_refuses_a_broken_file(tmp_path: Path) -> None:
    """Reading less is not checking less of what it reads: one line, exit code 2."""
    data = agent_yaml(tmp_path, {})
    data["certificates"][0]["file-output"]["pkcs12"]["password"] = "inline"  # and -env: both
    config = tmp_path / "agent.yaml"
    config.write_text(yaml.safe_dump(data))
    shown = kms_without_secrets("cert-manager", "agent", "status", "--config", str(config))
    assert shown.returncode == 2 and len(shown.stderr.splitlines()) == 1
    assert "give password or password-env, not both" in shown.stderr
