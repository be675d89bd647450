"""The console as `make run` serves it: a real `kms serve` process over HTTPS, the first
admin made with `kms user create` as the server's own hint says, a real browser trusting
the server's CA bundle, and a Secure session cookie."""

from __future__ import annotations

import subprocess
from pathlib import Path

from playwright.sync_api import Browser

from testkit.browser import screenshot
from testkit.kms_process import KMS, running_server
from tests.console.conftest import PASSWORD


def test_the_first_admin_signs_in_over_https(tmp_path: Path, browser: Browser) -> None:
    data_dir = tmp_path / "data"
    with running_server(data_dir) as server:
        hint = "kms user create --name admin --role admin"
        assert hint in server.log() and f"Web console: {server.base_url}/ui/" in server.log()
        made = subprocess.run(
            [KMS, *hint.split()[1:], "--data-dir", str(data_dir), "--password-stdin"],
            input=PASSWORD + "\n",
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert made.returncode == 0, made.stderr
        # the server's certificate is signed by its own CA; Chromium is told to accept it
        # (the CA bundle path is in the log for curl and clients)
        context = browser.new_context(base_url=server.base_url, ignore_https_errors=True)
        page = context.new_page()
        page.goto("/ui/")
        page.fill("input[name=name]", "admin")
        page.fill("input[name=password]", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "Dashboard"
        cookie = next(c for c in context.cookies() if c["name"] == "kms_session")
        assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        screenshot(page, "dashboard-over-tls")
        context.close()
