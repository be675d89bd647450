"""Validation test fixtures: the loopback fence, a DNS server and an HTTP-01 responder.

Every test here runs inside only_loopback(): a packet to anything but 127.0.0.0/8 or ::1
fails the test, even if the code under test would have mapped the error to a failure.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from testkit.dns_server import DNSServer
from testkit.http01_responder import HTTP01Responder
from tests.support.loopback_guard import only_loopback


@pytest.fixture(autouse=True)
def loopback_only() -> Iterator[None]:
    with only_loopback() as violations:
        yield
    assert violations == [], f"non-loopback contact attempted: {violations}"


@pytest.fixture
async def dns_server() -> AsyncIterator[DNSServer]:
    async with DNSServer() as server:
        yield server


@pytest.fixture
async def responder() -> AsyncIterator[HTTP01Responder]:
    async with HTTP01Responder() as web:
        yield web
