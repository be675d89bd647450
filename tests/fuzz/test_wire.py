"""Issue 13's fuzz proof: hostile requests over real HTTP on loopback to a real uvicorn
(httptools and h11, the two HTTP parsers uvicorn can run), never answered 5xx and never
left without a complete response. Every request is counted; a failing test lists the
offending requests, and the run's totals are printed at the end (tests/fuzz/conftest.py).

`make test` runs a share on SQLite; `make fuzz` (profile `fuzz`) WIRE_FUZZ_FACTOR times as
many on SQLite and on PostgreSQL (a database of its own; skipped with the reason when PostgreSQL
is unreachable, failed instead under CI=true).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testkit.postgres import fresh_postgres_database
from tests.fuzz.conftest import fuzz_profile_active
from tests.fuzz.wire import RUNS, Tally
from tests.fuzz.wire_areas import acme_requests, known_hostile, public_requests, rest_requests
from tests.fuzz.wire_parts import RawRequest
from tests.fuzz.wire_world import WireWorld, wire_world

HTTP_IMPLS = ("httptools", "h11")
# Requests per test and server in `make test` (two servers: SQLite under each parser);
# `make fuzz` sends WIRE_FUZZ_FACTOR times as many to each of four (PostgreSQL as well).
ACME_EXAMPLES, REST_EXAMPLES, PUBLIC_EXAMPLES = 200, 150, 100
WIRE_FUZZ_FACTOR = 8


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "wire" not in metafunc.fixturenames:
        return
    backends = ["sqlite", "postgresql"] if fuzz_profile_active() else ["sqlite"]
    params = [
        pytest.param(
            (backend, impl),
            id=f"{backend}-{impl}",
            marks=[pytest.mark.postgres] if backend == "postgresql" else [],
        )
        for backend in backends
        for impl in HTTP_IMPLS
    ]
    metafunc.parametrize("wire", params, indirect=True, scope="module")


@pytest.fixture(scope="module")
def wire(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WireWorld]:
    backend, impl = request.param
    data_dir = tmp_path_factory.mktemp(f"wire-{backend}-{impl}") / "data"
    label = f"{backend}/{impl}"
    if backend == "sqlite":
        with wire_world(data_dir, "", impl, label) as world:
            yield world
    else:
        with fresh_postgres_database() as url, wire_world(data_dir, url, impl, label) as world:
            yield world
    RUNS.setdefault(label, Tally()).add(world.tally)


def _run(
    world: WireWorld,
    requests: st.SearchStrategy[RawRequest],
    n: int,
    label: str,
    first: list[RawRequest] | None = None,
) -> None:
    """`first`, then `n` requests drawn from `requests`; fails listing any 5xx or drop."""
    tally = world.current = Tally()
    try:
        for request in first or []:
            world.send(request, f"{label} known")

        @settings(
            max_examples=n * (WIRE_FUZZ_FACTOR if fuzz_profile_active() else 1),
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(requests)
        def check(request: RawRequest) -> None:
            world.send(request, label)

        check()
    finally:
        world.current = None
    assert tally.requests >= n, tally.summary()
    assert not tally.failures, tally.report()


def test_acme_paths_methods_headers_and_jws_bodies(wire: WireWorld) -> None:
    _run(wire, acme_requests(wire), ACME_EXAMPLES, "acme")


def test_rest_api_with_no_token_a_bad_token_and_a_live_one(wire: WireWorld) -> None:
    _run(wire, rest_requests(wire), REST_EXAMPLES, "rest")


def test_public_routes_and_http_framing(wire: WireWorld) -> None:
    _run(wire, public_requests(wire), PUBLIC_EXAMPLES, "public", first=known_hostile(wire))
