"""The statement hook (store/statements.py), on both backends: every statement a scope sends
is reported once, with its text, kind, backend and time; reads send no BEGIN/COMMIT; a
failed write reports its ROLLBACK; a raising listener never fails the statement."""

from __future__ import annotations

import logging
from collections import Counter

import pytest

from store import (
    NotFound,
    Statement,
    Store,
    StoreError,
    add_statement_listener,
    remove_statement_listener,
    statement_listener,
)
from store.db import Sql
from tests.store.factories import make_ca

BEGIN = {"sqlite": "BEGIN IMMEDIATE", "postgresql": "BEGIN"}
_PING = Sql("SELECT 1 AS one")
_BOOM = Sql("SELECT * FROM no_such_table")


class Recorder:
    def __init__(self) -> None:
        self.seen: list[Statement] = []

    def __call__(self, statement: Statement) -> None:
        self.seen.append(statement)

    def counts(self) -> Counter[str]:
        return Counter(s.sql for s in self.seen)


async def test_a_read_reports_its_statements_and_no_transaction(store: Store) -> None:
    ca = await make_ca(store)
    with statement_listener(Recorder()) as recorder:
        assert (await store.get_ca(ca.id)).id == ca.id
        async with store.database.read() as tx:
            assert await tx.value(_PING) == 1
            assert [dict(row) for row in await tx.all(_PING)] == [{"one": 1}]

    assert len(recorder.seen) == 3
    assert recorder.counts()[_PING.text] == 2
    [get] = [s for s in recorder.seen if s.sql != _PING.text]
    assert get.kind == "SELECT" and "FROM certificate_authorities" in get.sql
    assert all(s.backend == store.backend and s.ok for s in recorder.seen)
    assert all(0 <= s.seconds < 10 for s in recorder.seen)


async def test_a_write_reports_begin_its_statements_and_commit(store: Store) -> None:
    with statement_listener(Recorder()) as recorder:
        await make_ca(store)

    sent = [s.sql for s in recorder.seen]
    assert sent[0] == BEGIN[store.backend] and sent[-1] == "COMMIT"
    assert recorder.seen[0].kind == "BEGIN"
    assert "INSERT" in [s.kind for s in recorder.seen]
    counts = recorder.counts()
    assert counts[BEGIN[store.backend]] == 1 and counts["COMMIT"] == 1
    assert counts["ROLLBACK"] == 0


async def test_a_failed_write_reports_the_failure_and_its_rollback(store: Store) -> None:
    with statement_listener(Recorder()) as recorder, pytest.raises(StoreError):
        async with store.database.write() as tx:
            await tx.value(_PING)
            await tx.value(_BOOM)

    assert [(s.sql, s.ok) for s in recorder.seen] == [
        (BEGIN[store.backend], True),
        (_PING.text, True),
        (_BOOM.text, False),
        ("ROLLBACK", True),
    ]


async def test_a_missing_row_is_one_select(store: Store) -> None:
    with statement_listener(Recorder()) as recorder, pytest.raises(NotFound):
        await store.get_ca("00000000-0000-4000-8000-000000000000")
    assert len(recorder.seen) == 1 and recorder.seen[0].kind == "SELECT"


async def test_nothing_is_reported_once_removed(store: Store) -> None:
    recorder = Recorder()
    add_statement_listener(recorder)
    await store.ping()
    remove_statement_listener(recorder)
    remove_statement_listener(recorder)  # a second remove is ignored
    await store.ping()
    await make_ca(store)
    assert [s.sql for s in recorder.seen] == ["SELECT 1"]


async def test_a_raising_listener_is_logged_and_the_statement_stands(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(statement: Statement) -> None:
        raise RuntimeError("listener bug")

    with (
        statement_listener(broken),
        statement_listener(Recorder()) as recorder,
        caplog.at_level(logging.ERROR, logger="store.statements"),
    ):
        ca = await make_ca(store)
    assert (await store.get_ca(ca.id)).id == ca.id
    assert recorder.counts()["COMMIT"] == 1  # the listener after the broken one still runs
    assert "statement listener failed" in caplog.text
