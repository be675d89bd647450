"""The shared PostgreSQL check: skip with the reason locally, fail in CI."""

from __future__ import annotations

import socket

import pytest

from testkit.postgres import PG_URL_ENV, postgres_url


@pytest.fixture
def closed_port(monkeypatch: pytest.MonkeyPatch) -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    monkeypatch.setenv(PG_URL_ENV, f"postgresql://postgres@127.0.0.1:{port}/test")
    return port


@pytest.mark.parametrize("ci", ["", "false", "0"])
def test_unreachable_postgres_skips_outside_ci(
    closed_port: int, monkeypatch: pytest.MonkeyPatch, ci: str
) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception) as skipped:
        postgres_url()
    assert str(skipped.value).startswith(f"PostgreSQL not reachable at 127.0.0.1:{closed_port}: ")


@pytest.mark.parametrize("ci", ["true", "1", "TRUE"])
def test_unreachable_postgres_fails_in_ci(
    closed_port: int, monkeypatch: pytest.MonkeyPatch, ci: str
) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception) as failed:
        postgres_url()
    assert f"PostgreSQL not reachable at 127.0.0.1:{closed_port}" in str(failed.value)
