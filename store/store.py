"""The Store: every noun's queries on one engine, plus opening, migrating and health."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from store.base import StoreBase
from store.db import Database, Sql, SqliteDatabase
from store.db_postgres import PostgresDatabase
from store.engine import WRITE_OPTION, check_schema_name, create_engine, parse_url
from store.errors import translate_database
from store.interface import Backend
from store.migrate import current_revision, upgrade_to_head
from store.queries.acme_accounts import AccountQueries
from store.queries.acme_authorizations import AuthorizationQueries
from store.queries.acme_browse import AcmeBrowseQueries
from store.queries.acme_eab import EABQueries
from store.queries.acme_nonces import NonceQueries
from store.queries.acme_orders import OrderQueries
from store.queries.audit import AuditQueries
from store.queries.cas import CAQueries
from store.queries.certificate_reads import CertificateReadQueries
from store.queries.certificates import CertificateQueries
from store.queries.crls import CRLQueries
from store.queries.dashboard import DashboardQueries
from store.queries.finalize_recovery import FinalizeRecoveryQueries
from store.queries.identities import IdentityQueries
from store.queries.identity_certificates import IdentityCertificateQueries
from store.queries.policies import PolicyQueries
from store.queries.profiles import ProfileQueries
from store.queries.renewals import RenewalQueries
from store.queries.requests import RequestQueries
from store.queries.users import UserQueries
from store.queries.validation_jobs import ValidationJobQueries

_MIGRATION_LOCK = "kms-store-migrate:"


class Store(
    CAQueries,
    PolicyQueries,
    ProfileQueries,
    CertificateQueries,
    CertificateReadQueries,
    RenewalQueries,
    RequestQueries,
    CRLQueries,
    NonceQueries,
    EABQueries,
    AccountQueries,
    OrderQueries,
    FinalizeRecoveryQueries,
    AuthorizationQueries,
    ValidationJobQueries,
    IdentityQueries,
    IdentityCertificateQueries,
    UserQueries,
    AuditQueries,
    DashboardQueries,
    AcmeBrowseQueries,
):
    """Persistence for the CA. Build one with `open_store`; `close()` it when done.

    Every method is one transaction. Creating methods generate the new row's id (UUID4)
    and return the stored record, except `create_ca` and `create_eab_key`, whose callers
    pass the id (the kid), and `use_nonce`, which stores the caller's value.
    """

    def __init__(self, db: Database, url: URL, pg_schema: str | None) -> None:
        StoreBase.__init__(self, db, pg_schema)
        self._url = url

    @property
    def backend(self) -> Backend:
        return self._backend

    @property
    def database(self) -> Database:
        return self._db

    async def migrate(self) -> None:
        """Bring the schema to the newest revision; a no-op when it is current.

        Alembic runs on a SQLAlchemy engine of its own, opened for the migration only.
        Safe to run from several processes at once: SQLite takes the write lock first
        (BEGIN IMMEDIATE), PostgreSQL a transaction-scoped advisory lock per schema.
        """
        await _migrate(self._url, self._backend, self._pg_schema)

    async def schema_revision(self) -> str | None:
        """The Alembic revision the database is at; None if never migrated."""
        engine = create_engine(self._url, self._backend, pg_schema=self._pg_schema)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(current_revision)
        except (DBAPIError, OSError, TimeoutError) as exc:
            raise translate_database(exc) from exc
        finally:
            await engine.dispose()

    async def ping(self) -> None:
        """SELECT 1; StoreError if the database cannot be reached."""
        async with self._read() as tx:
            await tx.value(_PING)

    async def close(self) -> None:
        """Close the database connection(s)."""
        await self._db.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


_PING = Sql("SELECT 1")


async def _migrate(url: URL, backend: Backend, pg_schema: str | None) -> None:
    engine = create_engine(url, backend, pg_schema=pg_schema)
    try:
        async with engine.connect() as conn:
            if backend == "sqlite":
                await conn.execution_options(**{WRITE_OPTION: True})
            async with conn.begin():
                if backend == "postgresql":
                    await _prepare_postgres(conn, pg_schema)
                await conn.run_sync(upgrade_to_head)
    except (DBAPIError, OSError, TimeoutError) as exc:
        raise translate_database(exc) from exc
    finally:
        await engine.dispose()


async def _prepare_postgres(conn: AsyncConnection, pg_schema: str | None) -> None:
    await conn.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
        {"key": _MIGRATION_LOCK + (pg_schema or "")},
    )
    if pg_schema is None:
        return
    schema = check_schema_name(pg_schema)
    found = await conn.scalar(
        text("SELECT 1 FROM pg_namespace WHERE nspname = :name"), {"name": schema}
    )
    if not found:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))


async def _open_database(url: URL, backend: Backend, pg_schema: str | None) -> Database:
    if backend == "sqlite":
        assert url.database is not None
        return SqliteDatabase(url.database)
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return await PostgresDatabase.connect(dsn, pg_schema=pg_schema)


async def open_store(url: str, *, pg_schema: str | None = None, migrate: bool = True) -> Store:
    """Open the database at `url` and, unless migrate=False, bring its schema up to date.

    url: sqlite:///abs/path.db (the directory is created) or sqlite+aiosqlite:///...;
    postgresql://user@host:port/db, postgres://... or postgresql+asyncpg://... .
    pg_schema: PostgreSQL only; the schema used for every table (created by migrate if
    missing). Raises ValueError for a bad URL, StoreError if the database fails.
    """
    parsed, backend = parse_url(url)
    if pg_schema is not None and backend != "postgresql":
        raise ValueError("pg_schema applies to PostgreSQL URLs only")
    if pg_schema is not None:
        check_schema_name(pg_schema)
    if migrate:
        await _migrate(parsed, backend, pg_schema)
    db = await _open_database(parsed, backend, pg_schema)
    return Store(db, parsed, pg_schema)
