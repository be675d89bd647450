"""The agent's decisions without a CA server: backoff bounds, a bad SIGHUP configuration
kept out, and ACME Renewal Information read from a directory that offers it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.acme_mode import AcmeEnroller
from agent.config_file import load_config
from agent.daemon import Agent, backoff
from agent.files import CertificateFiles
from tests.agent.test_files import material


def write(path: Path, url: str, **cert: Any) -> Path:
    entry: dict[str, Any] = {
        "name": "web",
        "profile": "default",
        "common-name": "web.test",
        "file-output": {"certificate": str(path.parent / "web.crt")},
    }
    entry.update(cert)
    data = {
        "server": {"url": url},
        "auth": {"client-id": "id", "client-secret": "secret"},
        "state-dir": str(path.parent / "state"),
        "retry": {"initial-delay": "1s", "max-delay": "8s"},
        "certificates": [entry],
    }
    path.write_text(yaml.safe_dump(data))
    return path


def test_backoff_doubles_with_jitter_up_to_the_cap(tmp_path: Path) -> None:
    config = load_config(write(tmp_path / "agent.yaml", "https://localhost:1"))
    for failures, ceiling in [(1, 1), (2, 2), (3, 4), (4, 8), (5, 8), (50, 8)]:
        waits = [backoff(config, failures).total_seconds() for _ in range(200)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits), (failures, min(waits), max(waits))
        assert len(set(waits)) > 1  # jittered


def test_a_bad_configuration_on_sighup_is_refused_and_the_old_one_kept(tmp_path: Path) -> None:
    path = write(tmp_path / "agent.yaml", "https://localhost:1")
    agent = Agent(load_config(path))
    path.write_text(path.read_text().replace("common-name: web.test", "key-algorithm: RSA_1"))
    agent.reload()
    assert agent.config.certificates[0].common_name == "web.test"
    write(path, "https://localhost:1", **{"common-name": "new.test"})
    agent.reload()
    assert agent.config.certificates[0].common_name == "new.test"


class _Ari(BaseHTTPRequestHandler):
    """A directory with renewalInfo whose suggested window is `window` (set by the test)."""

    window: tuple[datetime, datetime]

    def do_GET(self) -> None:
        base = f"http://{self.headers['Host']}"
        if self.path == "/directory":
            body: dict[str, Any] = {
                "newNonce": f"{base}/nonce",
                "newAccount": f"{base}/account",
                "newOrder": f"{base}/order",
                "revokeCert": f"{base}/revoke",
                "renewalInfo": f"{base}/renewal-info",
            }
        elif self.path.startswith("/renewal-info/"):
            start, end = type(self).window
            body = {
                "suggestedWindow": {
                    "start": start.isoformat().replace("+00:00", "Z"),
                    "end": end.isoformat().replace("+00:00", "Z"),
                }
            }
        else:
            self.send_error(404)
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Retry-After", "60")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def ari_server() -> Iterator[tuple[str, type[_Ari]]]:
    handler = type("Ari", (_Ari,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def test_acme_renews_when_the_ari_window_has_come(
    tmp_path: Path, ari_server: tuple[str, type[_Ari]]
) -> None:
    url, handler = ari_server
    path = write(
        tmp_path / "agent.yaml",
        url,
        enrollment="acme",
        acme={"directory": f"{url}/directory", "http01-port": 5002},
    )
    config = load_config(path)
    cert = config.certificates[0]
    files = CertificateFiles(config.state_dir, cert)
    installed = files.install(
        material(), digest=cert.request_digest(), previous=None, revoke_previous=False, event="x"
    )
    enroller = AcmeEnroller(config, cert)
    now = datetime.now(UTC)
    handler.window = (now + timedelta(days=1), now + timedelta(days=2))
    assert enroller.renewal_hint(cert, installed) is None
    handler.window = (now - timedelta(hours=2), now - timedelta(hours=1))
    hint = enroller.renewal_hint(cert, installed)
    assert hint is not None and "ARI" in hint
