"""Value checks and URL parsing: no database needed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from store import open_store
from store.columns import require_utc
from store.engine import check_schema_name, parse_url
from store.values import check_metadata, check_slug, normalise_serial, shown_serial


@given(st.integers(min_value=0, max_value=2**160 - 1))
def test_serial_spellings_normalise_to_one_form(serial: int) -> None:
    expected = f"{serial:x}"
    padded = f"{serial:040X}"
    with_colons = ":".join(padded[i : i + 2] for i in range(0, len(padded), 2))

    assert normalise_serial(expected) == expected
    assert normalise_serial(padded) == expected
    assert normalise_serial(with_colons) == expected


@pytest.mark.parametrize("serial", ["", "xyz", "12 34", "-1", "1" * 41])
def test_bad_serials_are_refused(serial: str) -> None:
    with pytest.raises(ValueError, match="serial"):
        normalise_serial(serial)
    with pytest.raises(ValueError, match="serial"):
        shown_serial(serial)


@pytest.mark.parametrize(
    ("stored", "shown"),
    [("e85df", "0E85DF"), ("e85dff", "E85DFF"), ("1", "01"), ("80", "80"), ("0", "00")],
)
def test_stored_serials_are_shown_as_openssl_prints_them(stored: str, shown: str) -> None:
    """The column keeps the lookup key (lower case, no leading zeros; databases written
    before this form was shown hold the same); records show openssl's form."""
    assert shown_serial(stored) == shown
    assert normalise_serial(shown) == stored


@given(st.integers(min_value=0, max_value=2**160 - 1))
def test_shown_serial_is_even_length_upper_case(serial: int) -> None:
    shown = shown_serial(f"{serial:x}")
    assert len(shown) % 2 == 0 and shown == shown.upper()
    assert int(shown, 16) == serial and len(shown) == max(2, 2 * ((serial.bit_length() + 7) // 8))


@pytest.mark.parametrize("slug", ["a", "web", "web-servers", "k8s_ingress", "x" * 64])
def test_good_slugs(slug: str) -> None:
    assert check_slug(slug) == slug


@pytest.mark.parametrize("slug", ["", "Upper", "-lead", "trail-", "sp ace", "a/b", "x" * 65])
def test_bad_slugs_are_refused(slug: str) -> None:
    with pytest.raises(ValueError, match="slug"):
        check_slug(slug)


def test_metadata_check() -> None:
    assert check_metadata({"k": "", "k2": "v"}) == {"k": "", "k2": "v"}
    with pytest.raises(ValueError):
        check_metadata({"": "v"})


def test_require_utc_converts_and_refuses_naive() -> None:
    tokyo = datetime(2030, 1, 1, 9, 0, tzinfo=timezone(timedelta(hours=9)))
    assert require_utc(tokyo) == datetime(2030, 1, 1, 0, 0, tzinfo=UTC)
    assert require_utc(tokyo).tzinfo is UTC
    with pytest.raises(ValueError, match="when must be timezone-aware"):
        require_utc(datetime(2030, 1, 1), "when")


@pytest.mark.parametrize(
    ("url", "backend", "driver", "database"),
    [
        ("sqlite:////var/lib/kms/kms.db", "sqlite", "sqlite+aiosqlite", "/var/lib/kms/kms.db"),
        ("sqlite+aiosqlite:////tmp/a.db", "sqlite", "sqlite+aiosqlite", "/tmp/a.db"),
        ("postgresql://u@db:5433/kms", "postgresql", "postgresql+asyncpg", "kms"),
        ("postgres://u:pw@db/kms", "postgresql", "postgresql+asyncpg", "kms"),
        ("postgresql+asyncpg://u@db/kms", "postgresql", "postgresql+asyncpg", "kms"),
    ],
)
def test_urls_get_async_drivers(url: str, backend: str, driver: str, database: str) -> None:
    parsed, found = parse_url(url)
    assert (found, parsed.drivername, parsed.database) == (backend, driver, database)


@pytest.mark.parametrize(
    "url",
    ["sqlite://", "sqlite:///:memory:", "mysql://u@h/db", "kms.db", "postgresql+psycopg://h/d"],
)
def test_unsupported_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        parse_url(url)


@pytest.mark.parametrize("name", ["", "1abc", "a-b", 'x"; drop', "a" * 64])
def test_bad_schema_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="schema name"):
        check_schema_name(name)


async def test_pg_schema_with_sqlite_is_refused(tmp_path: object) -> None:
    with pytest.raises(ValueError, match="pg_schema"):
        await open_store(f"sqlite:///{tmp_path}/x.db", pg_schema="kms")
