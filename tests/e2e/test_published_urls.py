"""Every URL kms prints or returns is built on the one base URL (the external URL setting,
else the scheme, host and port the server is told): a real `kms serve --port P` process,
then the real `kms` commands on its data directory and its REST API, all naming port P."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from testkit.kms_process import RunningServer, free_port, kms, kms_json, running_server

PROFILES = "/api/v1/cert-manager/certificate-profiles"


def rest_eab_create(server: RunningServer, profile_id: str) -> dict[str, Any]:
    """POST .../eab-credentials as a new admin identity, over HTTPS."""
    data_dir = str(server.data_dir)
    admin = kms_json(
        "identity", "create", "--name", "urls", "--role", "admin", "--data-dir", data_dir
    )
    with server.client() as http:
        login = http.post(
            "/api/v1/auth/universal-auth/login",
            json={"clientId": admin["clientId"], "clientSecret": admin["clientSecret"]},
        )
        assert login.status_code == 200, login.text
        response = http.post(
            f"{PROFILES}/{profile_id}/eab-credentials",
            json={},
            headers={"Authorization": f"Bearer {login.json()['accessToken']}"},
        )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_cli_and_rest_name_the_port_the_server_was_told(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    directory = f"https://localhost:{port}/acme/default/directory"
    with running_server(data_dir, port=port) as server:  # --port on its command line
        assert f"ACME directory: {directory}" in server.log()
        assert f"Web console: https://localhost:{port}/ui/" in server.log()
        assert "kms user create --name admin --role admin" in server.log()  # no user yet
        cli = kms_json("eab", "create", "--data-dir", str(data_dir))  # told no port
        profile = kms_json("profile", "show", "default", "--data-dir", str(data_dir))
        rest = rest_eab_create(server, profile["id"])
        text = kms("eab", "create", "--data-dir", str(data_dir)).stdout
        with server.client() as http:
            assert http.get(directory).status_code == 200  # where the server answers
    assert cli["directory"] == rest["directory"] == directory
    assert profile["acmeDirectoryUrl"] == directory
    assert set(cli) == set(rest)  # one document, the same in the CLI and REST
    assert f"Directory: {directory}" in text and f"--server {directory} " in text


def test_settings_the_command_is_given_win_over_what_the_server_recorded(
    tmp_path: Path,
) -> None:
    """A config file's port is used as given (here with no server run at all), and also
    over the port a previous `kms serve` on the data directory was told."""
    data_dir = tmp_path / "data"
    config = tmp_path / "kms.toml"
    config_port = free_port()
    config.write_text(f'data_dir = "{data_dir}"\nport = {config_port}\n')
    kms("init", "--config", str(config))
    created = kms_json("eab", "create", "--config", str(config))
    assert created["directory"] == f"https://localhost:{config_port}/acme/default/directory"

    served_port = free_port()
    with running_server(data_dir, port=served_port):
        pass
    recorded = kms_json("profile", "show", "default", "--data-dir", str(data_dir))
    assert recorded["acmeDirectoryUrl"] == f"https://localhost:{served_port}/acme/default/directory"
    given = kms_json("profile", "show", "default", "--config", str(config))
    assert given["acmeDirectoryUrl"] == f"https://localhost:{config_port}/acme/default/directory"
    external = kms_json(
        "eab", "create", "--data-dir", str(data_dir), env={"KMS_EXTERNAL_URL": "https://ca.test"}
    )
    assert external["directory"] == "https://ca.test/acme/default/directory"


def test_a_plain_http_server_is_named_with_http(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with running_server(data_dir, "--plain-http") as server:
        created = kms_json("eab", "create", "--data-dir", str(data_dir))
        assert created["directory"] == f"{server.base_url}/acme/default/directory"
        assert created["directory"].startswith("http://")
        with httpx.Client() as http:
            assert http.get(created["directory"]).status_code == 200
