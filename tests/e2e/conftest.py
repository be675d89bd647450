"""End-to-end fixtures: the database each server process uses, per backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testkit.postgres import BACKENDS, fresh_postgres_database


@pytest.fixture(params=BACKENDS)
def database_args(request: pytest.FixtureRequest) -> Iterator[list[str]]:
    """[] for the embedded SQLite default; ["--database", url] of a fresh PostgreSQL database
    for the other."""
    if request.param == "sqlite":
        yield []
        return
    with fresh_postgres_database() as url:
        yield ["--database", url]
