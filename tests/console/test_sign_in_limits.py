"""Refused sign-ins from one address are limited (a server of its own: the count is per
server process, and the other modules' tests sign in from the same address)."""

from __future__ import annotations

import httpx

from acme_server.services.users.sessions import ADDRESS_LIMIT
from testkit.in_process_server import AcmeServer
from tests.console.conftest import PASSWORD, make_user


def test_an_address_with_too_many_refusals_waits(console: AcmeServer) -> None:
    user = make_user(console, "reader", profiles=("default",))
    with httpx.Client(base_url=console.base_url) as http:
        for attempt in range(ADDRESS_LIMIT):
            name = f"nobody-{attempt}"  # unknown names: no user is locked, the address is
            assert http.post("/ui/login", data={"name": name, "password": "x"}).status_code == 401
        limited = http.post("/ui/login", data={"name": user.name, "password": PASSWORD})
    assert limited.status_code == 429
    assert int(limited.headers.get("retry-after", "0")) > 0 or "try again later" in limited.text
    assert "try again later" in limited.text
    assert "kms_session" not in limited.cookies
